// The model runs here, not on the page: the wasm backend blocks with Atomics.wait between
// kernel jobs, which a page's main thread may not do. The kernel threads are this worker's own
// workers (Blob URLs, shared wasm memory: the page must be cross-origin isolated for more
// than one thread). Plain ES modules from dist/ — no bundler, no import map.
//
// Messages in:  { type: 'load', source: { url } | { files: File[] }, threads, budgetGb? }
//               { type: 'ask', image: ArrayBuffer (encoded file), prompt, maxNewTokens, maxPartition } · { type: 'stop' }
// Messages out: { type: 'progress', text } · { type: 'bytes', done, total } · { type: 'memory', bytes, refuse? }
//               { type: 'loaded', … } · { type: 'text', text } · { type: 'done', ids, … } · { type: 'error', message }

import { BlobSource, Checkpoint, decodeImageAsync, HttpSource, OvisRunner } from '../../dist/browser.js';
import { memoryVerdict } from './memory.js';

let runner;
const post = (m) => self.postMessage(m);

async function load({ source, threads, budgetGb }) {
  runner?.dispose();
  runner = undefined;
  let total = 0;
  // at most ~10 progress messages a second (a chunk is ~64 KB: a large model is 100k+ chunks)
  let last = 0;
  const onBytes = (_n, done) => {
    const now = performance.now();
    if (now - last < 100 && done < total) return;
    last = now;
    post({ type: 'bytes', done, total });
  };
  const src = source.url ? new HttpSource(new URL(source.url, self.location.href), { onBytes }) : new BlobSource(source.files, { onBytes });
  // the headers first (configs + every shard's header: a few KB), then the verdict, then the weights
  const ck = await Checkpoint.open(src);
  const verdict = memoryVerdict(ck.config, ck.tensors, { budgetGb });
  // what the load will read: every tensor's bytes and tokenizer.json (the headers are read)
  total = (await src.probe('tokenizer.json'))?.size ?? 0;
  for (const t of ck.tensors.values()) total += t.byteLength;
  await ck.close();
  post({ type: 'memory', bytes: total, ...verdict });
  if (verdict.refuse) throw new Error(verdict.refuse);
  const t0 = performance.now();
  runner = await OvisRunner.load(src, { backend: 'wasm', threads, onProgress: (text) => post({ type: 'progress', text }) });
  post({
    type: 'loaded',
    label: src.label,
    threads,
    ms: performance.now() - t0,
    bytesRead: src.bytesRead,
    requests: src.requests ?? null,
    wasmBytes: wasmBytes(),
  });
}

let abort;
/** A macrotask turn: lets a 'stop' message in between tokens (the chat iterator's own awaits
 *  are microtasks, which never let the worker's message queue run). */
const turn = () =>
  new Promise((r) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => r();
    c.port2.postMessage(0);
  });
/** The wasm memories' bytes (weights, KV arena, scratch): what the model really holds. */
const wasmBytes = () => (runner?.model.backend.info?.().memories ?? []).reduce((s, m) => s + m.byteLength, 0);

async function ask({ image, prompt, maxNewTokens, maxPartition }) {
  if (!runner) throw new Error('no model loaded');
  const t0 = performance.now();
  const rgb = image ? await decodeImageAsync(new Uint8Array(image)) : undefined;
  const decodeMs = performance.now() - t0;
  const content = rgb
    ? [
        { type: 'image', image: rgb },
        { type: 'text', text: prompt },
      ]
    : prompt;
  runner.resetConversation(); // one question per page run: every answer is a fresh prefill
  abort = new AbortController();
  const it = runner.chat([{ role: 'user', content }], { maxNewTokens, maxPartition, signal: abort.signal });
  for (;;) {
    const { value: ev, done } = await it.next();
    if (done) break;
    if (ev.type === 'images')
      post({ type: 'images', images: ev.images.map(({ grid, crops, tokens, width, height }) => ({ grid, crops, tokens, width, height })) });
    else if (ev.type === 'progress') post({ type: 'progress', text: `${ev.stage} ${ev.done}/${ev.total}` });
    else if (ev.type === 'start') post({ type: 'start', promptTokens: ev.promptTokens });
    else if (ev.type === 'text') {
      post({ type: 'text', text: ev.text });
      await turn();
    } else if (ev.type === 'done')
      post({
        type: 'done',
        ids: ev.result.ids,
        promptTokens: ev.result.promptTokens,
        stopReason: ev.result.stopReason,
        timings: ev.result.timings,
        decodeMs,
        wasmBytes: wasmBytes(),
      });
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.type === 'load') await load(m);
    else if (m.type === 'ask') await ask(m);
    else if (m.type === 'stop') abort?.abort();
  } catch (err) {
    post({ type: 'error', message: String(err?.message ?? err) });
  }
};
post({ type: 'ready', isolated: self.crossOriginIsolated === true });
