// Where a checkpoint's files come from: a folder on disk (folder-source.ts, Node/Deno/Bun), a
// base URL read with HTTP Range requests (http-source.ts), or files the user picked in a
// browser (blob-source.ts). The checkpoint and safetensors readers see only this interface, so
// every source gets the same validation and the same errors; only `where` (how a file is named
// in a message) and the wording of I/O failures differ.
//
// A file is named by its name inside the checkpoint ('config.json',
// 'model-00001-of-00002.safetensors'); sources never see '..' or '/' (the index reader refuses
// shard names with them first).

import { IoError } from '../errors.js';

/** What `probe` finds: a regular file and its size, or why it cannot be read. Absent = undefined. */
export type Probe = { size: number } | { problem: string };

export interface ModelSource {
  /** The checkpoint as a whole, in messages: a folder path, a base URL, "folder 'x' (picked)". */
  readonly label: string;
  /** One file of it, in messages: a path, a URL. */
  where(name: string): string;
  /** Size of `name`, or why it is not a readable file; undefined when it does not exist. */
  probe(name: string): Promise<Probe | undefined>;
  /** Read exactly `dst.length` bytes of `name` from `offset` into `dst` (e.g. wasm memory).
   *  Throws IoError (or SafetensorsError from the caller) when fewer arrive. */
  readInto(name: string, offset: number, dst: Uint8Array): Promise<void>;
  /** Bytes read so far (progress; a failed read counts what arrived). */
  readonly bytesRead: number;
  /** Release open handles; reads after it fail. */
  close(): Promise<void>;
}

/** The text of a small file (config, index), refused by kind and size before it is read.
 *  `fail` builds the caller's typed error from a message. */
export async function readSmallText(
  src: ModelSource,
  name: string,
  maxBytes: number,
  fail: (msg: string) => Error,
  what = 'a config or index file',
): Promise<string> {
  const p = await src.probe(name);
  if (!p) throw fail('cannot read: no such file or directory (ENOENT)');
  if ('problem' in p) throw fail(`cannot read: ${p.problem}`);
  if (p.size > maxBytes) throw fail(`${p.size} bytes; ${what} has at most ${maxBytes} (${maxBytes / 2 ** 20} MiB)`);
  const bytes = new Uint8Array(p.size);
  try {
    await src.readInto(name, 0, bytes);
  } catch (e) {
    throw fail(`cannot read: ${(e as Error).message}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fail('is not valid UTF-8 text');
  }
}

/**
 * Copy a byte stream into `dst` exactly (an HTTP body, a Blob's stream): more bytes than `dst`
 * holds, or fewer, is an IoError naming `where`. `onBytes` sees each chunk's length as it lands.
 */
export async function streamInto(
  stream: ReadableStream<Uint8Array>,
  dst: Uint8Array,
  where: string,
  onBytes: (n: number) => void,
): Promise<void> {
  const reader = stream.getReader();
  let o = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (o + value.length > dst.length) {
        throw new IoError(
          where,
          `sent more than the ${dst.length} bytes asked for (${o + value.length} so far)`,
          'the file changed while it was read?',
        );
      }
      dst.set(value, o);
      o += value.length;
      onBytes(value.length);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
  if (o !== dst.length) {
    throw new IoError(where, `ended after ${o} of ${dst.length} bytes`, 'the connection dropped or the file is truncated');
  }
}
