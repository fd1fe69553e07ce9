// Checkpoints that are not paths, in Node: HttpSource against the example's static server
// (examples/browser/serve.mjs, 127.0.0.1, counting every byte it serves) and BlobSource over
// File objects. Opening reads exactly the config files and the shard headers; a tensor costs one
// Range request of exactly its bytes; every tensor equals the folder reader's; broken
// checkpoints give the folder reader's errors (with the URL for the path); a server that
// ignores Range is refused; and the tiny model loaded by URL generates the folder's greedy ids.

import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStaticServer } from '../../examples/browser/serve.mjs';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { BlobSource } from '../../src/io/blob-source.js';
import { HttpSource } from '../../src/io/http-source.js';
import { OvisRunner, readImageFile } from '../../src/runner.js';

const ROOT = join(__dirname, '..', '..');
const TINY = join(ROOT, 'reference', 'fixtures', 'tiny', 'llama');
const SQUARE = join(ROOT, 'reference', 'fixtures', 'images', 'square.png');

interface Served {
  url: string;
  stats: { bytes: number; requests: { method: string; path: string; range: string | null; status: number; bytes: number }[] };
  close: () => Promise<void>;
}

/** Broken copies of the tiny checkpoint, one per case: name -> what was done to it. */
const BROKEN: Record<string, (dir: string) => void> = {
  'no-config': (d) => unlinkSync(join(d, 'config.json')),
  'bad-json': (d) => writeFileSync(join(d, 'config.json'), '{"model_type": "ovis",'),
  'missing-shard': (d) => unlinkSync(join(d, 'model-00002-of-00002.safetensors')),
  'truncated-shard': (d) =>
    truncateSync(join(d, 'model-00002-of-00002.safetensors'), statSync(join(d, 'model-00002-of-00002.safetensors')).size - 100),
  'index-disagrees': (d) => {
    const p = join(d, 'model.safetensors.index.json');
    const j = JSON.parse(readFileSync(p, 'utf8'));
    const [k] = Object.keys(j.weight_map);
    j.weight_map[k] =
      j.weight_map[k] === 'model-00001-of-00002.safetensors' ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    writeFileSync(p, JSON.stringify(j));
  },
  'no-weights': (d) => {
    unlinkSync(join(d, 'model.safetensors.index.json'));
  },
};

