// zlib inflate (RFC 1950/1951) for PNG image data, with a bound on the output.
//  - inflateSync: node:zlib's, from process.getBuiltinModule (Node, Deno, Bun); a browser has
//    no synchronous inflate, so there it throws and names decodeImageAsync.
//  - inflateAsync: the platform's DecompressionStream('deflate') (browsers, Node >= 18, Deno,
//    Bun): the same bytes out (inflate is exact; only the error wording differs), read chunk by
//    chunk and cancelled as soon as the output passes the bound.

import { ImageError } from '../errors.js';
import { nodeBuiltin } from '../io/builtin.js';

type Zlib = typeof import('node:zlib');

/** Inflate `data`, refusing (RangeError from zlib) more than `maxOutput` bytes of output. */
export type Inflate = (data: Uint8Array, maxOutput: number) => Uint8Array;

/** True where inflateSync works (Node, Deno, Bun), false in a browser. */
export function hasInflateSync(): boolean {
  return nodeBuiltin<Zlib>('node:zlib') !== undefined;
}

export const inflateSync: Inflate = (data, maxOutput) => {
  const zlib = nodeBuiltin<Zlib>('node:zlib');
  if (!zlib) {
    throw new ImageError(
      'PNG: this runtime has no synchronous inflate (node:zlib)',
      'in a browser, decode images with `await decodeImageAsync(bytes)` (DecompressionStream) and pass the RgbImage',
    );
  }
  const out = zlib.inflateSync(data, { maxOutputLength: maxOutput });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/** DecompressionStream('deflate') over `data`; throws past `maxOutput` bytes of output. */
export async function inflateAsync(data: Uint8Array, maxOutput: number): Promise<Uint8Array> {
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  // the write's promise settles only as the output is read: do not await it before reading
  const written = writer
    .write(data as Uint8Array<ArrayBuffer>)
    .then(() => writer.close())
    .catch(() => {});
  const reader = ds.readable.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxOutput) {
        await reader.cancel();
        throw new RangeError(`inflated data is more than ${maxOutput} bytes`);
      }
      parts.push(value);
    }
  } finally {
    await written;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
