// Target `safetensors`: SafetensorsFile.fromBytes on mutated files, then read() of every tensor.
// Seeds: the real second shards of reference/fixtures/tiny/{llama,gemma2} (~0.6 MB each) and
// small files re-encoded from the real headers' names/dtypes/shapes (tensors <= 64 KB).
// Mutators: the header JSON parsed and edited structurally (dtype, shape, data_offsets,
// __metadata__, hostile keys, deep nesting), the JSON text (duplicate keys, NaN, BOM, truncation),
// the 8-byte length prefix (0, 1, N±1, the file size, 2^32, 2^53, 2^64-1, the 100 MB cap ± 1),
// padding, and raw byte edits anywhere. GARBAGE: a file accepted whose tensors do not tile the
// data region exactly (a read would return bytes of another tensor or past the end).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { concat, mutateBytes, mutateJson, mutateJsonText } from '../mutate.mjs';

export const name = 'safetensors';
const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function splitFile(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}
function prefix(n) {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setBigUint64(0, BigInt(n), true);
  return p;
}
function assemble(headerText, data, pad = 0) {
  const h = new TextEncoder().encode(headerText + ' '.repeat(pad));
  return concat([prefix(h.length), h, data]);
}

export async function setup({ lib, root }) {
  const seeds = [];
  for (const m of ['llama', 'gemma2']) {
    const dir = join(root, 'reference/fixtures/tiny', m);
    const shard2 = new Uint8Array(readFileSync(join(dir, 'model-00002-of-00002.safetensors')));
    seeds.push(shard2);
    const b1 = readFileSync(join(dir, 'model-00001-of-00002.safetensors'));
    const { header } = splitFile(new Uint8Array(b1.buffer, b1.byteOffset, b1.length));
    const small = Object.entries(header).filter(([k, v]) => k !== '__metadata__' && v.data_offsets[1] - v.data_offsets[0] <= 65536);
    for (let s = 0; s < 3; s++) {
      const pick = small.filter((_, i) => (i * 7 + s) % 5 === 0).slice(0, 12);
      const entries = pick.map(([k, v]) => {
        const n = v.data_offsets[1] - v.data_offsets[0];
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = (i * 31 + s) & 0xff;
        return { name: k, dtype: v.dtype, shape: v.shape, data };
      });
      seeds.push(lib.encodeSafetensors(entries, { format: 'pt', seed: String(s) }));
    }
  }
  return { seeds };
}

export function generate(rng, { seeds }) {
  const seed = rng.pick(seeds);
  const recipe = [`seed file ${seeds.indexOf(seed)} (${seed.length} bytes)`];
  let out;
  const mode = rng.weighted([
    [5, 'json'],
    [2, 'text'],
    [2, 'prefix'],
    [3, 'bytes'],
    [1, 'data'],
  ]);
  const { header, data } = splitFile(seed);
  if (mode === 'json') {
    const h = structuredClone(header);
    let root = h;
    for (let k = rng.small(4); k > 0; k--) root = mutateJson(rng, root, recipe);
    const text = JSON.stringify(root) ?? 'null';
    out = assemble(text, data, rng.bool(0.2) ? rng.int(16) : 0);
  } else if (mode === 'text') {
    out = assemble(mutateJsonText(rng, JSON.stringify(header), recipe), data);
  } else if (mode === 'prefix') {
    const text = new TextEncoder().encode(JSON.stringify(header));
    const n = text.length;
    const v = rng.pick([0, 1, 2, n - 1, n + 1, n + 8, seed.length, seed.length - 8, 2 ** 32 + n, 2 ** 53, 100_000_000, 100_000_001, 'max']);
    out = concat([v === 'max' ? new Uint8Array(8).fill(0xff) : prefix(v), text, data]);
    recipe.push(`length prefix = ${v === 'max' ? '2^64-1' : v} (header is ${n} bytes)`);
  } else if (mode === 'data') {
    const k = rng.pick([-1, 1, -8, 8, -data.length]);
    out = k < 0 ? seed.slice(0, Math.max(8, seed.length + k)) : concat([seed, new Uint8Array(k)]);
    recipe.push(`data region ${k > 0 ? '+' : ''}${k} bytes`);
  } else {
    out = seed;
    for (let k = rng.small(4); k > 0; k--) out = mutateBytes(rng, out, recipe, seeds);
  }
  return { recipe, bytes: out, files: { 'case.safetensors': out } };
}

export async function run(kase, _state, lib) {
  const f = lib.SafetensorsFile.fromBytes(kase.bytes, 'fuzz.safetensors');
  // accepted: the tensors must tile [8 + N, fileSize) exactly and agree with their shapes
  const infos = [...f.tensors.values()].sort((a, b) => a.dataOffset - b.dataOffset);
  let pos = infos.length ? infos[0].dataOffset : kase.bytes.length;
  for (const t of infos) {
    const want = t.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype];
    if (t.dataOffset !== pos || t.byteLength !== want || !(t.dtype in DTYPE_BYTES)) {
      return {
        outcome: 'garbage',
        message: `accepted tensor ${t.name} ${t.dtype} [${t.shape}] at ${t.dataOffset}+${t.byteLength} (expected at ${pos}, ${want} bytes)`,
      };
    }
    pos += t.byteLength;
  }
  if (pos !== kase.bytes.length)
    return { outcome: 'garbage', message: `accepted: tensors end at ${pos}, file is ${kase.bytes.length} bytes` };
  let k = 0;
  for (const t of infos) {
    if (k++ >= 64) break;
    const host = await f.read(t.name);
    if (['F32', 'F16', 'BF16'].includes(t.dtype)) await f.readF32(t.name);
    if (host.data.byteLength !== t.byteLength)
      return { outcome: 'garbage', message: `read ${t.name}: ${host.data.byteLength} bytes, expected ${t.byteLength}` };
  }
  await f.close();
  return { outcome: 'ok' };
}
