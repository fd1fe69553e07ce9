// Request bodies, read with a cap: the size is checked while reading (a declared Content-Length
// over the cap is refused before a byte is read; a body that grows past it is cancelled at that
// chunk), so the server never holds more than `limit` bytes of one body.

import { HttpError } from './errors.js';

export function tooLarge(limit: number, got: string): HttpError {
  return new HttpError(
    413,
    `the request body is ${got}; this server accepts at most ${limit} bytes (${mb(limit)} MB, --max-body-mb)`,
    'body_too_large',
    null,
    { Connection: 'close' },
  );
}

const mb = (n: number) => Math.round((n / 2 ** 20) * 100) / 100;

/** The body's bytes, at most `limit` of them (else 413). */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit, `${declared} bytes (Content-Length)`);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // stop reading: the adapter discards (or the runtime drops) the rest
      reader.cancel().catch(() => {});
      throw tooLarge(limit, `over ${limit} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** The body as JSON (an object), else 400 saying what is wrong with it. */
export async function readJson(req: Request, limit: number): Promise<Record<string, unknown>> {
  const bytes = await readBody(req, limit);
  if (bytes.byteLength === 0) throw new HttpError(400, 'the request body is empty; expected a JSON object', 'invalid_json');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, 'the request body is not valid UTF-8; expected a JSON object', 'invalid_json');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `malformed JSON in the request body: ${(e as Error).message}`, 'invalid_json');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new HttpError(
      400,
      `the request body must be a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`,
      'invalid_json',
    );
  }
  return v as Record<string, unknown>;
}
