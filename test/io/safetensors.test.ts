// safetensors reader/writer: a file written by the reference Python package, round trips of
// every dtype, and one test per corruption — each must fail fast with a clear SafetensorsError.

import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DType } from '../../src/dtype.js';
import { SafetensorsError } from '../../src/errors.js';
import { encodeSafetensors, SafetensorsFile, SafetensorsWriter, type TensorEntry, writeSafetensors } from '../../src/io/safetensors.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ovis-st-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Build a raw file: 8-byte LE length + header text/bytes + data bytes. */
function rawFile(header: string | Uint8Array, data: Uint8Array | number = 0, declaredLen?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, declaredLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

const t = (dtype: string, shape: unknown, offs: unknown): Record<string, unknown> => ({ dtype, shape, data_offsets: offs });

/** Expect fromBytes to throw a SafetensorsError whose message matches. */
function expectBad(bytes: Uint8Array, re: RegExp): SafetensorsError {
  let err: unknown;
  try {
    SafetensorsFile.fromBytes(bytes, 'bad.safetensors');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(/^bad\.safetensors: /);
  expect((err as Error).message).toMatch(re);
  return err as SafetensorsError;
}

describe('reading a file written by the reference safetensors package', () => {
  // Values are recomputed here from the fixture script's formulas: f_k = (k - 3) * 0.375.
  const k = [0, 1, 2, 3, 4, 5];
  const f = k.map((x) => (x - 3) * 0.375);

  it('reads every dtype with the right typed array, shape and value', async () => {
    const st = await SafetensorsFile.open(join(FIXTURES, 'all-dtypes.safetensors'));
    try {
      expect(st.metadata).toEqual({ format: 'pt', note: 'ovis-ts fixture' });
      expect(st.tensors.size).toBe(12);
      const f64 = await st.read('f64');
      expect(f64.dtype).toBe('F64');
      expect(f64.shape).toEqual([2, 3]);
      expect(f64.data).toBeInstanceOf(Float64Array);
      expect([...(f64.data as Float64Array)]).toEqual(f);
      const f32 = await st.read('f32');
      expect(f32.data).toBeInstanceOf(Float32Array);
      expect(f32.shape).toEqual([3, 2]);
      expect([...(f32.data as Float32Array)]).toEqual(f);
      const bf16 = await st.read('bf16');
      expect(bf16.data).toBeInstanceOf(Uint16Array);
      // Raw bits: (k-3)*0.375 in bf16. -1.125 = 0xBF90, 0 = 0x0000, 0.375 = 0x3EC0.
      expect((bf16.data as Uint16Array)[0]).toBe(0xbf90);
      expect((bf16.data as Uint16Array)[3]).toBe(0x0000);
      expect((bf16.data as Uint16Array)[4]).toBe(0x3ec0);
      const f16 = await st.read('f16');
      expect(f16.data).toBeInstanceOf(Uint16Array);
      expect((f16.data as Uint16Array)[0]).toBe(0xbc80); // -1.125 in IEEE half
      for (const name of ['f64', 'f32', 'f16', 'bf16']) expect([...(await st.readF32(name))]).toEqual(f);
      const i64 = await st.read('i64');
      expect(i64.data).toBeInstanceOf(BigInt64Array);
      expect([...(i64.data as BigInt64Array)]).toEqual(k.map((x) => BigInt(x - 3)));
      expect((await st.read('i32')).data).toBeInstanceOf(Int32Array);
      expect((await st.read('i16')).data).toBeInstanceOf(Int16Array);
      expect((await st.read('i8')).data).toBeInstanceOf(Int8Array);
      for (const name of ['i64', 'i32', 'i16', 'i8']) expect([...(await st.readF32(name))]).toEqual(k.map((x) => x - 3));
      expect([...((await st.read('u8')).data as Uint8Array)]).toEqual(k);
      const b = await st.read('bool');
      expect(b.dtype).toBe('BOOL');
      expect([...(b.data as Uint8Array)]).toEqual(k.map((x) => x % 2));
      const s = await st.read('scalar');
      expect(s.shape).toEqual([]);
      expect([...(s.data as Float32Array)]).toEqual([2.5]);
      const e = await st.read('empty');
      expect(e.shape).toEqual([0, 4]);
      expect((e.data as Uint16Array).length).toBe(0);
    } finally {
      await st.close();
    }
  });

  it('tensors are listed in file order with absolute offsets', async () => {
    const bytes = new Uint8Array(await readFile(join(FIXTURES, 'all-dtypes.safetensors')));
    const st = SafetensorsFile.fromBytes(bytes, 'fixture');
    const infos = [...st.tensors.values()];
    for (let i = 1; i < infos.length; i++) expect(infos[i].dataOffset).toBe(infos[i - 1].dataOffset + infos[i - 1].byteLength);
    expect(infos[infos.length - 1].dataOffset + infos[infos.length - 1].byteLength).toBe(bytes.length);
    expect(infos[0].file).toBe('fixture');
  });

  it('our writer produces the same bytes as the reference writer for the same tensors', async () => {
    const ref = new Uint8Array(await readFile(join(FIXTURES, 'all-dtypes.safetensors')));
    const st = SafetensorsFile.fromBytes(ref, 'fixture');
    const entries: TensorEntry[] = [];
    for (const [name, info] of st.tensors) entries.push({ name, dtype: info.dtype, shape: info.shape, data: (await st.read(name)).data });
    // Same tensor order (the reference sorts by dtype size, then name) and metadata order.
    const ours = encodeSafetensors(entries, { note: 'ovis-ts fixture', format: 'pt' });
    expect(ours.length).toBe(ref.length);
    expect(Buffer.from(ours).equals(Buffer.from(ref))).toBe(true);
  });
});

describe('round trip', () => {
  const shapes: Record<DType, number[]> = {
    F64: [2, 3],
    F32: [3, 1, 2],
    F16: [5],
    BF16: [4, 4],
    I64: [3],
    I32: [2, 2],
    I16: [7],
    I8: [9],
    U8: [1, 3],
    BOOL: [4],
  };
  function sample(dtype: DType, n: number): ArrayBufferView {
    const v = Array.from({ length: n }, (_, i) => i * 7 - 11);
    switch (dtype) {
      case 'F64':
        return Float64Array.from(v, (x) => x / 3);
      case 'F32':
        return Float32Array.from(v, (x) => x / 3);
      case 'F16':
      case 'BF16':
        return Uint16Array.from(v, (x) => (x * 977) & 0xffff);
      case 'I64':
        return BigInt64Array.from(v, (x) => BigInt(x) * 10_000_000_000n);
      case 'I32':
        return Int32Array.from(v, (x) => x * 100_000);
      case 'I16':
        return Int16Array.from(v);
      case 'I8':
        return Int8Array.from(v);
      case 'U8':
        return Uint8Array.from(v, (x) => x & 0xff);
      case 'BOOL':
        return Uint8Array.from(v, (x) => x & 1);
    }
  }
  const entries: TensorEntry[] = (Object.keys(shapes) as DType[]).map((dtype) => ({
    name: `t.${dtype.toLowerCase()}`,
    dtype,
    shape: shapes[dtype],
    data: sample(
      dtype,
      shapes[dtype].reduce((a, b) => a * b, 1),
    ),
  }));

  function expectSame(st: SafetensorsFile, got: Awaited<ReturnType<SafetensorsFile['read']>>, e: TensorEntry): void {
    expect(got.dtype).toBe(e.dtype);
    expect(got.shape).toEqual(e.shape);
    expect(got.data.constructor).toBe(e.data.constructor);
    expect(
      Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(
        Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength),
      ),
    ).toBe(true);
    expect(st.tensors.get(e.name)!.byteLength).toBe(e.data.byteLength);
  }

  it('in memory: encodeSafetensors -> fromBytes', async () => {
    const st = SafetensorsFile.fromBytes(encodeSafetensors(entries, { a: 'b' }), 'mem');
    expect(st.metadata).toEqual({ a: 'b' });
    for (const e of entries) expectSame(st, await st.read(e.name), e);
  });

  it('on disk: writeSafetensors (array and async iterable) -> open', async () => {
    const p1 = join(tmp, 'rt-array.safetensors');
    await writeSafetensors(p1, entries);
    const p2 = join(tmp, 'rt-async.safetensors');
    await writeSafetensors(
      p2,
      (async function* () {
        yield* entries;
      })(),
    );
    for (const p of [p1, p2]) {
      const st = await SafetensorsFile.open(p);
      expect([...st.tensors.keys()]).toEqual(entries.map((e) => e.name));
      for (const e of [...entries].reverse()) expectSame(st, await st.read(e.name), e);
      await st.close();
    }
  });

  it('streaming writer: declared layout, chunked data; incomplete data is an error', async () => {
    const p = join(tmp, 'stream.safetensors');
    const specs = [
      { name: 'a', dtype: 'F32' as const, shape: [3] },
      { name: 'b', dtype: 'U8' as const, shape: [5] },
    ];
    const w = await SafetensorsWriter.create(p, specs);
    const bytes = new Uint8Array([...new Uint8Array(Float32Array.from([1, 2, 3]).buffer), 9, 8, 7, 6, 5]);
    await w.write(bytes.subarray(0, 5));
    await w.write(bytes.subarray(5));
    await w.close();
    const st = await SafetensorsFile.open(p);
    expect([...(await st.readF32('a'))]).toEqual([1, 2, 3]);
    expect([...((await st.read('b')).data as Uint8Array)]).toEqual([9, 8, 7, 6, 5]);
    await st.close();

    const w2 = await SafetensorsWriter.create(join(tmp, 'short.safetensors'), specs);
    await w2.write(bytes.subarray(0, 4));
    await expect(w2.write(new Uint8Array(100))).rejects.toThrow(/exceeds the declared layout/);
    await expect(w2.close()).rejects.toThrow(/closed after 4 of 17 data bytes/);
  });

  it('writer rejects data whose size disagrees with the shape', () => {
    expect(() => encodeSafetensors([{ name: 'x', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }])).toThrow(
      /tensor x: data has 12 bytes, F32 shape \[2,2\] needs 16/,
    );
  });

  it('reads one tensor of a 5 GB (sparse) file without reading the rest, at offsets past 4 GiB', async () => {
    // Header: a 5e9-byte U8 tensor followed by a small F32 tensor. The file is sparse (truncate),
    // so it costs no disk; reading `small` must seek past 2^32 and never touch `big`.
    const big = 5_000_000_000;
    const hdr = JSON.stringify({ big: t('U8', [big], [0, big]), small: t('F32', [2], [big, big + 8]) });
    const head = rawFile(hdr);
    const p = join(tmp, 'sparse.safetensors');
    const fh = await open(p, 'w');
    await fh.write(head, 0, head.length, 0);
    await fh.truncate(head.length + big + 8);
    await fh.write(new Uint8Array(Float32Array.from([1.5, -2]).buffer), 0, 8, head.length + big);
    await fh.close();
    const st = await SafetensorsFile.open(p);
    expect(st.tensors.get('small')!.dataOffset).toBe(head.length + big);
    expect([...(await st.readF32('small'))]).toEqual([1.5, -2]);
    await st.close();
  });
});

describe('corrupt files fail with a clear error', () => {
  const good = { a: t('F32', [2], [0, 8]), b: t('BF16', [2, 2], [8, 16]) };

  it('file shorter than the 8-byte length prefix', () => {
    expectBad(new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header-length prefix/);
  });

  it('header length past the end of the file', () => {
    expectBad(rawFile(JSON.stringify(good), 16, 5000n), /header length 5000 bytes runs past the end of the file \(file is \d+ bytes/);
  });

  it('header length of 2^40 is refused before allocating', () => {
    const e = expectBad(rawFile('{}', 0, 2n ** 40n), /header length 1099511627776 bytes exceeds the limit of 100000000 bytes/);
    expect(e.hint).toMatch(/not a safetensors header length/);
  });

  it('truncated file (data region cut short)', async () => {
    const full = rawFile(JSON.stringify(good), 16);
    const cut = full.subarray(0, full.length - 5);
    expectBad(cut, /tensor "b": data_offsets end 16 is past the end of the data region \(11 bytes/);
    // Same through the file path.
    const p = join(tmp, 'truncated.safetensors');
    await writeFile(p, cut);
    await expect(SafetensorsFile.open(p)).rejects.toThrow(/truncated\.safetensors: tensor "b": data_offsets end 16 is past the end/);
  });

  it('invalid JSON', () => {
    expectBad(rawFile('{"a": {"dtype": "F32",'), /header is not valid JSON/);
  });

  it('non-UTF-8 header', () => {
    expectBad(rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /header \(4 bytes\) is not valid UTF-8/);
  });

  it('header that is not an object', () => {
    expectBad(rawFile('[1, 2]'), /header must be a JSON object, got array/);
  });

  it('overlapping offsets', () => {
    expectBad(
      rawFile(JSON.stringify({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }), 12),
      /tensor "b" data_offsets \[4, 12\] overlap tensor "a" which ends at 8/,
    );
  });

  it('gap between tensors', () => {
    expectBad(
      rawFile(JSON.stringify({ a: t('F32', [2], [0, 8]), b: t('F32', [1], [12, 16]) }), 16),
      /gap of 4 bytes in the data region before tensor "b"/,
    );
  });

  it('first tensor not at offset 0', () => {
    expectBad(rawFile(JSON.stringify({ a: t('F32', [1], [4, 8]) }), 8), /gap of 4 bytes .* before tensor "a"/);
  });

  it('trailing bytes after the last tensor', () => {
    expectBad(rawFile(JSON.stringify(good), 20), /data region is 20 bytes but the tensors cover 16 bytes/);
  });

  it('unknown dtype', () => {
    expectBad(
      rawFile(JSON.stringify({ a: t('F8_E4M3', [2], [0, 2]) }), 2),
      /tensor "a": unknown dtype string "F8_E4M3"; expected one of F64, F32/,
    );
  });

  it('shape / offsets mismatch', () => {
    expectBad(
      rawFile(JSON.stringify({ a: t('F32', [3], [0, 8]) }), 8),
      /tensor "a": data_offsets \[0, 8\] span 8 bytes, but F32 shape \[3\] needs 12 bytes/,
    );
  });

  it('negative and non-integer dimensions', () => {
    expectBad(
      rawFile(JSON.stringify({ a: t('F32', [-2], [0, 8]) }), 8),
      /tensor "a": shape must be an array of non-negative integers, got \[-2\]/,
    );
    expectBad(rawFile(JSON.stringify({ a: t('F32', [1.5], [0, 8]) }), 8), /shape must be an array of non-negative integers, got \[1\.5\]/);
    expectBad(rawFile(JSON.stringify({ a: t('F32', '2', [0, 8]) }), 8), /shape must be an array/);
  });

  it('bad data_offsets', () => {
    expectBad(rawFile(JSON.stringify({ a: t('F32', [0], [8, 0]) }), 8), /data_offsets \[8, 0\] end before they begin/);
    expectBad(rawFile(JSON.stringify({ a: t('F32', [2], [0]) }), 8), /data_offsets must be \[begin, end\]/);
    expectBad(rawFile(JSON.stringify({ a: t('F32', [2], [0, -8]) }), 8), /data_offsets must be \[begin, end\] of non-negative integers/);
  });

  it('a tensor listed twice in the header', () => {
    const hdr = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expectBad(rawFile(hdr, 4), /header lists a key more than once: a/);
  });

  it('__metadata__ with a non-string value', () => {
    expectBad(rawFile(JSON.stringify({ __metadata__: { n: 3 } })), /__metadata__\.n must be a string, got integer 3/);
  });

  it('entry that is not an object', () => {
    expectBad(rawFile(JSON.stringify({ a: 5 })), /tensor "a": entry must be an object/);
  });

  it('unknown tensor name on read, missing file on open', async () => {
    const st = SafetensorsFile.fromBytes(rawFile(JSON.stringify(good), 16), 'ok');
    await expect(st.read('nope')).rejects.toThrow(/ok: no tensor named "nope" \(file has 2 tensors: a, b/);
    await expect(SafetensorsFile.open(join(tmp, 'does-not-exist.safetensors'))).rejects.toThrow(
      /cannot open: no such file or directory \(ENOENT\)\nHint: the file does not exist/,
    );
  });

  it('a valid minimal header passes (controls for the cases above)', () => {
    const st = SafetensorsFile.fromBytes(rawFile(JSON.stringify(good), 16), 'ok');
    expect([...st.tensors.keys()]).toEqual(['a', 'b']);
    expect(st.tensors.get('b')!.dataOffset).toBe(8 + JSON.stringify(good).length + 8);
  });
});

describe('error messages quote hostile header values safely', () => {
  it('a shape nested 5000 arrays deep is a SafetensorsError with a short preview, not a RangeError', () => {
    const shape = '['.repeat(5000) + '0' + ']'.repeat(5000);
    const json = new TextEncoder().encode(`{"w":{"dtype":"F32","shape":${shape},"data_offsets":[0,0]}}`);
    const bytes = new Uint8Array(8 + json.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    const e = (() => {
      try {
        SafetensorsFile.fromBytes(bytes, 'deep.safetensors');
      } catch (x) {
        return x as Error;
      }
    })();
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e!.message).toMatch(/deep\.safetensors: tensor "w": shape must be an array of non-negative integers, got \[\[\[\[\[…\]\]\]\]\]/);
  });
});
