#!/usr/bin/env node
// A tiny static server for the browser example: the page, dist/ (native ES modules), webp.wasm
// (which dist/image/decode-webp.js fetches from ../../node_modules/@cwasm/webp/, as the
// repository lays it out), and checkpoint folders under /models/<name>/ — with
// HEAD, single-range GET (206 + Content-Range), and the headers the page needs:
//   Cross-Origin-Opener-Policy: same-origin + Cross-Origin-Embedder-Policy: require-corp
//     -> the page is cross-origin isolated: SharedArrayBuffer, shared wasm memory, threads;
//   Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:
//     -> no eval; WebAssembly compiles; the kernel workers start from blob: URLs (docs/browser.md).
//     Sent with the page and with every script (worker.js runs under its own response's policy).
// A checkpoint folder with tokenizer.source.json instead of tokenizer.json (the repository's
// tiny fixtures) gets a tokenizer.json resolved in Node (src/io/tokenizer-source.ts).
// Listens on 127.0.0.1 only. Counts what it serves (tests check "only the bytes needed").
//
//   node examples/browser/serve.mjs [--port 8080] [--model NAME=DIR]... [--no-isolation]
//   (after `npm run build`; the tiny fixtures are served as tiny-llama and tiny-gemma2)

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; " +
  "connect-src 'self' https: http://127.0.0.1:* http://localhost:*; img-src 'self' blob: data:; style-src 'self'";

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.css': 'text/css',
  '.map': 'application/json',
  '.safetensors': 'application/octet-stream',
};

/** URL prefix -> folder. Longest prefix wins. */
function mounts(models, extra) {
  const m = {
    ...extra,
    '/dist/': join(ROOT, 'dist'),
    '/examples/browser/': join(ROOT, 'examples', 'browser'),
    '/node_modules/@cwasm/webp/': join(ROOT, 'node_modules', '@cwasm', 'webp'),
    '/fixtures/images/': join(ROOT, 'reference', 'fixtures', 'images'),
  };
  for (const [name, dir] of Object.entries(models)) m[`/models/${name}/`] = resolve(dir);
  return Object.entries(m).sort((a, b) => b[0].length - a[0].length);
}

/**
 * Start the server. `models`: name -> checkpoint folder. `isolated` (default true): send
 * COOP/COEP. `ignoreRange`: answer Range requests with the whole file (tests). `mounts`: more
 * URL prefix -> folder pairs (bench/browser.mjs serves bench/ this way).
 * Resolves with { url, stats, close }; stats: { bytes, requests: [{ method, path, range, status, bytes }] }.
 */
export function startStaticServer({ port = 0, models = defaultModels(), isolated = true, ignoreRange = false, mounts: extra = {} } = {}) {
  const table = mounts(models, extra);
  const stats = { bytes: 0, requests: [] };
  const server = createServer((req, res) => {
    handle(req, res, table, stats, { isolated, ignoreRange }).catch((e) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e?.message ?? e));
      } else res.destroy();
    });
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      ok({
        url: `http://127.0.0.1:${p}`,
        stats,
        server,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

export function defaultModels() {
  return {
    'tiny-llama': join(ROOT, 'reference', 'fixtures', 'tiny', 'llama'),
    'tiny-gemma2': join(ROOT, 'reference', 'fixtures', 'tiny', 'gemma2'),
  };
}

async function resolveFile(path, table) {
  if (path === '/' || path === '/index.html') return join(ROOT, 'examples', 'browser', 'index.html');
  for (const [prefix, dir] of table) {
    if (!path.startsWith(prefix)) continue;
    const rel = path.slice(prefix.length);
    if (rel.split('/').some((s) => s === '..' || s === '.')) return undefined;
    const file = resolve(dir, rel);
    if (file !== dir && !file.startsWith(dir + sep)) return undefined;
    if (prefix.startsWith('/models/') && rel === 'tokenizer.json') {
      // the tiny fixtures name their tokenizer in tokenizer.source.json: resolve it here, in Node
      try {
        await stat(file);
      } catch {
        try {
          const { resolveTokenizerPath } = await import('../../dist/io/tokenizer-source.js');
          return await resolveTokenizerPath(dir);
        } catch {
          return undefined;
        }
      }
    }
    return file;
  }
  return undefined;
}

async function handle(req, res, table, stats, opts) {
  const url = new URL(req.url, 'http://x');
  const path = decodeURIComponent(url.pathname);
  const entry = { method: req.method, path, range: req.headers.range ?? null, status: 0, bytes: 0 };
  stats.requests.push(entry);
  const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'cross-origin-resource-policy': 'same-origin' };
  if (opts.isolated) {
    headers['cross-origin-opener-policy'] = 'same-origin';
    headers['cross-origin-embedder-policy'] = 'require-corp';
  }
  const send = (status, body, extra = {}) => {
    entry.status = status;
    res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', ...extra });
    res.end(body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'GET and HEAD only', { allow: 'GET, HEAD' });
  const file = await resolveFile(path, table);
  if (!file) return send(404, 'not found');
  let st;
  try {
    st = await stat(await realpath(file));
  } catch {
    return send(404, 'not found');
  }
  if (!st.isFile()) return send(404, 'not a file');
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  // on scripts too: a worker started from a URL runs under its own response's policy, not the
  // page's (workers started from blob: URLs inherit their creator's)
  if (type.startsWith('text/html') || type.startsWith('text/javascript')) headers['content-security-policy'] = CSP;
  let start = 0;
  let end = st.size - 1;
  let status = 200;
  const range = opts.ignoreRange ? undefined : req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!m || (m[1] === '' && m[2] === '')) return send(416, 'one range, bytes=a-b', { 'content-range': `bytes */${st.size}` });
    if (m[1] === '') {
      start = Math.max(0, st.size - Number(m[2]));
    } else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= st.size) return send(416, 'range not satisfiable', { 'content-range': `bytes */${st.size}` });
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
  }
  const length = st.size === 0 ? 0 : end - start + 1;
  entry.status = status;
  res.writeHead(status, {
    ...headers,
    'content-type': type,
    'content-length': String(length),
    'accept-ranges': opts.ignoreRange ? 'none' : 'bytes',
  });
  if (req.method === 'HEAD' || length === 0) return res.end();
  await new Promise((ok, fail) => {
    const s = createReadStream(file, { start, end });
    s.on('data', (c) => {
      stats.bytes += c.length;
      entry.bytes += c.length;
    });
    s.on('error', fail);
    res.on('close', ok);
    s.pipe(res);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let port = 8080;
  const models = defaultModels();
  let isolated = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i]);
    else if (args[i] === '--model') {
      const [n, d] = args[++i].split('=');
      models[n] = d;
    } else if (args[i] === '--no-isolation') isolated = false;
    else {
      console.error(
        `unknown argument ${args[i]}\nusage: node examples/browser/serve.mjs [--port 8080] [--model NAME=DIR]... [--no-isolation]`,
      );
      process.exit(2);
    }
  }
  const s = await startStaticServer({ port, models, isolated });
  console.log(
    `serving the browser example on ${s.url}/ (models: ${Object.keys(models)
      .map((n) => `/models/${n}/`)
      .join(', ')})`,
  );
}
