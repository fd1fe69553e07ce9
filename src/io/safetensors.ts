// safetensors — reader and writer, from scratch (format: huggingface/safetensors, docs "Format").
//
// File layout:  [8 bytes: N, u64 little-endian] [N bytes: UTF-8 JSON header] [data region]
// Header: { "__metadata__"?: {string: string}, "<name>": { "dtype": "BF16", "shape": [d0, ...],
//           "data_offsets": [begin, end] }, ... } — offsets are relative to the data region,
// tensors are row-major little-endian, and together they tile the data region exactly
// (no gap, no overlap, nothing after the last tensor).
//
// Reading is lazy: `open` (a path) and `fromSource` (a file of a ModelSource: a folder, a URL,
// picked files — io/source.ts) read and validate the header only; `read(name)` reads exactly
// that tensor's bytes (one positional read, or one HTTP Range request), so a 5 GB shard is
// never read whole. `fromBytes` parses an in-memory file. The parser itself uses only
// TextDecoder/DataView/JSON: it runs unchanged in Node, Deno, Bun and browsers.

import { DTYPE_BYTES, type DType, widenBf16, widenF16 } from '../dtype.js';
import { IoError, SafetensorsError } from '../errors.js';
import type { HostTensor } from '../tensor.js';
import { findDuplicateKeys, isPlainObject, jsonKind, jsonPreview } from './json.js';
import type { ModelSource } from './source.js';

/** Default cap on the JSON header: the reference implementation refuses headers > 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

const KNOWN_DTYPES = Object.keys(DTYPE_BYTES) as DType[];

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** The file this tensor lives in (a path, or the label given to `fromBytes`). */
  file: string;
  /** Absolute byte offset of the first byte in the file (8 + N + data_offsets[0]). */
  dataOffset: number;
  byteLength: number;
}

export interface ParsedHeader {
  metadata: Record<string, string>;
  /** In file order (ascending data offset). */
  tensors: Map<string, TensorInfo>;
  /** 8 + N: where the data region starts. */
  dataStart: number;
}

// safetensors is little-endian; JS typed arrays use the platform's order. Every engine we
// target is little-endian, but say so loudly rather than return byte-swapped weights.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${n} bytes`;
}

/**
 * Read the 8-byte little-endian header length and check it against the file size and the cap.
 * Returns N (a safe integer).
 */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string, maxHeaderBytes = MAX_HEADER_BYTES): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(
      file,
      `file is ${fileSize} bytes, shorter than the 8-byte header-length prefix`,
      'the file is truncated or not a safetensors file',
    );
  }
  const n64 = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(maxHeaderBytes)) {
    throw new SafetensorsError(
      file,
      `header length ${n64} bytes exceeds the limit of ${maxHeaderBytes} bytes`,
      'the first 8 bytes are not a safetensors header length (corrupt file or a different format?)',
    );
  }
  const n = Number(n64);
  if (8 + n > fileSize) {
    throw new SafetensorsError(
      file,
      `header length ${n} bytes runs past the end of the file (file is ${fileSize} bytes, header would end at byte ${8 + n})`,
      'the file is truncated (incomplete download?)',
    );
  }
  if (n < 2) throw new SafetensorsError(file, `header length ${n} is too small for a JSON object`);
  return n;
}

/**
 * Validate a header's JSON bytes. `fileSize` is the full file size (for range checks).
 * Throws SafetensorsError naming the tensor and the rule it breaks.
 */