let tmp: string;
let srv: Served;
const dirs: Record<string, string> = {};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ovis-sources-'));
  for (const [name, breakIt] of Object.entries(BROKEN)) {
    dirs[name] = join(tmp, name);
    cpSync(TINY, dirs[name], { recursive: true });
    breakIt(dirs[name]);
  }
  srv = (await startStaticServer({ models: { tiny: TINY, ...dirs } })) as Served;
});
afterAll(async () => {
  await srv?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const headerBytes = (file: string) => {
  const b = readFileSync(file);
  return 8 + Number(b.readBigUInt64LE(0));
};

describe('HttpSource (HTTP Range requests)', () => {
  it('open reads only the config files and the shard headers; a tensor is one Range request of its bytes', async () => {
    const before = srv.stats.bytes;
    const ck = await Checkpoint.open(new HttpSource(`${srv.url}/models/tiny/`));
    const json = [
      'config.json',
      'generation_config.json',
      'preprocessor_config.json',
      'tokenizer_config.json',
      'model.safetensors.index.json',
    ];
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const expected =
      json.reduce((s, f) => s + statSync(join(TINY, f)).size, 0) + shards.reduce((s, f) => s + headerBytes(join(TINY, f)), 0);
    expect(srv.stats.bytes - before).toBe(expected);
    const shardTotal = shards.reduce((s, f) => s + statSync(join(TINY, f)).size, 0);
    expect(expected).toBeLessThan(shardTotal / 20);

    const name = 'llm.model.embed_tokens.weight';
    const info = ck.info(name);
    const n0 = srv.stats.requests.length;
    const b0 = srv.stats.bytes;
    const viaHttp = await ck.read(name);
    const reqs = srv.stats.requests.slice(n0);
    expect(reqs.map((r) => [r.method, r.status, r.range])).toEqual([
      ['GET', 206, `bytes=${info.dataOffset}-${info.dataOffset + info.byteLength - 1}`],
    ]);
    expect(srv.stats.bytes - b0).toBe(info.byteLength);
    const local = await Checkpoint.open(TINY);
    expect(Buffer.from((await local.read(name)).data.buffer).equals(Buffer.from(viaHttp.data.buffer))).toBe(true);
    await local.close();
    await ck.close();
  });

  it("every tensor equals the folder reader's, and no byte is served twice", async () => {
    const src = new HttpSource(`${srv.url}/models/tiny/`);
    const b0 = srv.stats.bytes;
    const ck = await Checkpoint.open(src);
    const local = await Checkpoint.open(TINY);
    let data = 0;
    for (const [name, t] of local.tensors) {
      const a = await local.read(name);
      const b = await ck.read(name);
      expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer)), name).toBe(true);
      data += t.byteLength;
    }
    const shardFiles = local.weightFiles.shards.map((s) => statSync(join(TINY, s)).size).reduce((x, y) => x + y, 0);
    const json = [
      'config.json',
      'generation_config.json',
      'preprocessor_config.json',
      'tokenizer_config.json',
      'model.safetensors.index.json',
    ].reduce((s, f) => s + statSync(join(TINY, f)).size, 0);
    expect(data + local.weightFiles.shards.reduce((s, f) => s + headerBytes(join(TINY, f)), 0)).toBe(shardFiles);
    expect(srv.stats.bytes - b0).toBe(shardFiles + json);
    expect(src.bytesRead).toBe(shardFiles + json);
    await local.close();
    await ck.close();
  });

  it.each(Object.keys(BROKEN))('%s: the same error as the folder reader', async (name) => {
    const base = `${srv.url}/models/${name}/`;
    const viaDir = await Checkpoint.open(dirs[name]).then(
      () => undefined,
      (e) => e as Error,
    );
    const viaHttp = await Checkpoint.open(new HttpSource(base)).then(
      () => undefined,
      (e) => e as Error,
    );
    expect(viaDir).toBeInstanceOf(Error);
    expect(viaHttp?.constructor).toBe(viaDir?.constructor);
    // where the checkpoint is, written <D>: "<D>model-00002-of-00002.safetensors: ...", "<D>: no config.json"
    const fromHttp = viaHttp!.message.split(base).join('<D>');
    const fromDir = viaDir!.message.split(`${dirs[name]}/`).join('<D>').split(dirs[name]).join('<D>');
    expect(fromDir).toContain('<D>');
    expect(fromHttp).toBe(fromDir);
  });

  it('refuses a server that ignores Range requests (it would send whole shards)', async () => {
    const plain = (await startStaticServer({ models: { tiny: TINY }, ignoreRange: true })) as Served;
    try {
      const err = await Checkpoint.open(new HttpSource(`${plain.url}/models/tiny/`)).then(
        () => undefined,
        (e) => e as Error,
      );
      expect(err?.message).toMatch(/model-00001-of-00002\.safetensors: the server ignored the Range request \(HTTP 200 for bytes 0-7\)/);
      // and it stopped reading: far less than a shard crossed
      expect(plain.stats.bytes).toBeLessThan(statSync(join(TINY, 'model-00001-of-00002.safetensors')).size);
    } finally {
      await plain.close();
    }
  });

  it('a 404 for the whole checkpoint names the URL', async () => {
    const err = await Checkpoint.open(new HttpSource(`${srv.url}/models/nothing-here/`)).then(
      () => undefined,
      (e) => e as Error,
    );
    expect(err?.message).toContain(`${srv.url}/models/nothing-here/: no config.json`);
  });

  it("the tiny model by URL generates the folder's greedy ids (wasm, 1 thread)", async () => {
    const image = await readImageFile(SQUARE);
    const opts = { backend: 'wasm' as const, threads: 1, maxNewTokens: 6, maxPartition: 1 };
    const a = await OvisRunner.load(TINY, opts);
    const b = await OvisRunner.load(new HttpSource(`${srv.url}/models/tiny/`), opts);
    try {
      const ra = await a.run([image, 'Describe the image in detail.']);
      const rb = await b.run([image, 'Describe the image in detail.']);
      expect(rb.generation.ids).toEqual(ra.generation.ids);
      expect(rb.generation.ids.length).toBe(6);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe('BlobSource (files picked in a browser)', () => {
  const filesOf = (dir: string, folder: string) =>
    [
      'config.json',
      'generation_config.json',
      'preprocessor_config.json',
      'tokenizer_config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ].flatMap((f) => {
      try {
        return [Object.assign(new File([readFileSync(join(dir, f))], f), { webkitRelativePath: `${folder}/${f}` })];
      } catch {
        return [];
      }
    });

  it('reads the checkpoint a folder pick gives (sub-folders ignored) tensor for tensor', async () => {
    const files = filesOf(TINY, 'llama');
    files.push(Object.assign(new File(['x'], 'config.json'), { webkitRelativePath: 'llama/sub/config.json' }));
    const ck = await Checkpoint.open(new BlobSource(files));
    expect(ck.dir).toBe("folder 'llama'");
    const local = await Checkpoint.open(TINY);
    for (const name of local.tensors.keys()) {
      expect(Buffer.from((await ck.read(name)).data.buffer).equals(Buffer.from((await local.read(name)).data.buffer)), name).toBe(true);
    }
    await local.close();
  });

  it.each(['missing-shard', 'truncated-shard', 'index-disagrees'])("%s: the folder reader's error", async (name) => {
    const viaDir = await Checkpoint.open(dirs[name]).then(
      () => undefined,
      (e) => e as Error,
    );
    const viaFiles = await Checkpoint.open(new BlobSource(filesOf(dirs[name], name))).then(
      () => undefined,
      (e) => e as Error,
    );
    expect(viaFiles?.constructor).toBe(viaDir?.constructor);
    expect(viaFiles!.message.split(`folder '${name}'`).join('<D>')).toBe(viaDir!.message.split(dirs[name]).join('<D>'));
  });
});
