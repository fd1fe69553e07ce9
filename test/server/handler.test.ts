// The fetch handler through the node:http adapter on 127.0.0.1:0, with a scripted fake engine
// (test/server/helpers.ts): every route, every error status, the queue (one at a time, FIFO,
// positions, 429), client disconnects (leave the queue / abort the generation) and shutdown.
// The real model behind the real openai client is test/server/openai-client.test.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEngine, type Live, live, sseEvents, until } from './helpers.js';

const ROOT = join(__dirname, '..', '..');
const PNG = readFileSync(join(ROOT, 'reference', 'fixtures', 'images', 'square.png'));
const PNG_URL = `data:image/png;base64,${PNG.toString('base64')}`;

const post = (url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
const user = (content: unknown) => ({ model: 'tiny-model', messages: [{ role: 'user', content }] });

async function expectError(res: Response, status: number, code: string, param?: string | null) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.type).toBe('string');
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

describe('ovis serve handler (node adapter, fake engine)', () => {
  const engine = new FakeEngine();
  let s: Live;
  beforeAll(async () => {
    s = await live(engine, { maxQueue: 2, maxBodyBytes: 64 * 1024 + PNG.length * 2 });
  });
  afterAll(async () => {
    await s.close();
  });

  it('GET / serves the page as self-contained HTML', async () => {
    const res = await fetch(s.url + '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toMatch(/<html/i);
    // nothing fetched from elsewhere: no absolute http(s) URL in src/href/url()/import
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
  });

  it('GET /health, GET /v1/models, GET /v1/models/ID', async () => {
    const h = await (await fetch(s.url + '/health')).json();
    expect(h).toMatchObject({ status: 'ok', model: 'test/tiny-model', queue: 0, busy: false });
    expect(h.rssMb).toBeGreaterThan(0);
    const m = await (await fetch(s.url + '/v1/models')).json();
    expect(m).toEqual({ object: 'list', data: [{ id: 'test/tiny-model', object: 'model', created: 0, owned_by: 'ovis-ts' }] });
    expect((await fetch(s.url + '/v1/models/tiny-model')).status).toBe(200);
    await expectError(await fetch(s.url + '/v1/models/gpt-4o'), 404, 'model_not_found');
  });

  it('POST /v1/chat/completions: a chat.completion with usage; the model by id or basename', async () => {
    for (const model of ['test/tiny-model', 'tiny-model']) {
      const res = await post(s.url + '/v1/chat/completions', { ...user('hi'), model });
      expect(res.status).toBe(200);
      const b = await res.json();
      expect(b).toMatchObject({
        object: 'chat.completion',
        model: 'test/tiny-model',
        choices: [{ index: 0, message: { role: 'assistant', content: 'echo: hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20, prompt_tokens_details: { cached_tokens: 3 } },
      });
      expect(b.id).toMatch(/^chatcmpl-/);
    }
  });

  it('POST /v1/chat/completions stream: role chunk, deltas, finish_reason, usage chunk, [DONE]', async () => {
    const res = await post(s.url + '/v1/chat/completions', {
      ...user([{ type: 'text', text: 'yo' }]),
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const evs = await sseEvents(res);
    expect(evs[evs.length - 1]).toBe('[DONE]');
    const chunks = evs.slice(0, -1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('echo: yo');
    const fin = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(fin.choices[0].finish_reason).toBe('stop');
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 } });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('OpenAI fields map onto GenerationOptions', async () => {
    const body = { ...user('x'), max_tokens: 7, temperature: 0, top_p: 0.5, seed: 5, stop: 'END', max_partition: 4 };
    expect((await post(s.url + '/v1/chat/completions', body)).status).toBe(200);
    expect(engine.calls.at(-1)!.opts).toMatchObject({ maxNewTokens: 7, doSample: false, stop: ['END'], maxPartition: 4, seed: 5 });
    expect(engine.calls.at(-1)!.opts.topP).toBeUndefined(); // greedy: no sampling settings
    await post(s.url + '/v1/chat/completions', {
      ...user('x'),
      max_completion_tokens: 3,
      max_tokens: 9,
      temperature: 0.7,
      top_p: 0.9,
      stop: ['a', 'b'],
    });
    expect(engine.calls.at(-1)!.opts).toMatchObject({ maxNewTokens: 3, doSample: true, temperature: 0.7, topP: 0.9, stop: ['a', 'b'] });
    await post(s.url + '/v1/chat/completions', {
      ...user([
        { type: 'image_url', image_url: PNG_URL },
        { type: 'text', text: 'q' },
      ]),
    });
    const parts = engine.calls.at(-1)!.messages[0].content as Array<{ type: string; image?: Uint8Array }>;
    expect(parts[0].type).toBe('image');
    expect(Buffer.from(parts[0].image!).equals(PNG)).toBe(true);
    expect(engine.calls.at(-1)!.messages).toHaveLength(1);
    // a developer message is a system message; the history is passed whole (the runner reuses its cache)
    await post(s.url + '/v1/chat/completions', {
      model: 'tiny-model',
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
      ],
    });
    expect(engine.calls.at(-1)!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });

  it('POST /api/chat: SSE of the runner events, ending after done; options pass through', async () => {
    const res = await post(s.url + '/api/chat', {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', data: PNG_URL },
            { type: 'text', text: 'hey' },
          ],
        },
      ],
      options: { maxNewTokens: 5, temperature: 0, seed: 3, maxPartition: 1, repetitionPenalty: 1.1, topK: 4 },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const evs = await sseEvents(res);
    expect(evs.map((e) => e.type)).toEqual(['start', 'text', 'text', 'done']);
    expect(evs[3].result.output).toBe('echo: hey');
    expect(engine.calls.at(-1)!.opts).toMatchObject({
      maxNewTokens: 5,
      doSample: false,
      seed: 3,
      maxPartition: 1,
      repetitionPenalty: 1.1,
      topK: 4,
    });
  });

  describe('errors, in OpenAI shape with the right status', () => {
    it('400: malformed JSON, not an object, a bad field named by its path', async () => {
      await expectError(await post(s.url + '/v1/chat/completions', '{"model": '), 400, 'invalid_json');
      await expectError(await post(s.url + '/v1/chat/completions', '[1]'), 400, 'invalid_json');
      await expectError(
        await post(s.url + '/v1/chat/completions', {
          model: 'tiny-model',
          messages: [
            { role: 'user', content: 'a' },
            { role: 'user', content: [{ type: 'image_url', image_url: 42 }] },
          ],
        }),
        400,
        'invalid_field',
        'messages[1].content[0].image_url',
      );
      await expectError(await post(s.url + '/v1/chat/completions', { ...user('a'), n: 2 }), 400, 'invalid_field', 'n');
      await expectError(await post(s.url + '/v1/chat/completions', { ...user('a'), max_tokens: -1 }), 400, 'invalid_field', 'max_tokens');
      await expectError(
        await post(s.url + '/v1/chat/completions', { ...user('a'), messages: [{ role: 'tool', content: 'a' }] }),
        400,
        'invalid_field',
        'messages[0].role',
      );
      await expectError(
        await post(s.url + '/v1/chat/completions', { ...user('a'), stop: ['a', 'b', 'c', 'd', 'e'] }),
        400,
        'invalid_field',
        'stop',
      );
    });

    it('400: a remote image URL (the server fetches nothing), a bad data: URL, a corrupt header', async () => {
      const e = await expectError(
        await post(s.url + '/v1/chat/completions', user([{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])),
        400,
        'remote_image_url',
        'messages[0].content[0].image_url.url',
      );
      expect(e.message).toMatch(/the server fetches nothing: send the image as a data: URL/);
      await expectError(
        await post(s.url + '/v1/chat/completions', user([{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }])),
        400,
        'invalid_field',
        'messages[0].content[0].image_url.url',
      );
      const corrupt = Buffer.concat([PNG.subarray(0, 8), Buffer.from('not an IHDR chunk at all, just bytes')]);
      const c = await expectError(
        await post(
          s.url + '/v1/chat/completions',
          user([{ type: 'image_url', image_url: { url: `data:image/png;base64,${corrupt.toString('base64')}` } }]),
        ),
        400,
        'invalid_image',
        'messages[0].content[0].image_url.url',
      );
      expect(c.message).toMatch(/^messages\[0\]\.content\[0\]\.image_url\.url/);
    });

    it('415: bytes that are no image we read, or a non-image media type', async () => {
      const txt = `data:image/png;base64,${Buffer.from('hello, I am text').toString('base64')}`;
      const e = await expectError(
        await post(s.url + '/v1/chat/completions', user([{ type: 'image_url', image_url: { url: txt } }])),
        415,
        'unsupported_image',
        'messages[0].content[0].image_url.url',
      );
      expect(e.message).toMatch(/not a recognised image; supported: PNG/);
      const tiff = `data:image/tiff;base64,${Buffer.from('II*\0aaaaaaaaaaaa').toString('base64')}`;
      expect(
        (
          await expectError(
            await post(s.url + '/v1/chat/completions', user([{ type: 'image_url', image_url: { url: tiff } }])),
            415,
            'unsupported_image',
          )
        ).message,
      ).toMatch(/TIFF/);
      await expectError(
        await post(s.url + '/v1/chat/completions', user([{ type: 'image_url', image_url: { url: 'data:text/plain;base64,aGVsbG8=' } }])),
        415,
        'unsupported_image',
      );
    });

    it('400 from the runner: ImageError names the request part, InputError says why', async () => {
      const img = await expectError(
        await post(
          s.url + '/v1/chat/completions',
          user([
            { type: 'image_url', image_url: { url: PNG_URL } },
            { type: 'text', text: 'throw image' },
          ]),
        ),
        400,
        'invalid_image',
        'messages[0].content[0].image_url.url',
      );
      expect(img.message).toBe('messages[0].content[0].image_url.url (image 1): truncated PNG data (IDAT ends early)');
      expect((await expectError(await post(s.url + '/v1/chat/completions', user('throw input')), 400, 'invalid_input')).message).toMatch(
        /must end with a user message/,
      );
      // /api/chat: the same, as one error event with the status
      const res = await post(s.url + '/api/chat', { messages: [{ role: 'user', content: 'throw input' }] });
      expect(res.status).toBe(400);
      expect(await sseEvents(res)).toEqual([
        {
          type: 'error',
          error: { message: 'the conversation must end with a user message', code: 'invalid_input', status: 400, param: null },
        },
      ]);
    });

    it('500: a non-Ovis error is generic to the client, logged, and the server stays up', async () => {
      const e = await expectError(await post(s.url + '/v1/chat/completions', user('throw bug')), 500, 'internal_error');
      expect(e.message).not.toMatch(/secret/);
      expect(s.logs.some((l) => /TypeError: cannot read properties of undefined \(secret internals\)/.test(l))).toBe(true);
      expect((await fetch(s.url + '/health')).status).toBe(200);
    });

    it('404 unknown model / route, 405 wrong method (with Allow)', async () => {
      await expectError(await post(s.url + '/v1/chat/completions', { ...user('a'), model: 'gpt-4o' }), 404, 'model_not_found', 'model');
      await expectError(await fetch(s.url + '/v1/embeddings'), 404, 'not_found');
      const r = await fetch(s.url + '/v1/chat/completions');
      expect(r.headers.get('allow')).toBe('POST');
      await expectError(r, 405, 'method_not_allowed');
      await expectError(await post(s.url + '/health', {}), 405, 'method_not_allowed');
      const api = await post(s.url + '/api/chat', { messages: [{ role: 'user', content: 'a' }], options: { temprature: 1 } });
      expect(api.status).toBe(400);
      expect((await sseEvents(api))[0].error).toMatchObject({ code: 'invalid_field', param: 'options.temprature' });
    });

    it('413: over --max-body-mb, by Content-Length or while reading a chunked body; the server stays up', async () => {
      const big = 'x'.repeat(64 * 1024 + PNG.length * 2 + 10);
      await expectError(await post(s.url + '/v1/chat/completions', JSON.stringify({ ...user(big) })), 413, 'body_too_large');
      // no Content-Length: a streamed body, cut when it passes the limit (1 MiB chunks, up to 8 MiB offered)
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= 8 << 20) {
            c.close();
            return;
          }
          sent += 1 << 20;
          c.enqueue(new Uint8Array(1 << 20).fill(0x20));
        },
      });
      // node:http keeps the connection and discards the rest of the upload unread, so the
      // client gets the 413 rather than a reset
      const res = await fetch(s.url + '/v1/chat/completions', { method: 'POST', body, duplex: 'half' } as RequestInit);
      await expectError(res, 413, 'body_too_large');
      expect((await fetch(s.url + '/health')).status).toBe(200);
    });
  });

  describe('the queue: one generation at a time, FIFO, bounded', () => {
    it('queued positions move up; a client that leaves is dropped; 429 when full (Retry-After)', async () => {
      // A runs (held); B and C wait (positions 1, 2); D is refused (max-queue 2)
      const ac = new AbortController();
      const a = post(s.url + '/api/chat', { messages: [{ role: 'user', content: 'hold' }] }, {}, ac.signal);
      await until(() => engine.running === 1, 'A running');
      const bAc = new AbortController();
      const b = await post(s.url + '/api/chat', { messages: [{ role: 'user', content: 'B' }] }, {}, bAc.signal);
      const cEvents: any[] = [];
      const c = post(s.url + '/api/chat', { messages: [{ role: 'user', content: 'C' }] }).then((r) => sseEvents(r, (e) => cEvents.push(e)));
      await until(() => s.server.queue.length === 2, 'B and C queued');
      expect(await (await fetch(s.url + '/health')).json()).toMatchObject({ queue: 2, busy: true });
      const d = await post(s.url + '/v1/chat/completions', user('D'));
      expect(Number(d.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectError(d, 429, 'queue_full');
      const d2 = await post(s.url + '/api/chat', { messages: [{ role: 'user', content: 'D' }] });
      expect(d2.status).toBe(429);
      expect((await sseEvents(d2))[0]).toMatchObject({ type: 'error', error: { code: 'queue_full', status: 429 } });
      await until(() => cEvents.length > 0, 'C told its position');
      expect(cEvents[0]).toEqual({ type: 'queued', position: 2 });
      // B reads its first event (position 1), then leaves: C moves up to 1
      const bReader = b.body!.getReader();
      expect(new TextDecoder().decode((await bReader.read()).value)).toBe('data: {"type":"queued","position":1}\n\n');
      bAc.abort();
      await until(() => s.server.queue.length === 1, 'B left the queue');
      await until(() => cEvents.some((e) => e.type === 'queued' && e.position === 1), 'C at position 1');
      // A's client leaves mid-generation: the runner is aborted and C runs
      ac.abort();
      await a.catch(() => {});
      const evs = await c;
      expect(evs.filter((e) => e.type === 'queued').map((e) => e.position)).toEqual([2, 1]);
      expect(evs.at(-1)).toMatchObject({ type: 'done', result: { output: 'echo: C' } });
      expect(engine.aborted).toBeGreaterThanOrEqual(1);
      expect(engine.maxRunning).toBe(1);
      expect(engine.calls.some((c) => c.messages[0].content === 'B')).toBe(false); // B never ran
    });

    it('a streamed OpenAI client that disconnects stops its generation', async () => {
      const before = engine.aborted;
      const ac = new AbortController();
      const res = await post(s.url + '/v1/chat/completions', { ...user('hold'), stream: true }, {}, ac.signal);
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      await until(() => engine.aborted === before + 1 && !s.server.queue.busy, 'generation aborted and slot free');
    });
  });

  it('one log line per request: method, path, status, tokens, time to first token, tokens/s', async () => {
    const n = s.logs.length;
    await (await post(s.url + '/v1/chat/completions', user('log me'))).json();
    await until(() => s.logs.length === n + 1, 'the log line');
    expect(s.logs[n]).toMatch(/^POST \/v1\/chat\/completions 200 prompt=16 cached=3 completion=\d+ ttft=0\.00s 100\.0 tok\/s \d+\.\d\ds$/);
  });
});

describe('--api-key', () => {
  let s: Live;
  beforeAll(async () => {
    s = await live(new FakeEngine(), { apiKey: 'sekret' });
  });
  afterAll(async () => {
    await s.close();
  });

  it('401 without or with a wrong key on /v1/* and /api/*; the page and /health stay open', async () => {
    const e = await expectError(await post(s.url + '/v1/chat/completions', user('a')), 401, 'invalid_api_key');
    expect(e.type).toBe('authentication_error');
    await expectError(await fetch(s.url + '/v1/models', { headers: { Authorization: 'Bearer wrong' } }), 401, 'invalid_api_key');
    expect((await post(s.url + '/api/chat', { messages: [{ role: 'user', content: 'a' }] })).status).toBe(401);
    expect((await fetch(s.url + '/v1/models', { headers: { Authorization: 'Bearer sekret' } })).status).toBe(200);
    expect((await post(s.url + '/v1/chat/completions', user('a'), { Authorization: 'Bearer sekret' })).status).toBe(200);
    expect((await fetch(s.url + '/')).status).toBe(200);
    expect((await fetch(s.url + '/health')).status).toBe(200);
  });
});

describe('shutdown', () => {
  it('close(): the running generation is aborted, waiting ones and new ones get 503', async () => {
    const engine = new FakeEngine();
    const s = await live(engine);
    const a = post(s.url + '/v1/chat/completions', user('hold'));
    await until(() => engine.running === 1, 'A running');
    const b = post(s.url + '/v1/chat/completions', user('B'));
    await until(() => s.server.queue.length === 1, 'B queued');
    const closed = s.server.close();
    await expectError(await a, 503, 'shutting_down');
    await expectError(await b, 503, 'shutting_down');
    await expectError(await post(s.url + '/v1/chat/completions', user('C')), 503, 'shutting_down');
    expect((await (await fetch(s.url + '/health')).json()).status).toBe('shutting_down');
    await closed;
    expect(engine.running).toBe(0);
    await s.listening.close();
  });
});
