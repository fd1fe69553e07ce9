// `ovis serve`, written once as a web-standard fetch handler: (Request, {signal}) -> Response.
// The adapters (adapters.ts) plug it into node:http, Deno.serve and Bun.serve unchanged.
//
// Routes (docs/serve.md):
//   GET  /                     the chat page (PAGE_HTML of ./page.ts)
//   POST /api/chat             the page's protocol: SSE of {type:'queued'} + the runner's ChatEvents
//   POST /v1/chat/completions  OpenAI Chat Completions (streamed or not)
//   GET  /v1/models[/ID]       OpenAI model list
//   GET  /health               {status, model, queue, busy}
// Flow of one generation: parse + check (images at the door) -> queue (one runs, --max-queue
// wait, more get 429) -> runner.chat(messages, {signal}) -> events out. A client that goes
// away aborts its signal: it leaves the queue, or its generation stops within one decode step.

import type { ChatEvent, ChatMessage, ChatResult, GenerationOptions } from '../conversation-types.js';
import { ImageError } from '../errors.js';
import { type ChatJob, parseApiChat } from './api-chat.js';
import { readJson } from './body.js';
import { HttpError, toHttpError } from './errors.js';
import { chunk, completion, completionId, finishReason, parseCompletionRequest, usageChunk } from './openai.js';
import { GenerationQueue, QueueCancelledError } from './queue.js';

/** What the server needs of OvisRunner: its conversation API (src/conversation-types.ts). */
export interface ChatEngine {
  chat(messages: ChatMessage[], opts?: GenerationOptions): AsyncGenerator<ChatEvent, ChatResult, void>;
}

export type Handler = (req: Request, ctx?: { signal?: AbortSignal }) => Promise<Response>;

export interface ServerOptions {
  /** The served model's id: the --model string (a folder or ORG/NAME). Its basename (and the repo
   *  id without @revision) are accepted as `model` too. */
  model: string;
  /** When set, /v1/* and /api/* need `Authorization: Bearer <apiKey>` (the page and /health do not). */
  apiKey?: string;
  /** Requests that may wait behind the running one (default 16); more get 429. */
  maxQueue?: number;
  /** Largest request body in bytes (default 32 MiB). */
  maxBodyBytes?: number;
  /** One line per request (default: none). */
  log?: (line: string) => void;
  /** The page's HTML; default: PAGE_HTML of ./page.js, or a placeholder while it does not exist. */
  pageHtml?: string;
}

export const DEFAULT_MAX_QUEUE = 16;
export const DEFAULT_MAX_BODY_BYTES = 32 * 2 ** 20;

/** Events of /api/chat: the queue's, the runner's, and the error that ends a failed stream. */
export type ServerEvent =
  | { type: 'queued'; position: number }
  | ChatEvent
  | { type: 'error'; error: { message: string; code: string; status: number; param?: string | null } };

/** What one request's log line reports. */
interface Stats {
  status: number;
  promptTokens?: number;
  cachedTokens?: number;
  firstTokenMs?: number;
  tokensPerSecond?: number;
  completionTokens?: number;
  waitMs?: number;
}

export class OvisServer {
  readonly queue: GenerationQueue;
  readonly modelIds: string[];
  private readonly maxBodyBytes: number;
  /** Aborted by close(): stops the running generation. */
  private readonly shutdown = new AbortController();
  private page: Promise<string> | undefined;
  /** Mean generation time (ms), an exponential moving average: Retry-After's estimate. */
  private meanGenerationMs = 5000;

  constructor(
    private readonly engine: ChatEngine,
    private readonly opts: ServerOptions,
  ) {
    this.queue = new GenerationQueue(opts.maxQueue ?? DEFAULT_MAX_QUEUE);
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const m = opts.model.replace(/[\\/]+$/, '');
    const noRev = m.replace(/@[^/@]*$/, '');
    this.modelIds = [...new Set([m, noRev, noRev.split(/[\\/]/).pop()!, opts.model])].filter(Boolean);
    if (opts.pageHtml !== undefined) this.page = Promise.resolve(opts.pageHtml);
  }

  get closing(): boolean {
    return this.shutdown.signal.aborted;
  }

  /** Stop: refuse new requests (503), cancel the waiting ones, abort the running generation.
   *  Resolves once the runner is free (within one decode or prefill step), so it can be disposed. */
  close(): Promise<void> {
    this.shutdown.abort();
    return this.queue.close();
  }

