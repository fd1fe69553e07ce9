// The same fetch handler under node:http, Deno.serve and Bun.serve. Each adapter binds host:port,
// passes every request as a web Request with a signal that aborts when the client disconnects
// (that is what stops a generation or takes a request out of the queue), and returns the bound
// address and a close() that stops accepting and drops open connections.

import type { Handler } from './handler.js';

export interface ListenOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Bodies larger than this are cut by the runtime (the handler checks its own limit first). */
  maxBodyBytes?: number;
}

export interface Listening {
  runtime: 'node' | 'deno' | 'bun';
  hostname: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

type DenoServe = (
  opts: Record<string, unknown>,
  handler: (req: Request) => Response | Promise<Response>,
) => { finished: Promise<void>; shutdown(): Promise<void>; addr: { hostname: string; port: number } };
type BunServe = (opts: Record<string, unknown>) => { port: number; hostname: string; stop(closeActive?: boolean): Promise<void> | void };

/** The runtime this code runs in. */
export function currentRuntime(): 'node' | 'deno' | 'bun' {
  const g = globalThis as { Deno?: { serve?: unknown }; Bun?: { serve?: unknown } };
  if (typeof g.Bun?.serve === 'function') return 'bun';
  if (typeof g.Deno?.serve === 'function') return 'deno';
  return 'node';
}

/** Listen with the current runtime's own server. */
export function listen(handler: Handler, o: ListenOptions): Promise<Listening> {
  const rt = currentRuntime();
  return rt === 'bun' ? listenBun(handler, o) : rt === 'deno' ? listenDeno(handler, o) : listenNode(handler, o);
}

const urlOf = (hostname: string, port: number) => `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;

// ---------------------------------------------------------------------------------------------
// node:http

export async function listenNode(handler: Handler, o: ListenOptions): Promise<Listening> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    void serveNodeRequest(handler, req, res, o);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as { address: string; port: number };
  return {
    runtime: 'node',
    hostname: addr.address,
    port: addr.port,
    url: urlOf(addr.address, addr.port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // keep-alive and streaming connections would hold close() open
        server.closeAllConnections?.();
      }),
  };
}

type NodeReq = import('node:http').IncomingMessage;
type NodeRes = import('node:http').ServerResponse;

async function serveNodeRequest(handler: Handler, req: NodeReq, res: NodeRes, o: ListenOptions): Promise<void> {
  const ac = new AbortController();
  // 'close' on the response: the socket closed before the response finished = the client left
  // (req 'close' fires as soon as the body has been read, so it cannot tell)
  res.on('close', () => {
    if (!res.writableFinished) ac.abort(new Error('client disconnected'));
  });
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    } catch {
      /* a header the fetch API refuses: drop it */
    }
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  let response: Response;
  try {
    // the disconnect signal goes to the handler as ctx.signal, not into the Request: Node 20's
    // Request keeps every signal it was given reachable (~10 KB a request, measured by the load test)
    const request = new Request(`${urlOf(o.hostname, o.port)}${req.url?.startsWith('/') ? req.url : '/'}`, {
      method,
      headers,
      ...(hasBody ? { body: nodeBody(req), duplex: 'half' } : {}),
    } as RequestInit);
    response = await handler(request, { signal: ac.signal });
  } catch (e) {
    // the handler never throws; this is a request the fetch API itself refuses (a bad method name)
    response = new Response(
      JSON.stringify({
        error: { message: `bad request: ${(e as Error).message}`, type: 'invalid_request_error', param: null, code: 'bad_request' },
      }),
      { status: 400, headers: { 'Content-Type': 'application/json' } },
    );
  }
  if (res.destroyed) {
    await response.body?.cancel().catch(() => {});
    return;
  }
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    out[k] = v;
  });
  res.writeHead(response.status, out);
  if (!response.body || method === 'HEAD') {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  const onAbort = () => {
    reader.cancel().catch(() => {});
  };
  ac.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
      if (res.destroyed) break;
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    ac.signal.removeEventListener('abort', onAbort);
  }
}

/** The request body as a web stream, pulled (the socket pauses while the handler does not read).
 *  Cancelling it (a body over the limit) stops delivery; node:http then discards the rest of the
 *  body once the response has ended, keeping the connection usable, without buffering it. */
function nodeBody(req: NodeReq): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        req.on('data', (chunk: Buffer) => {
          if (cancelled) return;
          c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((c.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on('end', () => {
          if (!cancelled) c.close();
        });
        req.on('error', (e) => {
          if (!cancelled) c.error(e);
        });
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        cancelled = true;
        req.resume();
      },
    },
    { highWaterMark: 1 << 16, size: (chunk) => chunk.byteLength },
  );
}

// ---------------------------------------------------------------------------------------------
// Deno.serve: its Request.signal aborts when the client disconnects.

export async function listenDeno(handler: Handler, o: ListenOptions): Promise<Listening> {
  const Deno = (globalThis as unknown as { Deno: { serve: DenoServe } }).Deno;
  const ac = new AbortController();
  let resolveListen!: (a: { hostname: string; port: number }) => void;
  const listening = new Promise<{ hostname: string; port: number }>((r) => {
    resolveListen = r;
  });
  const server = Deno.serve({ hostname: o.hostname, port: o.port, signal: ac.signal, onListen: resolveListen }, (req: Request) =>
    handler(req, { signal: req.signal }),
  );
  const addr = await listening;
  return {
    runtime: 'deno',
    hostname: addr.hostname,
    port: addr.port,
    url: urlOf(addr.hostname, addr.port),
    close: async () => {
      ac.abort();
      await server.finished.catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Bun.serve: its Request.signal aborts when the client disconnects. Bun closes a connection idle
// for 10 s by default; a generation can be silent for longer (vision, prefill), so no idle timeout.

export async function listenBun(handler: Handler, o: ListenOptions): Promise<Listening> {
  const Bun = (globalThis as unknown as { Bun: { serve: BunServe } }).Bun;
  const server = Bun.serve({
    hostname: o.hostname,
    port: o.port,
    idleTimeout: 0,
    maxRequestBodySize: o.maxBodyBytes !== undefined ? o.maxBodyBytes + (1 << 20) : undefined,
    fetch: (req: Request) => handler(req, { signal: req.signal }),
  });
  return {
    runtime: 'bun',
    hostname: server.hostname,
    port: server.port,
    url: urlOf(server.hostname, server.port),
    close: async () => {
      await server.stop(true);
    },
  };
}
