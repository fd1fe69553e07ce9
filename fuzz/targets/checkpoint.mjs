// Target `checkpoint`: Checkpoint.open on a temporary directory holding the tiny checkpoint's
// files with a mutated model.safetensors.index.json (weight_map retyped, shard names with '/',
// '..', absolute paths, missing shards, a tensor in two shards, duplicate keys, huge maps,
// metadata.total_size hostile) and sometimes a mutated config / generation / preprocessor /
// tokenizer_config JSON or a shard whose header is mutated. Shards are symlinks to the real
// files in reference/fixtures/tiny (Checkpoint.open reads headers only). An accepted checkpoint is
// then checked (check()) and one tensor is read. Seeds: reference/fixtures/tiny/{llama,gemma2}.

import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mutateBytes, mutateJson, mutateJsonText } from '../mutate.mjs';

export const name = 'checkpoint';
const JSONS = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer_config.json'];
const INDEX = 'model.safetensors.index.json';
const SHARDS = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];

export async function setup({ root }) {
  const models = {};
  for (const m of ['llama', 'gemma2']) {
    const dir = join(root, 'reference/fixtures/tiny', m);
    models[m] = {
      dir,
      texts: Object.fromEntries([...JSONS, INDEX].map((f) => [f, readFileSync(join(dir, f), 'utf8')])),
      shard2: new Uint8Array(readFileSync(join(dir, SHARDS[1]))),
    };
  }
  const work = join(tmpdir(), `ovis-fuzz-checkpoint-${process.pid}`);
  mkdirSync(work, { recursive: true });
  return { models, work, n: 0 };
}
export async function teardown({ work }) {
  rmSync(work, { recursive: true, force: true });
}

export function generate(rng, { models }) {
  const m = rng.pick(['llama', 'gemma2']);
  const M = models[m];
  const recipe = [`seed tiny/${m}`];
  const files = { ...M.texts };
  const op = rng.weighted([
    [6, 'index'],
    [2, 'indexText'],
    [2, 'json'],
    [1, 'shard'],
    [1, 'layout'],
  ]);
  const links = [...SHARDS];
  if (op === 'index') {
    let idx = JSON.parse(files[INDEX]);
    const names = Object.keys(idx.weight_map);
    for (let k = rng.small(4); k > 0; k--) {
      const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);
      const wm = isObj(idx) && isObj(idx.weight_map) ? idx.weight_map : null;
      const e = wm ? rng.int(8) : 7;
      const t = rng.pick(names);
      if (e === 0) {
        const v = rng.pick([
          '../llama/model-00001-of-00002.safetensors',
          '/etc/passwd',
          'sub/x.safetensors',
          '.hidden.safetensors',
          'model-00003-of-00002.safetensors',
          'model.bin',
          '',
          'model-00001-of-00002.safetensors\u0000',
          SHARDS[0],
          SHARDS[1],
        ]);
        wm[t] = v;
        recipe.push(`weight_map[${t}] = ${JSON.stringify(v)}`);
      } else if (e === 1) {
        delete wm[t];
        recipe.push(`delete weight_map[${t}]`);
      } else if (e === 2) {
        wm[`extra.${rng.int(1000)}.weight`] = rng.pick(SHARDS);
        recipe.push('add a tensor no shard holds');
      } else if (e === 3) {
        const n = rng.pick([1000, 100000]);
        for (let i = 0; i < n; i++) wm[`junk.${i}`] = SHARDS[i & 1];
        recipe.push(`add ${n} junk tensors`);
      } else if (e === 4 && isObj(idx)) {
        idx.metadata = { total_size: rng.pick([-1, 0, 1e308, 'big', null, 2 ** 53 + 1]) };
        recipe.push(`metadata.total_size = ${JSON.stringify(idx.metadata.total_size)}`);
      } else idx = mutateJson(rng, idx, recipe);
    }
    files[INDEX] = JSON.stringify(idx) ?? 'null';
  } else if (op === 'indexText') {
    files[INDEX] = mutateJsonText(rng, files[INDEX], recipe);
  } else if (op === 'json') {
    const f = rng.pick(JSONS);
    if (rng.bool(0.3)) files[f] = mutateJsonText(rng, files[f], recipe);
    else {
      let j = JSON.parse(files[f]);
      for (let k = rng.small(3); k > 0; k--) j = mutateJson(rng, j, recipe);
      files[f] = JSON.stringify(j) ?? 'null';
    }
    recipe.push(`(in ${f})`);
  } else if (op === 'shard') {
    let b = M.shard2;
    const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
    for (let k = rng.small(3); k > 0; k--) {
      const r = [];
      const head = mutateBytes(rng, b.subarray(0, 8 + n), r);
      b = new Uint8Array([...head, ...b.subarray(8 + n)]);
      recipe.push(`shard 2 header: ${r.join(', ')}`);
    }
    files[SHARDS[1]] = b;
    links.pop();
  } else {
    const k = rng.int(4);
    if (k === 0) {
      delete files[INDEX];
      recipe.push('no index file');
    } else if (k === 1) {
      links.pop();
      recipe.push('shard 2 missing');
    } else if (k === 2) {
      delete files['config.json'];
      recipe.push('no config.json');
    } else {
      files['model.safetensors'] = M.shard2;
      recipe.push('model.safetensors next to the index (single-file wins)');
    }
  }
  return { recipe, model: m, links, files };
}

export async function run(kase, state, lib) {
  const dir = join(state.work, `c${state.n++}`);
  mkdirSync(dir);
  try {
    for (const [f, data] of Object.entries(kase.files)) writeFileSync(join(dir, f), data);
    for (const s of kase.links) symlinkSync(join(state.models[kase.model].dir, s), join(dir, s));
    const ck = await lib.Checkpoint.open(dir);
    try {
      ck.check();
      const first = ck.tensors.keys().next().value;
      if (first !== undefined) await ck.read(first);
      for (const t of ck.tensors.values())
        if (!t.file.startsWith(dir))
          return { outcome: 'garbage', message: `tensor ${t.name} read from ${t.file}, outside the checkpoint directory` };
    } finally {
      await ck.close();
    }
    return { outcome: 'ok' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