  /** The fetch handler. Never throws: every failure is a Response. */
  readonly handle: Handler = async (req, ctx = {}) => {
    const t0 = performance.now();
    let path = '/';
    try {
      path = new URL(req.url).pathname;
    } catch {
      /* a relative URL: keep '/' */
    }
    const signal = ctx.signal ?? req.signal;
    const stats: Stats = { status: 0 };
    const done = () => this.logLine(req.method, path, stats, performance.now() - t0);
    let res: Response;
    try {
      res = await this.route(req, path, signal, stats, done);
    } catch (e) {
      res = this.errorResponse(e, path, stats);
    }
    // streams log when they end (the stream calls `done`); everything else now
    if (!(res as Response & { [STREAMING]?: true })[STREAMING]) {
      stats.status = res.status;
      done();
    }
    return res;
  };

  private async route(req: Request, path: string, signal: AbortSignal, stats: Stats, done: () => void): Promise<Response> {
    const m = req.method;
    const only = (allowed: string) => {
      if (m !== allowed && !(allowed === 'GET' && m === 'HEAD')) {
        throw new HttpError(405, `${m} ${path}: method not allowed (use ${allowed})`, 'method_not_allowed', null, {
          Allow: allowed === 'GET' ? 'GET, HEAD' : allowed,
        });
      }
    };
    if (path === '/' || path === '/index.html') {
      only('GET');
      return this.pageResponse();
    }
    if (path === '/health') {
      only('GET');
      return json(200, this.health());
    }
    const known = path === '/api/chat' || path === '/v1/chat/completions' || path === '/v1/models' || path.startsWith('/v1/models/');
    if (!known)
      throw new HttpError(
        404,
        `no route ${path} (routes: GET /, GET /health, GET /v1/models, POST /v1/chat/completions, POST /api/chat)`,
        'not_found',
      );
    this.authorize(req);
    if (path === '/v1/models') {
      only('GET');
      return json(200, { object: 'list', data: [this.modelCard()] });
    }
    if (path.startsWith('/v1/models/')) {
      only('GET');
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (!this.modelIds.includes(id))
        throw new HttpError(404, `The model '${id}' does not exist: this server serves '${this.modelIds[0]}'`, 'model_not_found');
      return json(200, this.modelCard());
    }
    only('POST');
    if (this.closing) throw new QueueCancelledError('closed');
    const body = await readJson(req, this.maxBodyBytes);
    if (path === '/api/chat') return this.apiChat(parseApiChat(body), signal, stats, done);
    return this.completions(body, signal, stats, done);
  }

  // -------------------------------------------------------------------------------------------
  // The generation session: queue, then the runner. Yields the queue's positions while waiting.

  private async *session(job: ChatJob, reqSignal: AbortSignal, stats: Stats): AsyncGenerator<ServerEvent, void, void> {
    const tEnter = performance.now();
    const ticket = this.queue.enter(reqSignal); // QueueFullError -> 429
    const waited = ticket.state === 'waiting';
    try {
      while (ticket.state === 'waiting') {
        yield { type: 'queued', position: ticket.position };
        await ticket.wait(); // QueueCancelledError when the client left or the server closes
      }
      if (reqSignal.aborted) throw new QueueCancelledError('aborted');
      if (this.closing) throw new QueueCancelledError('closed');
      if (waited) stats.waitMs = performance.now() - tEnter;
      const tRun = performance.now();
      const { signal, dispose } = anySignal([reqSignal, this.shutdown.signal]);
      try {
        for await (const ev of this.engine.chat(job.messages, { ...job.options, signal })) {
          if (ev.type === 'start') {
            stats.promptTokens = ev.promptTokens;
            stats.cachedTokens = ev.cachedTokens;
          }
          if (ev.type === 'done') {
            const r = ev.result;
            Object.assign(stats, {
              firstTokenMs: r.timings.firstTokenMs,
              tokensPerSecond: r.timings.tokensPerSecond,
              completionTokens: r.completionTokens,
              promptTokens: r.promptTokens,
              cachedTokens: r.cachedTokens,
            });
            // an answer cut short by shutdown is not an answer
            if (r.stopReason === 'aborted' && this.closing && !reqSignal.aborted) throw new QueueCancelledError('closed');
          }
          yield ev;
        }
      } catch (e) {
        throw namePart(e, job.imageParams);
      } finally {
        dispose();
        this.meanGenerationMs = 0.8 * this.meanGenerationMs + 0.2 * (performance.now() - tRun);
      }
    } finally {
      ticket.release();
    }
  }

  /** Seconds a client told 429 should wait: the line ahead times the mean generation. */
  private retryAfter(): number {
    return ((this.queue.length + 1) * this.meanGenerationMs) / 1000;
  }

  // -------------------------------------------------------------------------------------------
  // POST /api/chat

