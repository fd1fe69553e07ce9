#!/usr/bin/env node
// A fake Hugging Face Hub for tests: serves repos from folders on disk over the HTTP protocol
// huggingface_hub speaks (file_download.py, hf_api.py), so both `ovis download` and
// huggingface_hub's own snapshot_download can fill a cache from it. Listens on 127.0.0.1 only.
//
//   node test/hub/fake-hub.mjs --root DIR [--port 0] [--gated org/name=TOKEN]... [--revision org/name=BRANCH]...
//                              [--lfs-threshold BYTES] [--max-seconds S]
//     prints its URL on stdout; a repo is every DIR/<org>/<name>/ folder; exits after --max-seconds (default 600).
//   import { startFakeHub } from './fake-hub.mjs'   (vitest): hooks below, `close()` when done.
//
// Routes (what the real Hub answers, minus Xet):
//   GET  /api/models/{repo}[/revision/{rev}][?blobs=true]  {id, sha, siblings[{rfilename, size, blobId, lfs}]}
//   GET  /api/models/{repo}/tree/{rev}[?recursive=true]      [{type, oid, size, path, lfs}]
//   HEAD|GET /{repo}/resolve/{rev}/{path}
//        small file: 200, ETag "<git blob sha1>", X-Repo-Commit, Content-Length
//        "LFS" file (above the threshold, or *.safetensors/*.bin/...): 302 to an absolute /cdn/ URL with
//        X-Linked-Etag "<sha256>", X-Linked-Size, X-Repo-Commit (the metadata is on the redirect itself)
//   HEAD|GET /cdn/{sha256}?repo=&commit=   the LFS content; also carries ETag and X-Repo-Commit because
//        huggingface_hub >= 1.x follows redirects that stay on the same host name, as this one does
//   Errors as the Hub: X-Error-Code RepoNotFound (401 without a token, 404 with one), RevisionNotFound
//   (404), EntryNotFound (404, with X-Repo-Commit), GatedRepo (401 without a token, 403 with a wrong one).
//   Range: bytes=N- and bytes=N-M on file bodies (206 + Content-Range).
// A renamed repo (`aliases`) answers its resolve URLs with a relative 307 to the new name, as the Hub does.

import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const LFS_EXT = /\.(safetensors|bin|pt|pth|ckpt|gguf|onnx|msgpack|h5|npz|zip|tar|gz)$/;

