// Target `server`: `ovis serve`'s fetch handler (OvisServer.handle, in process, on the tiny Llama
// checkpoint) with hostile HTTP requests: valid OpenAI and /api/chat bodies mutated structurally
// (messages, parts, roles, numbers, data: URLs with mutated image bytes) and as text (truncated,
// NaN, duplicate keys, nested 100k deep), wrong methods, paths, content types and API keys.
// Every response must be a status the server documents (200 401 404 405 413 415 429 400 503) —
// a 500 is a bug (the handler let an unexpected error through) — and every error body must be
// OpenAI's JSON shape, or for /api/chat an event stream whose last event is done or error.
// Seeds: the request bodies below with reference/fixtures/images/{square,tiny}.png as data URLs.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutateBytes, mutateJson, mutateJsonText } from '../mutate.mjs';

export const name = 'server';
const KEY = 'fuzz-key';
const OK = new Set([200, 400, 401, 404, 405, 413, 415, 429, 503]);

export async function setup({ lib, root }) {
  const runner = await lib.OvisRunner.load(join(root, 'reference/fixtures/tiny/llama'), { threads: 1, maxNewTokens: 2, maxPartition: 1 });
  const server = lib.createServer(runner, {
    model: 'tiny',
    apiKey: KEY,
    maxQueue: 2,
    maxBodyBytes: 1 << 20,
    pageHtml: '<!doctype html><title>fuzz</title>',
  });
  const images = ['square.png', 'tiny.png'].map((f) => new Uint8Array(readFileSync(join(root, 'reference/fixtures/images', f))));
  return { server, images };
}

const dataUrl = (b, type = 'image/png') => `data:${type};base64,${Buffer.from(b).toString('base64')}`;

function seedBody(rng, images) {
  const img = rng.pick(images);
  const text = rng.pick(['What is this?', 'Describe it.', '', '<image>', '\u0000\ud800 x']);
  if (rng.bool()) {
    return {
      path: '/v1/chat/completions',
      json: {
        model: rng.pick(['tiny', 'tiny', 'other']),
        messages: [
          ...(rng.bool(0.3) ? [{ role: 'system', content: 'Be brief.' }] : []),
          {
            role: 'user',
            content: rng.bool()
              ? text
              : [
                  { type: 'image_url', image_url: { url: dataUrl(img) } },
                  { type: 'text', text },
                ],
          },
          ...(rng.bool(0.3)
            ? [
                { role: 'assistant', content: 'ok' },
                { role: 'user', content: 'and?' },
              ]
            : []),
        ],
        max_tokens: rng.pick([1, 2, 0, -1, 1e9]),
        temperature: rng.pick([0, 0.7, undefined]),
        stream: rng.bool(),
        seed: 1,
        ...(rng.bool(0.2) ? { stop: ['x'], top_p: 0.9 } : {}),
      },
    };
  }
  return {
    path: '/api/chat',
    json: {
      messages: [
        {
          role: 'user',
          content: rng.bool()
            ? text
            : [
                { type: 'image', data: dataUrl(img) },
                { type: 'text', text },
              ],
        },
      ],
      options: { maxNewTokens: rng.pick([1, 2]), maxPartition: rng.pick([1, 2, 100]), doSample: rng.bool(0.2) },
    },
  };
}

export function generate(rng, { images }) {
  const recipe = [];
  const seed = seedBody(rng, images);
  recipe.push(`seed ${seed.path}`);
  let json = seed.json;
  // now and then, mutate the image bytes inside a data: URL first
  if (rng.bool(0.3)) {
    const bytes = mutateBytes(rng, rng.pick(images).slice(), recipe);
    const parts = json.messages?.[0]?.content;
    if (Array.isArray(parts)) {
      if (parts[0]?.image_url) parts[0].image_url.url = dataUrl(bytes, rng.pick(['image/png', 'image/jpeg', 'text/plain']));
      if (parts[0]?.data) parts[0].data = dataUrl(bytes);
      recipe.push('image bytes mutated');
    }
  }
  for (let k = rng.small(4) - 1; k > 0; k--) json = mutateJson(rng, json, recipe);
  let body = JSON.stringify(json) ?? 'null';
  if (rng.bool(0.2)) body = mutateJsonText(rng, body, recipe);
  const method = rng.weighted([
    [12, 'POST'],
    [1, 'GET'],
    [1, 'PUT'],
    [1, 'DELETE'],
  ]);
  const path = rng.weighted([
    [10, seed.path],
    [1, '/v1/models'],
    [1, '/health'],
    [1, '/nope'],
    [1, '/v1/chat/completions/../x'],
  ]);
  const auth = rng.weighted([
    [10, `Bearer ${KEY}`],
    [1, 'Bearer wrong'],
    [1, ''],
    [1, KEY],
  ]);
  const contentType = rng.weighted([
    [10, 'application/json'],
    [1, 'text/plain'],
    [1, ''],
  ]);
  if (method !== 'POST' || path !== seed.path || auth !== `Bearer ${KEY}` || contentType !== 'application/json') {
    recipe.push(`${method} ${path} authorization=${JSON.stringify(auth)} content-type=${JSON.stringify(contentType)}`);
  }
  return { recipe, method, path, auth, contentType, body, files: { 'request.json': body } };
}

/** Read a response body whole, at most 4 MB (a runaway stream is a failure of its own). */
async function readCapped(res) {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > 4 << 20) {
      await reader.cancel();
      throw new Error('response body over 4 MB');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(kase, { server }) {
  const headers = {};
  if (kase.auth) headers.authorization = kase.auth;
  if (kase.contentType) headers['content-type'] = kase.contentType;
  const init = { method: kase.method, headers };
  if (kase.method !== 'GET') init.body = kase.body;
  const res = await server.handle(new Request(`http://127.0.0.1${kase.path}`, init));
  const text = await readCapped(res);
  const ct = res.headers.get('content-type') ?? '';
  if (!OK.has(res.status)) {
    return {
      outcome: 'untyped',
      code: `HTTP ${res.status}`,
      message: `status ${res.status} (only ${[...OK].join(' ')} are documented): ${text.slice(0, 200)}`,
    };
  }
  if (res.status === 200) {
    if (/event-stream/.test(ct)) {
      const last = text.trim().split('\n\n').pop() ?? '';
      if (
        !/^data: (\[DONE\]|\{.*"type":"(done|error)")/s.test(last) &&
        !/^data: \{.*"finish_reason"/s.test(last) &&
        !/"usage"/.test(last)
      ) {
        return {
          outcome: 'garbage',
          code: 'SSE',
          message: `a 200 event stream that ends without done/error/[DONE]: ${last.slice(0, 200)}`,
        };
      }
    }
    return { outcome: 'ok' };
  }
  // an error: OpenAI's JSON shape, or /api/chat's single error event
  let err;
  try {
    err = /event-stream/.test(ct) ? JSON.parse(text.trim().replace(/^data: /, '')).error : JSON.parse(text).error;
  } catch {
    return { outcome: 'garbage', code: `HTTP ${res.status}`, message: `error body is not the documented shape: ${text.slice(0, 200)}` };
  }
  if (!err || typeof err.message !== 'string' || !err.message) {
    return { outcome: 'garbage', code: `HTTP ${res.status}`, message: `error without a message: ${text.slice(0, 200)}` };
  }
  return { outcome: 'typed', code: `HTTP ${res.status} ${err.code ?? ''}`.trim(), message: err.message.slice(0, 200) };
}