  private apiChat(job: ChatJob, signal: AbortSignal, stats: Stats, done: () => void): Promise<Response> {
    // enter the queue now, so a full queue is a real 429 rather than an event in a 200 stream
    const it = this.session(job, signal, stats);
    const first = it.next();
    const events = (async function* (self: OvisServer): AsyncGenerator<ServerEvent> {
      try {
        let r = await first;
        while (!r.done) {
          yield r.value;
          r = await it.next();
        }
      } catch (e) {
        const { error } = self.report(e, '/api/chat', stats);
        stats.status = error.status;
        yield { type: 'error', error: { message: error.message, code: error.code, status: error.status, param: error.param } };
      }
    })(this);
    return peekThen(first, () => {
      stats.status = 200;
      return sseResponse(
        200,
        events,
        (ev) => JSON.stringify(ev),
        (ev) => ev.type === 'done' || ev.type === 'error',
        done,
        it,
      );
    });
  }

  // -------------------------------------------------------------------------------------------
  // POST /v1/chat/completions

  private async completions(body: Record<string, unknown>, signal: AbortSignal, stats: Stats, done: () => void): Promise<Response> {
    const job = parseCompletionRequest(body, this.modelIds);
    const model = this.modelIds[0];
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    const it = this.session(job, signal, stats);
    // wait (in the queue, then through preprocessing) for the runner's first event, so that a
    // refusal — queue full, a corrupt image, a prompt too long — is an HTTP status, not a 200
    // stream holding an error
    let r = await it.next();
    while (!r.done && r.value.type === 'queued') r = await it.next();
    if (!job.stream) {
      let text = '';
      let result: ChatResult | undefined;
      for (; !r.done; r = await it.next()) {
        if (r.value.type === 'text') text += r.value.text;
        if (r.value.type === 'done') result = r.value.result;
      }
      if (!result) throw new QueueCancelledError('aborted');
      return json(200, completion(id, model, created, text, result));
    }
    const first = r;
    const events = (async function* (self: OvisServer): AsyncGenerator<unknown> {
      yield chunk(id, model, created, { role: 'assistant', content: '' }, null);
      try {
        for (let r = first; !r.done; r = await it.next()) {
          const ev = r.value;
          if (ev.type === 'text') yield chunk(id, model, created, { content: ev.text }, null);
          if (ev.type === 'done') {
            yield chunk(id, model, created, {}, finishReason(ev.result));
            if (job.includeUsage) yield usageChunk(id, model, created, ev.result);
          }
        }
      } catch (e) {
        const { error } = self.report(e, '/v1/chat/completions', stats);
        stats.status = error.status;
        yield error.toJSON(); // the openai client raises an APIError on an event with `error`
      }
      yield '[DONE]';
    })(this);
    stats.status = 200;
    return sseResponse(
      200,
      events,
      (ev) => (ev === '[DONE]' ? ev : JSON.stringify(ev)),
      (ev) => ev === '[DONE]',
      done,
      it,
    );
  }

  // -------------------------------------------------------------------------------------------

  private authorize(req: Request): void {
    const key = this.opts.apiKey;
    if (!key) return;
    const h = req.headers.get('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h.trim());
    if (!m || !sameString(m[1], key)) {
      throw new HttpError(
        401,
        m
          ? 'Incorrect API key provided'
          : 'Missing API key: send the header Authorization: Bearer <key> (the server was started with --api-key)',
        'invalid_api_key',
        null,
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
  }

  health() {
    // resident memory: what an operator (and the load test) watches across many requests
    const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
    return {
      status: this.closing ? 'shutting_down' : 'ok',
      model: this.modelIds[0],
      queue: this.queue.length,
      busy: this.queue.busy,
      rssMb,
    };
  }

  private modelCard() {
    return { id: this.modelIds[0], object: 'model', created: 0, owned_by: 'ovis-ts' };
  }

  private async pageResponse(): Promise<Response> {
    this.page ??= loadPage();
    return new Response(await this.page, {
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' },
    });
  }

  /** The HttpError for `e`, logging it when it is a bug. */
  private report(e: unknown, path: string, stats: Stats): { error: HttpError } {
    const { error, internal } = toHttpError(e, this.retryAfter());
    if (internal) this.opts.log?.(`error in ${path}: ${(e as Error)?.stack ?? String(e)}`);
    stats.status = error.status;
    return { error };
  }

  private errorResponse(e: unknown, path: string, stats: Stats): Response {
    const { error } = this.report(e, path, stats);
    const headers = { ...error.headers };
    // the page reads /api/chat as an event stream whatever the status: one error event
    if (path === '/api/chat') {
      const ev: ServerEvent = {
        type: 'error',
        error: { message: error.message, code: error.code, status: error.status, param: error.param },
      };
      return new Response(`data: ${JSON.stringify(ev)}\n\n`, {
        status: error.status,
        headers: { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' },
      });
    }
    return json(error.status, error.toJSON(), headers);
  }

  private logLine(method: string, path: string, s: Stats, ms: number): void {
    if (!this.opts.log) return;
    const parts = [method, path, String(s.status)];
    if (s.promptTokens !== undefined) parts.push(`prompt=${s.promptTokens}`, `cached=${s.cachedTokens ?? 0}`);
    if (s.completionTokens !== undefined) parts.push(`completion=${s.completionTokens}`);
    if (s.waitMs !== undefined) parts.push(`queued=${(s.waitMs / 1000).toFixed(2)}s`);
    if (s.firstTokenMs !== undefined) parts.push(`ttft=${(s.firstTokenMs / 1000).toFixed(2)}s`);
    if (s.tokensPerSecond !== undefined) parts.push(`${s.tokensPerSecond.toFixed(1)} tok/s`);
    parts.push(`${(ms / 1000).toFixed(2)}s`);
    this.opts.log(parts.join(' '));
  }
}

export function createServer(engine: ChatEngine, opts: ServerOptions): OvisServer {
  return new OvisServer(engine, opts);
}

// ---------------------------------------------------------------------------------------------
// Helpers

const STREAMING = Symbol('streaming');

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...headers, 'Content-Type': 'application/json' } });
}