/** A fixed fake commit per (repo, revision name): sha1 of the pair, so runs are reproducible. */
export function fakeCommit(repoId, revision = 'main') {
  return createHash('sha1').update(`fake-hub:${repoId}:${revision}`).digest('hex');
}
/** git's blob object id: what the Hub sends as ETag for a file stored in git (not LFS). */
export function gitBlobSha1(buf) {
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
}
export function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}
/** The Git LFS pointer committed in place of an LFS file (its git oid is the tree's blob_id). */
export function lfsPointer(sha, size) {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\nsize ${size}\n`);
}

function walk(dir) {
  const out = {};
  const rec = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (statSync(p).isFile()) out[relative(dir, p).split(sep).join('/')] = p;
    }
  };
  rec(dir);
  return out;
}

/** Every DIR/<org>/<name>/ folder as a repo. */
export function reposFromRoot(root) {
  const repos = {};
  for (const org of readdirSync(root, { withFileTypes: true })) {
    if (!org.isDirectory() || org.name.startsWith('.')) continue;
    for (const name of readdirSync(join(root, org.name), { withFileTypes: true })) {
      if (name.isDirectory()) repos[`${org.name}/${name.name}`] = { dir: join(root, org.name, name.name) };
    }
  }
  return repos;
}

/**
 * Start the fake Hub.
 * @param {object} o
 * @param {string} [o.root]  folder of <org>/<name>/ repos
 * @param {Record<string, {dir?: string, files?: Record<string,string>, gated?: string, revisions?: string[]}>} [o.repos]
 *        repo id -> its files (a folder, and/or repo path -> file on disk), the token a gated repo
 *        wants, extra revision names (branches / tags) besides main
 * @param {Record<string,string>} [o.aliases] old repo id -> new repo id (a renamed repo)
 * @param {number} [o.port]  0 = any free port
 * @param {number} [o.lfsThreshold] bytes above which a file is "LFS" (default 1 MiB)
 */
export async function startFakeHub(o = {}) {
  const repos = { ...(o.root ? reposFromRoot(o.root) : {}), ...(o.repos ?? {}) };
  const aliases = o.aliases ?? {};
  const lfsThreshold = o.lfsThreshold ?? (1 << 20);
  const log = []; // every request: {method, path, range, auth}
  const cuts = new Map(); // repo path -> bytes to send before cutting the connection (once)
  const stalls = new Map(); // repo path -> bytes to send before going silent (once)
  const corrupt = new Set(); // repo paths served with one byte flipped (same etag / size)
  let failNext = []; // statuses answered to the next requests, one each
  const sockets = new Set();
  const fileCache = new Map();

  function repoFiles(repoId) {
    const r = repos[repoId];
    return { ...(r.dir ? walk(r.dir) : {}), ...(r.files ?? {}) };
  }
  function fileInfo(diskPath) {
    const st = statSync(diskPath);
    const key = `${diskPath}:${st.size}:${st.mtimeMs}`;
    let info = fileCache.get(key);
    if (!info) {
      const buf = readFileSync(diskPath);
      const isLfs = buf.length > lfsThreshold || LFS_EXT.test(diskPath);
      const sha = sha256(buf);
      info = { size: buf.length, lfs: isLfs, sha256: sha, gitOid: isLfs ? gitBlobSha1(lfsPointer(sha, buf.length)) : gitBlobSha1(buf), pointerSize: lfsPointer(sha, buf.length).length };
      fileCache.set(key, info);
    }
    return info;
  }
  function revisions(repoId) {
    return ['main', ...(repos[repoId].revisions ?? [])];
  }
  function commitOf(repoId, rev) {
    for (const name of revisions(repoId)) {
      if (rev === name || rev === fakeCommit(repoId, name)) return fakeCommit(repoId, name);
    }
    return undefined;
  }

  function sendError(res, status, code, message, extra = {}) {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message, ...extra });
    res.end(JSON.stringify({ error: message }));
  }
  /** Repo existence + gating, answered as the Hub does; true when the request may go on. */
  function checkAccess(req, res, repoId, forFile) {
    const auth = req.headers.authorization;
    if (!repos[repoId]) {
      if (auth) sendError(res, 404, 'RepoNotFound', 'Repository not found');
      else sendError(res, 401, 'RepoNotFound', 'Invalid username or password.');
      return false;
    }
    const gated = repos[repoId].gated;
    if (forFile && gated && auth !== `Bearer ${gated}`) {
      if (!auth) sendError(res, 401, 'GatedRepo', `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      else sendError(res, 403, 'GatedRepo', `Access to model ${repoId} is restricted and you are not in the authorized list. Visit https://huggingface.co/${repoId} to ask for access.`);
      return false;
    }
    return true;
  }

  /** Send `buf` (or its `start..` slice under a Range) honouring the cut / stall / corrupt hooks. */
  function sendBody(req, res, repoPath, buf, headers) {
    let body = buf;
    if (corrupt.has(repoPath)) {
      body = Buffer.from(buf);
      if (body.length) body[body.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let status = 200;
    let start = 0;
    let end = body.length - 1;
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
        return res.end();
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${body.length}`;
    }
    const part = body.subarray(start, end + 1);
    res.writeHead(status, { ...headers, 'Content-Length': String(part.length), 'Accept-Ranges': 'bytes' });
    if (req.method === 'HEAD') return res.end();
    if (cuts.has(repoPath)) {
      const n = cuts.get(repoPath);
      cuts.delete(repoPath);
      res.write(part.subarray(0, n), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    if (stalls.has(repoPath)) {
      const n = stalls.get(repoPath);
      stalls.delete(repoPath);
      res.write(part.subarray(0, n)); // then silence: the client's stall timeout must fire
      return;
    }
    res.end(part);
  }

  function modelInfo(repoId, sha, blobs) {
    const files = repoFiles(repoId);
    const siblings = Object.keys(files).sort().map((p) => {
      if (!blobs) return { rfilename: p };
      const i = fileInfo(files[p]);
      return { rfilename: p, size: i.size, blobId: i.gitOid, ...(i.lfs ? { lfs: { sha256: i.sha256, size: i.size, pointerSize: i.pointerSize } } : {}) };
    });
    return { _id: sha.slice(0, 24), id: repoId, modelId: repoId, sha, private: false, gated: repos[repoId].gated ? 'manual' : false, disabled: false, tags: [], siblings };
  }
  function tree(repoId, recursive) {
    const files = repoFiles(repoId);
    const dirs = new Set();
    const out = [];
    for (const p of Object.keys(files).sort()) {
      const parts = p.split('/');
      for (let k = 1; k < parts.length; k++) dirs.add(parts.slice(0, k).join('/'));
      if (!recursive && parts.length > 1) continue;
      const i = fileInfo(files[p]);
      out.push({ type: 'file', oid: i.gitOid, size: i.size, path: p, ...(i.lfs ? { lfs: { oid: i.sha256, size: i.size, pointerSize: i.pointerSize } } : {}) });
    }
    for (const d of [...dirs].sort()) {
      if (recursive || !d.includes('/')) out.push({ type: 'directory', oid: createHash('sha1').update(d).digest('hex'), size: 0, path: d });
    }
    return out;
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    log.push({ method: req.method, path, range: req.headers.range, auth: req.headers.authorization });
    if (failNext.length) {
      const status = failNext.shift();
      return sendError(res, status, 'ServerError', `fake hub: injected ${status}`);
    }
    const base = `http://${req.headers.host}`;
    let m;
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)(?:\/(revision|tree)\/(.+))?$/.exec(path))) {
      const [, repoId, kind, rawRev] = m;
      if (aliases[repoId]) {
        res.writeHead(307, { Location: url.pathname.replace(`/api/models/${repoId}`, `/api/models/${aliases[repoId]}`) + url.search });
        return res.end();
      }
      if (!checkAccess(req, res, repoId, false)) return;
      const rev = rawRev ?? 'main';
      const sha = commitOf(repoId, rev);
      if (!sha) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      const body = kind === 'tree' ? tree(repoId, url.searchParams.get('recursive') === 'true' || url.searchParams.get('recursive') === 'True')
        : modelInfo(repoId, sha, url.searchParams.get('blobs') === 'true' || url.searchParams.get('blobs') === 'True');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(body));
    }
    if ((m = /^\/cdn\/([0-9a-f]{64})$/.exec(path))) {
      const repoId = url.searchParams.get('repo') ?? '';
      const repoPath = url.searchParams.get('path') ?? '';
      const files = repos[repoId] ? repoFiles(repoId) : {};
      const disk = files[repoPath];
      if (!disk || fileInfo(disk).sha256 !== m[1]) return sendError(res, 404, 'EntryNotFound', 'no such blob');
      return sendBody(req, res, repoPath, readFileSync(disk), {
        ETag: `"${m[1]}"`, 'X-Repo-Commit': url.searchParams.get('commit') ?? '', 'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${repoPath.split('/').pop()}"`,
      });
    }
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname))) {
      const repoId = decodeURIComponent(m[1]);
      const rev = decodeURIComponent(m[2]);
      const repoPath = decodeURIComponent(m[3]);
      if (aliases[repoId]) {
        res.writeHead(307, { Location: `/${aliases[repoId]}/resolve/${m[2]}/${m[3]}` });
        return res.end();
      }
      if (!checkAccess(req, res, repoId, true)) return;
      const sha = commitOf(repoId, rev);
      if (!sha) return sendError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      const disk = repoFiles(repoId)[repoPath];
      if (!disk) return sendError(res, 404, 'EntryNotFound', `${repoPath} does not exist on "${rev}"`, { 'X-Repo-Commit': sha });
      const i = fileInfo(disk);
      if (i.lfs) {
        const q = new URLSearchParams({ repo: repoId, path: repoPath, commit: sha });
        res.writeHead(302, {
          Location: `${base}/cdn/${i.sha256}?${q}`, 'X-Linked-Etag': `"${i.sha256}"`, 'X-Linked-Size': String(i.size),
          'X-Repo-Commit': sha, ETag: `"${i.gitOid}"`,
        });
        return res.end();
      }
      return sendBody(req, res, repoPath, readFileSync(disk), { ETag: `"${i.gitOid}"`, 'X-Repo-Commit': sha, 'Content-Type': 'application/octet-stream' });
    }
    sendError(res, 404, 'NotFound', `fake hub: no route for ${req.method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) sendError(res, 500, 'ServerError', String(e?.message ?? e));
      else res.destroy();
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((ok, fail) => { server.once('error', fail); server.listen(o.port ?? 0, '127.0.0.1', ok); });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    log,
    repos,
    commit: (repoId, rev = 'main') => fakeCommit(repoId, rev),
    /** Send `n` bytes of `repoPath`'s next GET, then cut the connection (once). */
    cutOnce: (repoPath, n) => cuts.set(repoPath, n),
    /** Send `n` bytes of `repoPath`'s next GET, then go silent without closing (once). */
    stallOnce: (repoPath, n) => stalls.set(repoPath, n),
    /** Serve `repoPath` with one byte flipped from now on (etag and size unchanged). */
    corrupt: (repoPath, on = true) => (on ? corrupt.add(repoPath) : corrupt.delete(repoPath)),
    /** Answer the next requests with these HTTP statuses, one each. */
    failNext: (...statuses) => { failNext = statuses; },
    close: () => new Promise((ok) => { for (const s of sockets) s.destroy(); server.close(() => ok()); }),
  };
}

async function cliMain(argv) {
  const o = { repos: {} };
  let maxSeconds = 600;
  const gated = [];
  const revs = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === '--root') o.root = v();
    else if (a === '--port') o.port = Number(v());
    else if (a === '--lfs-threshold') o.lfsThreshold = Number(v());
    else if (a === '--max-seconds') maxSeconds = Number(v());
    else if (a === '--gated') gated.push(v());
    else if (a === '--revision') revs.push(v());
    else throw new Error(`fake-hub: unknown option ${a} (see the header of test/hub/fake-hub.mjs)`);
  }
  if (!o.root) throw new Error('fake-hub: --root DIR is required');
  const fromRoot = reposFromRoot(o.root);
  for (const g of gated) {
    const [repoId, token] = g.split('=');
    o.repos[repoId] = { ...fromRoot[repoId], ...o.repos[repoId], gated: token };
  }
  for (const r of revs) {
    const [repoId, rev] = r.split('=');
    const cur = { ...fromRoot[repoId], ...o.repos[repoId] };
    o.repos[repoId] = { ...cur, revisions: [...(cur.revisions ?? []), rev] };
  }
  const hub = await startFakeHub(o);
  process.stdout.write(hub.url + '\n');
  const stop = () => hub.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, maxSeconds * 1000); // the bound: never outlive a crashed parent for long
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cliMain(process.argv.slice(2)).catch((e) => { process.stderr.write(`${e.message}\n`); process.exit(2); });
}
