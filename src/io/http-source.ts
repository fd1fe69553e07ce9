// A checkpoint by URL: every file is `new URL(name, base)`, read with HTTP Range requests so
// only the bytes asked for cross the network (a safetensors header: two small ranges; a
// tensor: one range, streamed straight into its destination, e.g. the wasm weight store).
// Works wherever `fetch` does (browsers, Node >= 18, Deno, Bun). The size of a file comes from
// a HEAD request (Content-Length), cached. A server that ignores Range (200 with the whole
// file) is refused for partial reads rather than downloaded whole; cross-origin servers must
// allow the Range header (CORS) and expose Content-Length.

import { IoError } from '../errors.js';
import { type ModelSource, type Probe, streamInto } from './source.js';

export interface HttpSourceOptions {
  /** fetch to use (default globalThis.fetch); e.g. one that adds an Authorization header. */
  fetch?: typeof fetch;
  /** Called as bytes arrive: the bytes of this chunk and the running total. */
  onBytes?: (chunk: number, total: number) => void;
  /** Extra request headers (e.g. { Authorization: 'Bearer …' }). */
  headers?: Record<string, string>;
}

export class HttpSource implements ModelSource {
  readonly label: string;
  bytesRead = 0;
  /** Requests made (HEAD + GET), for tests and the page's progress line. */
  requests = 0;
  private readonly base: URL;
  private readonly sizes = new Map<string, Promise<Probe | undefined>>();
  private readonly fetch: typeof fetch;
  private closed = false;

  constructor(
    base: string | URL,
    private readonly opts: HttpSourceOptions = {},
  ) {
    const b = new URL(String(base));
    if (!b.pathname.endsWith('/')) b.pathname += '/';
    this.base = b;
    this.label = b.href;
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  where(name: string): string {
    return new URL(encodeURIComponent(name), this.base).href;
  }

  probe(name: string): Promise<Probe | undefined> {
    let p = this.sizes.get(name);
    if (!p) {
      p = this.head(name);
      this.sizes.set(name, p);
    }
    return p;
  }

  private async head(name: string): Promise<Probe | undefined> {
    let r: Response;
    try {
      this.requests++;
      r = await this.fetch(this.where(name), { method: 'HEAD', headers: this.opts.headers });
    } catch (e) {
      return { problem: `request failed: ${(e as Error).message} (offline, or the server does not allow this origin: CORS)` };
    }
    if (r.status === 404 || r.status === 410) return undefined;
    if (!r.ok) return { problem: `HTTP ${r.status} ${r.statusText}`.trim() };
    const len = r.headers.get('content-length');
    const size = len === null ? Number.NaN : Number(len);
    if (!Number.isSafeInteger(size) || size < 0) {
      return {
        problem: `the server gave no Content-Length (got ${JSON.stringify(len)}); a cross-origin server must expose it (Access-Control-Expose-Headers)`,
      };
    }
    return { size };
  }

  async readInto(name: string, offset: number, dst: Uint8Array): Promise<void> {
    const url = this.where(name);
    if (this.closed) throw new IoError(url, 'read after close()');
    if (dst.length === 0) return;
    const last = offset + dst.length - 1;
    let r: Response;
    try {
      this.requests++;
      r = await this.fetch(url, { headers: { ...this.opts.headers, Range: `bytes=${offset}-${last}` } });
    } catch (e) {
      throw new IoError(
        url,
        `request failed: ${(e as Error).message}`,
        'offline, or the server does not allow this origin (CORS) or the Range header',
      );
    }
    if (r.status === 200) {
      // the whole file: fine only when that is what was asked for
      const size = Number(r.headers.get('content-length'));
      if (offset !== 0 || size !== dst.length) {
        await r.body?.cancel();
        throw new IoError(
          url,
          `the server ignored the Range request (HTTP 200 for bytes ${offset}-${last})`,
          'serve the checkpoint from a server that supports Range requests (any static server does; examples/browser/serve.mjs)',
        );
      }
    } else if (r.status === 206) {
      const cr = r.headers.get('content-range');
      const m = cr ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr) : null;
      if (m && (Number(m[1]) !== offset || Number(m[2]) !== last)) {
        await r.body?.cancel();
        throw new IoError(url, `asked for bytes ${offset}-${last}, the server sent ${cr}`);
      }
    } else {
      await r.body?.cancel();
      throw new IoError(url, `HTTP ${r.status} ${r.statusText} for bytes ${offset}-${last}`.trim());
    }
    if (!r.body) throw new IoError(url, 'the response has no body');
    await streamInto(r.body, dst, url, (n) => {
      this.bytesRead += n;
      this.opts.onBytes?.(n, this.bytesRead);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