/**
 * Server-sent events from an async iterator, pulled as the client reads (backpressure). When the
 * client goes away the stream is cancelled: `session.return()` ends the generation (its finally
 * releases the queue) — the request's signal has already stopped the runner within a step.
 */
function sseResponse<T>(
  status: number,
  events: AsyncGenerator<T>,
  encode: (ev: T) => string,
  isLast: (ev: T) => boolean,
  done: () => void,
  session: AsyncGenerator<unknown>,
): Response {
  const enc = new TextEncoder();
  let finished = false;
  const finish = () => {
    if (!finished) {
      finished = true;
      done();
    }
  };
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          const r = await events.next();
          if (r.done) {
            c.close();
            finish();
            return;
          }
          c.enqueue(enc.encode(`data: ${encode(r.value)}\n\n`));
          // close with the last event rather than on a further pull: a client that stops reading
          // after it (openai's at [DONE]) must not leave the stream, and its log line, hanging
          if (isLast(r.value)) {
            // the slot is freed before the client sees the end, so its next request does not queue behind itself
            await Promise.allSettled([events.return(undefined), session.return(undefined)]);
            c.close();
            finish();
          }
        } catch (e) {
          // events() turns every failure into an event; this is a bug in it: end the stream
          c.error(e);
          finish();
        }
      },
      async cancel() {
        finish();
        await Promise.allSettled([events.return(undefined), session.return(undefined)]);
      },
    },
    { highWaterMark: 0 },
  );
  const res = new Response(body, {
    status,
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' },
  });
  (res as Response & { [STREAMING]?: true })[STREAMING] = true;
  return res;
}

/** Await the session's first step: a refusal before anything was sent (queue full, shutdown, a
 *  runner error before its first event) rethrows, so it is answered with its real status. */
async function peekThen<T>(first: Promise<T>, build: () => Response): Promise<Response> {
  await first;
  return build();
}

/** The runner names images "image N" (1-based, conversation order); the client knows them by
 *  the request part that carried them. */
function namePart(e: unknown, imageParams: string[]): unknown {
  if (!(e instanceof ImageError)) return e;
  const m = /^image (\d+)\b:?\s*/.exec(e.message);
  const param = m ? imageParams[Number(m[1]) - 1] : undefined;
  if (!param) return e;
  return new HttpError(400, `${param} (image ${m![1]}): ${e.message.slice(m![0].length)}`, 'invalid_image', param);
}

/** AbortSignal.any (Node 20.0-20.2 lack it), with a dispose() that detaches it from the
 *  long-lived inputs (the server's shutdown signal would otherwise gather a listener per request). */
function anySignal(signals: AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const detach = new AbortController();
  for (const s of signals) {
    if (s.aborted) {
      ac.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => ac.abort(s.reason), { once: true, signal: detach.signal });
  }
  return { signal: ac.signal, dispose: () => detach.abort() };
}

/** Compare without an early exit on the first differing character (API keys). */
function sameString(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= a.charCodeAt(i % (a.length || 1)) ^ b.charCodeAt(i);
  return diff === 0;
}

async function loadPage(): Promise<string> {
  // page.ts is written separately; until it exists, a placeholder (the specifier is a variable
  // so that the build does not require the file)
  const spec = './page.js';
  try {
    const m = (await import(spec)) as { PAGE_HTML?: string };
    if (typeof m.PAGE_HTML === 'string') return m.PAGE_HTML;
  } catch {
    /* not written yet */
  }
  return (
    '<!doctype html><html><head><meta charset="utf-8"><title>ovis serve</title></head><body>' +
    '<h1>ovis serve</h1><p>The chat page is not built into this version. The API is up: POST /api/chat, ' +
    'POST /v1/chat/completions, GET /v1/models, GET /health.</p></body></html>'
  );
}