export function parseHeaderJson(headerBytes: Uint8Array, fileSize: number, file: string): ParsedHeader {
  const dataStart = 8 + headerBytes.length;
  const dataSize = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, `header (${headerBytes.length} bytes) is not valid UTF-8`, 'corrupt file, or not a safetensors file');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const head = text.slice(0, 60).replace(/[^\x20-\x7e]/g, '?');
    throw new SafetensorsError(
      file,
      `header is not valid JSON (${(e as Error).message}); it starts with ${JSON.stringify(head)}`,
      'corrupt file, or not a safetensors file',
    );
  }
  if (!isPlainObject(json)) {
    throw new SafetensorsError(file, `header must be a JSON object, got ${jsonKind(json)}`);
  }
  const dups = findDuplicateKeys(text);
  if (dups.length) throw new SafetensorsError(file, `header lists a key more than once: ${dups.join(', ')}`);

  const metadata: Record<string, string> = {};
  const entries: { info: TensorInfo; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) throw new SafetensorsError(file, `__metadata__ must be an object of strings, got ${jsonKind(raw)}`);
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, `__metadata__.${k} must be a string, got ${jsonKind(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(raw))
      throw new SafetensorsError(file, `${where}: entry must be an object {dtype, shape, data_offsets}, got ${jsonKind(raw)}`);
    const { dtype, shape, data_offsets: offs } = raw;
    if (typeof dtype !== 'string' || !(KNOWN_DTYPES as string[]).includes(dtype)) {
      throw new SafetensorsError(
        file,
        `${where}: unknown dtype ${jsonKind(dtype)}; expected one of ${KNOWN_DTYPES.join(', ')}`,
        'F8/complex and other dtypes are not supported by ovis-ts',
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `${where}: shape must be an array of non-negative integers, got ${jsonPreview(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `${where}: data_offsets must be [begin, end] of non-negative integers, got ${jsonPreview(offs)}`);
    }
    const [begin, end] = offs as number[];
    if (end < begin) throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const dt = dtype as DType;
    const want = product(shape as number[]) * DTYPE_BYTES[dt];
    if (!Number.isSafeInteger(want)) throw new SafetensorsError(file, `${where}: shape [${shape}] is too large`);
    if (end - begin !== want) {
      throw new SafetensorsError(
        file,
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dt} shape [${shape}] needs ${want} bytes`,
        'shape and offsets disagree: corrupt header',
      );
    }
    if (end > dataSize) {
      throw new SafetensorsError(
        file,
        `${where}: data_offsets end ${end} is past the end of the data region (${dataSize} bytes; file is ${fmtBytes(fileSize)})`,
        'the file is truncated (incomplete download?)',
      );
    }
    entries.push({
      info: { name, dtype: dt, shape: shape as number[], file, dataOffset: dataStart + begin, byteLength: end - begin },
      begin,
      end,
    });
  }
  // Tensors must tile the data region: sorted by begin, each starts where the previous ended.
  // (Stable sort keeps header order among zero-sized tensors at the same offset.)
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev = '(start of data)';
  for (const e of sorted) {
    if (e.begin < pos) {
      throw new SafetensorsError(
        file,
        `tensor ${JSON.stringify(e.info.name)} data_offsets [${e.begin}, ${e.end}] overlap ${prev} which ends at ${pos}`,
        'overlapping tensors: corrupt header',
      );
    }
    if (e.begin > pos) {
      throw new SafetensorsError(
        file,
        `gap of ${e.begin - pos} bytes in the data region before tensor ${JSON.stringify(e.info.name)} (begins at ${e.begin}, ${prev} ends at ${pos})`,
        'tensors must be contiguous: corrupt header',
      );
    }
    pos = e.end;
    prev = `tensor ${JSON.stringify(e.info.name)}`;
  }
  if (pos !== dataSize) {
    throw new SafetensorsError(
      file,
      `data region is ${dataSize} bytes but the tensors cover ${pos} bytes (${dataSize - pos} unexplained trailing bytes)`,
      'the file has trailing garbage or the header is incomplete',
    );
  }
  const tensors = new Map<string, TensorInfo>();
  for (const e of sorted) tensors.set(e.info.name, e.info);
  return { metadata, tensors, dataStart };
}

/** A typed view for a dtype over a fresh (aligned) buffer. */
function typedView(dtype: DType, buf: ArrayBuffer, n: number): ArrayBufferView {
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf, 0, n);
    case 'F64':
      return new Float64Array(buf, 0, n);
    case 'BF16':
    case 'F16':
      return new Uint16Array(buf, 0, n);
    case 'I64':
      return new BigInt64Array(buf, 0, n);
    case 'I32':
      return new Int32Array(buf, 0, n);
    case 'I16':
      return new Int16Array(buf, 0, n);
    case 'I8':
      return new Int8Array(buf, 0, n);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buf, 0, n);
  }
}

/** Widen any stored tensor to f32 (bf16/f16 exactly; f64 and ints rounded to nearest f32). */
export function toF32(t: HostTensor): Float32Array {
  const d = t.data;
  switch (t.dtype) {
    case 'F32':
      return d as Float32Array;
    case 'BF16':
      return widenBf16(d as Uint16Array);
    case 'F16':
      return widenF16(d as Uint16Array);
    case 'I64': {
      const s = d as BigInt64Array;
      const out = new Float32Array(s.length);
      for (let i = 0; i < s.length; i++) out[i] = Number(s[i]);
      return out;
    }
    default:
      return Float32Array.from(d as Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array);
  }
}

type FileHandle = import('node:fs/promises').FileHandle;

/** Largest single positional read (fs.read takes at most 2^31-1 bytes per call). */
const READ_CHUNK = 1 << 30;

export class SafetensorsFile {
  /** How errors name the file: a path, a URL. */
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** Insertion order = file order (ascending data offset). */
  readonly tensors: Map<string, TensorInfo>;
  /** Size of the whole file in bytes. */
  readonly fileSize: number;
  private src: { source: ModelSource; name: string; owned: boolean } | null;
  private bytes: Uint8Array | null;

  private constructor(path: string, header: ParsedHeader, fileSize: number, src: SafetensorsFile['src'], bytes: Uint8Array | null) {
    this.path = path;
    this.metadata = header.metadata;
    this.tensors = header.tensors;
    this.fileSize = fileSize;
    this.src = src;
    this.bytes = bytes;
  }

  /** Open a file by path (Node, Deno, Bun) and validate its header (reads 8 + N bytes, never the data). */
  static async open(path: string, opts: { maxHeaderBytes?: number } = {}): Promise<SafetensorsFile> {
    const { fileSource } = await import('./folder-source.js'); // node-only, loaded on use
    const { source, name } = fileSource(path);
    try {
      return await SafetensorsFile.fromSource(source, name, { ...opts, owned: true });
    } catch (e) {
      await source.close();
      throw e;
    }
  }

  /** Open file `name` of a ModelSource and validate its header (two small reads, never the
   *  data). `owned`: close() closes the source too. */
  static async fromSource(
    source: ModelSource,
    name: string,
    opts: { maxHeaderBytes?: number; owned?: boolean } = {},
  ): Promise<SafetensorsFile> {
    const path = source.where(name);
    if (!LITTLE_ENDIAN) throw new SafetensorsError(path, 'big-endian platforms are not supported');
    const p = await source.probe(name);
    if (!p || 'problem' in p) {
      const problem = p ? p.problem : 'no such file or directory (ENOENT)';
      throw new SafetensorsError(
        path,
        `cannot open: ${problem}`,
        p ? undefined : 'the file does not exist: check the path (or the shard names in the index)',
      );
    }
    const read = (offset: number, dst: Uint8Array) => readOrThrow(source, name, path, offset, dst);
    const prefix = new Uint8Array(8);
    if (p.size >= 8) await read(0, prefix);
    const n = parseHeaderLength(prefix, p.size, path, opts.maxHeaderBytes);
    const headerBytes = new Uint8Array(n);
    await read(8, headerBytes);
    const header = parseHeaderJson(headerBytes, p.size, path);
    return new SafetensorsFile(path, header, p.size, { source, name, owned: opts.owned ?? false }, null);
  }

  /** Parse an in-memory safetensors file (no file-system access). `label` names it in errors. */
  static fromBytes(bytes: Uint8Array, label: string, opts: { maxHeaderBytes?: number } = {}): SafetensorsFile {
    if (!LITTLE_ENDIAN) throw new SafetensorsError(label, 'big-endian platforms are not supported');
    const n = parseHeaderLength(bytes.subarray(0, 8), bytes.length, label, opts.maxHeaderBytes);
    const header = parseHeaderJson(bytes.subarray(8, 8 + n), bytes.length, label);
    return new SafetensorsFile(label, header, bytes.length, null, bytes);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) {
      const some = [...this.tensors.keys()].slice(0, 3).join(', ');
      throw new SafetensorsError(
        this.path,
        `no tensor named ${JSON.stringify(name)} (file has ${this.tensors.size} tensors${some ? ': ' + some + ', ...' : ''})`,
      );
    }
    return t;
  }

  /** Read one tensor's raw bytes into `dst` (exactly `byteLength` bytes) — e.g. straight into
   *  wasm memory, as they arrive. */
  async readInto(name: string, dst: Uint8Array): Promise<void> {
    const t = this.info(name);
    if (dst.length !== t.byteLength) {
      throw new SafetensorsError(this.path, `readInto ${name}: destination has ${dst.length} bytes, tensor has ${t.byteLength}`);
    }
    await this.readAt(name, t.dataOffset, dst);
  }

  /** dst.length bytes of the file from byte `at` (inside tensor `name`, for messages). */
  private async readAt(name: string, at: number, dst: Uint8Array): Promise<void> {
    if (this.bytes) {
      dst.set(this.bytes.subarray(at, at + dst.length));
      return;
    }
    if (!this.src) throw new SafetensorsError(this.path, `read ${name} after close()`);
    await readOrThrow(this.src.source, this.src.name, this.path, at, dst);
  }

  /** Rows n0 .. n0 + rows − 1 of a tensor (along its first dimension), as stored (see read): a
   *  slice of a large tensor without holding all of it (--quant-lm-head quantizes the 0.8 GB
   *  embedding a block at a time). */
  async readRows(name: string, n0: number, rows: number): Promise<HostTensor> {
    const t = this.info(name);
    const R = t.shape[0] ?? 1;
    if (!(Number.isInteger(n0) && Number.isInteger(rows) && n0 >= 0 && rows >= 0 && n0 + rows <= R)) {
      throw new SafetensorsError(this.path, `readRows ${name}: rows [${n0}, ${n0 + rows}) outside [0, ${R})`);
    }
    const rowBytes = t.byteLength / R;
    const buf = new ArrayBuffer(rows * rowBytes);
    const dst = new Uint8Array(buf);
    await this.readAt(name, t.dataOffset + n0 * rowBytes, dst);
    const shape = [rows, ...t.shape.slice(1)];
    return { dtype: t.dtype, shape, data: typedView(t.dtype, buf, dst.length / DTYPE_BYTES[t.dtype]) };
  }

  /** Read one tensor as stored: F32->Float32Array, F64->Float64Array, BF16/F16->Uint16Array (raw bits),
   *  I64->BigInt64Array, I32->Int32Array, I16->Int16Array, I8->Int8Array, U8/BOOL->Uint8Array. */
  async read(name: string): Promise<HostTensor> {
    const t = this.info(name);
    const buf = new ArrayBuffer(t.byteLength); // fresh buffer: offset 0, so any typed view is aligned
    await this.readInto(name, new Uint8Array(buf));
    return { dtype: t.dtype, shape: t.shape.slice(), data: typedView(t.dtype, buf, t.byteLength / DTYPE_BYTES[t.dtype]) };
  }

  /** Read one tensor widened to f32. */
  async readF32(name: string): Promise<Float32Array> {
    return toF32(await this.read(name));
  }

  async close(): Promise<void> {
    const src = this.src;
    this.src = null;
    this.bytes = null;
    if (src?.owned) await src.source.close();
  }
}

/** A source read whose I/O failure (truncated file, HTTP error) is a SafetensorsError naming the file. */
async function readOrThrow(source: ModelSource, name: string, path: string, offset: number, dst: Uint8Array): Promise<void> {
  try {
    await source.readInto(name, offset, dst);
  } catch (e) {
    if (e instanceof IoError) throw new SafetensorsError(path, e.reason, e.hint);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: readonly number[];
}
export interface TensorEntry extends TensorSpec {
  data: ArrayBufferView;
}

/**
 * Serialise a header for tensors laid out in the given order. The JSON is padded with spaces so
 * the data region starts at a multiple of 8 (like the reference writer), which keeps typed-array
 * views of an in-memory file aligned.
 */
export function encodeHeader(
  specs: readonly TensorSpec[],
  metadata?: Record<string, string>,
  file = '<writer>',
): { header: Uint8Array; dataBytes: number } {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(file, `metadata ${k} must be a string, got ${jsonKind(v)}`);
    }
    obj.__metadata__ = metadata;
  }
  let off = 0;
  for (const s of specs) {
    if (!(s.dtype in DTYPE_BYTES)) throw new SafetensorsError(file, `tensor ${s.name}: unknown dtype ${s.dtype}`);
    if (s.name === '__metadata__') throw new SafetensorsError(file, `a tensor may not be named __metadata__`);
    if (Object.hasOwn(obj, s.name)) throw new SafetensorsError(file, `tensor ${s.name} given twice`);
    if (!s.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(file, `tensor ${s.name}: bad shape [${s.shape}]`);
    const len = product(s.shape) * DTYPE_BYTES[s.dtype];
    obj[s.name] = { dtype: s.dtype, shape: [...s.shape], data_offsets: [off, off + len] };
    off += len;
  }
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, dataBytes: off };
}

function entryBytes(e: TensorEntry, file: string): Uint8Array {
  const want = product(e.shape) * DTYPE_BYTES[e.dtype];
  if (e.data.byteLength !== want) {
    throw new SafetensorsError(file, `tensor ${e.name}: data has ${e.data.byteLength} bytes, ${e.dtype} shape [${e.shape}] needs ${want}`);
  }
  return new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength);
}

/** Build a complete safetensors file in memory. */
export function encodeSafetensors(entries: TensorEntry[], metadata?: Record<string, string>): Uint8Array {
  const { header, dataBytes } = encodeHeader(entries, metadata);
  const out = new Uint8Array(header.length + dataBytes);
  out.set(header, 0);
  let pos = header.length;
  for (const e of entries) {
    const b = entryBytes(e, '<encodeSafetensors>');
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/**
 * Streaming writer: the layout (names, dtypes, shapes) is declared up front so the header can
 * be written first; then raw data bytes are appended in declaration order, in chunks of any size.
 * Memory stays bounded by the caller's chunk buffer. `close()` checks every byte was written.
 */
export class SafetensorsWriter {
  private written = 0;
  private constructor(
    readonly path: string,
    private fh: FileHandle | null,
    readonly dataBytes: number,
    readonly headerBytes: number,
  ) {}

  static async create(path: string, specs: readonly TensorSpec[], metadata?: Record<string, string>): Promise<SafetensorsWriter> {
    const { header, dataBytes } = encodeHeader(specs, metadata, path);
    const fs = await import('node:fs/promises');
    const { describeFsError } = await import('./fs.js');
    let fh: FileHandle;
    try {
      fh = await fs.open(path, 'w');
    } catch (e) {
      throw new IoError(path, `cannot create the file: ${describeFsError(e)}`);
    }
    try {
      await writeAll(fh, header);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new SafetensorsWriter(path, fh, dataBytes, header.length);
  }

  /** Bytes of data still expected. */
  get remaining(): number {
    return this.dataBytes - this.written;
  }

  /** Append raw little-endian data bytes (the caller may reuse `chunk` once this resolves). */
  async write(chunk: Uint8Array): Promise<void> {
    if (!this.fh) throw new SafetensorsError(this.path, 'write after close()');
    if (chunk.length > this.remaining) {
      throw new SafetensorsError(this.path, `write of ${chunk.length} bytes exceeds the declared layout (${this.remaining} bytes left)`);
    }
    await writeAll(this.fh, chunk);
    this.written += chunk.length;
  }

  /** Close without the completeness check (after an error; the partial file stays on disk). */
  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close();
  }

  async close(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    this.fh = null;
    await fh.close();
    if (this.written !== this.dataBytes) {
      throw new SafetensorsError(this.path, `closed after ${this.written} of ${this.dataBytes} data bytes: the file is incomplete`);
    }
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(READ_CHUNK, bytes.length - done));
    done += bytesWritten;
  }
}

/**
 * Write tensors to a safetensors file. An array is written header-first then tensor by tensor
 * (no concatenated copy). An (async) iterable is drained first — the header needs every shape
 * before any data — so its tensors are held until written; for bounded memory with generated
 * data, use SafetensorsWriter with a declared layout.
 */
export async function writeSafetensors(
  path: string,
  entries: Iterable<TensorEntry> | AsyncIterable<TensorEntry> | TensorEntry[],
  metadata?: Record<string, string>,
): Promise<void> {
  let list: TensorEntry[];
  if (Array.isArray(entries)) list = entries;
  else {
    list = [];
    for await (const e of entries as AsyncIterable<TensorEntry>) list.push(e);
  }
  const bytes = list.map((e) => entryBytes(e, path));
  const w = await SafetensorsWriter.create(path, list, metadata);
  try {
    for (const b of bytes) await w.write(b);
  } catch (e) {
    await w.abort();
    throw e;
  }
  await w.close();
}
