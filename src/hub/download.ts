// `ovis download`: fill the Hugging Face cache with one revision of a model repo, the way
// huggingface_hub's snapshot_download does (file_download.py: _hf_hub_download_to_cache_dir,
// get_hf_file_metadata, http_get; hf_api.py: model_info), so that either side finds what the
// other downloaded. Uses only the global fetch (Node, Deno, Bun) and streams every body to disk.
//
// Protocol, per snapshot:
//   GET  {endpoint}/api/models/{repo}/revision/{rev}?blobs=true   -> commit sha + files (siblings)
//   per file not yet in snapshots/<sha>/:
//   HEAD {endpoint}/{repo}/resolve/{sha}/{path}   (Hub-host redirects followed; an LFS file answers
//        302 with X-Linked-Etag = sha256, X-Linked-Size and Location = the CDN URL to GET)
//   GET  location -> blobs/<etag>.incomplete (Range: bytes=N- resumes) -> checks -> blobs/<etag>
//   snapshots/<sha>/<path> -> ../../blobs/<etag>;  refs/<rev> = sha when rev is a branch or tag.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { HubError } from '../errors.js';
import {
  COMMIT_HASH,
  commitForRevision,
  DEFAULT_REVISION,
  type Env,
  expandPath,
  hubCacheDir,
  repoFolderName,
  repoIdProblem,
} from './cache.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
const SHA256 = /^[0-9a-f]{64}$/;
/** huggingface_hub's CACHEDIR_TAG_CONTENT (backup tools skip the folder). */
const CACHEDIR_TAG =
  'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by huggingface_hub.\n# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n';

/** huggingface_hub's _is_true: 1 / ON / YES / TRUE, any case. */
function isTrue(v: string | undefined): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((v ?? '').toUpperCase());
}
export function hubOffline(env: Env = process.env): boolean {
  return isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE);
}
export function hubEndpoint(env: Env = process.env): string {
  return (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}
/** huggingface_hub's get_token order: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the file written by
 *  `hf auth login` ($HF_TOKEN_PATH, else $HF_HOME/token). */
export async function hubToken(env: Env = process.env): Promise<string | undefined> {
  const fromEnv = (env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN)?.trim();
  if (fromEnv) return fromEnv;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(expandPath('~', env), '.cache'), 'huggingface');
  const file = expandPath(env.HF_TOKEN_PATH ?? join(expandPath(home, env), 'token'), env);
  try {
    return (await readFile(file, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Python's fnmatch (huggingface_hub's filter_repo_objects): `*` also crosses '/', a pattern
 *  ending in '/' means everything below it. */
export function globToRegExp(glob: string): RegExp {
  const g = glob.endsWith('/') ? glob + '*' : glob;
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = g.indexOf(']', i + 2);
      if (j < 0) {
        re += '\\[';
        continue;
      }
      let set = g.slice(i + 1, j).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = '^' + set.slice(1);
      re += `[${set}]`;
      i = j;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}
export function filterFiles(files: string[], include?: string[]): string[] {
  if (!include?.length) return files;
  const res = include.map(globToRegExp);
  return files.filter((f) => res.some((r) => r.test(f)));
}

/** What `ovis download` reports while it works (the CLI prints them on stderr). */
export type DownloadEvent =
  | { type: 'start'; repoId: string; revision: string; commit: string; files: number; bytes?: number; snapshot: string }
  | { type: 'file'; path: string; size?: number; status: 'cached' | 'linked' | 'downloading' }
  | { type: 'bytes'; path: string; fileDone: number; fileTotal?: number; done: number; total?: number }
  | { type: 'retry'; path: string; attempt: number; offset?: number; reason: string }
  | { type: 'done'; snapshot: string; downloaded: number; cached: number; bytes: number }
  | { type: 'note'; message: string };

export interface DownloadOptions {
  /** Branch, tag or full commit sha (default main). */
  revision?: string;
  /** The cache folder (default: HF_HUB_CACHE / HF_HOME rules, see hubCacheDir). */
  cacheDir?: string;
  /** fnmatch patterns (e.g. '*.json', 'sub/'): only matching files (default all). */
  include?: string[];
  /** Environment to read HF_* from (default process.env). */
  env?: Env;
  /** Overrides HF_ENDPOINT / HF_TOKEN / HF_HUB_OFFLINE. */
  endpoint?: string;
  token?: string;
  offline?: boolean;
  /** Seconds to wait for response headers (HF_HUB_ETAG_TIMEOUT, default 10) and for the next
   *  body chunk before a connection counts as stalled (HF_HUB_DOWNLOAD_TIMEOUT, default 10). */
  metadataTimeout?: number;
  stallTimeout?: number;
  /** Attempts after a failure that made no progress (default 5, as http_get), and the wait between (ms). */
  retries?: number;
  retryDelayMs?: number;
  onEvent?: (e: DownloadEvent) => void;
}

interface Sibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256?: string; size?: number };
}
interface FileMeta {
  etag: string;
  size?: number;
  commit?: string;
  location: string;
}

/** A failure worth retrying (a connection that failed or stalled, a 5xx), as opposed to a
 *  definite answer. `connect`: the server was never reached. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly connect = false,
  ) {
    super(message);
  }
}

function hostOf(u: string): string {
  try {
    return new URL(u).hostname.toLowerCase();
  } catch {
    return '';
  }
}
function normalizeEtag(e: string | null): string | undefined {
  return e ? e.replace(/^W\//, '').replace(/^"|"$/g, '') : undefined;
}
function intOrUndefined(v: string | null): number | undefined {
  const n = v === null ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
function describeFetchError(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timed out';
  const cause = err?.cause?.code ?? err?.cause?.message;
  return cause ? `${err.message} (${cause})` : String(err?.message ?? e);
}
/** Written atomically (tmp + rename) so a concurrent reader never sees half a ref. */
async function writeAtomic(p: string, text: string): Promise<void> {
  await mkdir(dirname(p), { recursive: true });
  const tmp = `${p}.${process.pid}.${Math.random().toString(16).slice(2, 10)}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, p);
}

class Hub {
  constructor(
    readonly endpoint: string,
    readonly token: string | undefined,
    readonly repoId: string,
    readonly revision: string,
    readonly metadataTimeoutMs: number,
  ) {}

  headers(url: string): Record<string, string> {
    const h: Record<string, string> = { 'User-Agent': 'ovis-ts', 'Accept-Encoding': 'identity' };
    // The token is for the Hub only: never sent to a CDN a redirect points at.
    if (this.token && hostOf(url) === hostOf(this.endpoint)) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  /** fetch with the header timeout; network failures become TransientError. */
  async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(this.metadataTimeoutMs) });
    } catch (e) {
      throw new TransientError(`cannot reach ${url}: ${describeFetchError(e)}`, true);
    }
  }

  /** The Hub's answer to a failed request as a typed error (hf_raise_for_status's cases). */
  httpError(res: Response, url: string, what: string): HubError {
    const code = res.headers.get('x-error-code') ?? undefined;
    const msg = res.headers.get('x-error-message');
    const page = `${this.endpoint}/${this.repoId}`;
    const tokenState = this.token ? 'a token is set (HF_TOKEN or the `hf auth login` file)' : 'no token is set';
    const at = `${what}: HTTP ${res.status} from ${url}${msg ? ` (${msg})` : ''}`;
    if (code === 'GatedRepo' || ((res.status === 401 || res.status === 403) && code !== 'RepoNotFound' && what.startsWith('file'))) {
      return new HubError(
        `${this.repoId} is gated: ${at}; ${tokenState}`,
        `accept the licence on ${page} while logged in, then set HF_TOKEN to a token of that account (https://huggingface.co/settings/tokens) and run the command again`,
        res.status,
        code,
      );
    }
    if (code === 'RepoNotFound' || (res.status === 401 && !code)) {
      return new HubError(
        `repository ${this.repoId} not found at ${this.endpoint}: ${at}; ${tokenState}`,
        `check the spelling (org/name as on ${page}); a private or gated repo needs HF_TOKEN set to a token with access`,
        res.status,
        code,
      );
    }
    if (code === 'RevisionNotFound') {
      return new HubError(
        `revision '${this.revision}' not found in ${this.repoId}: ${at}`,
        `use a branch, tag or full commit sha that exists on ${page}/tree/main (default: main)`,
        res.status,
        code,
      );
    }
    if (code === 'EntryNotFound') {
      return new HubError(
        `${at}: no such file in ${this.repoId}@${this.revision}`,
        `see the files on ${page}/tree/${this.revision}`,
        res.status,
        code,
      );
    }
    if (res.status === 403) {
      return new HubError(
        `${at}: forbidden; ${tokenState}`,
        `the token needs read access to ${this.repoId} (https://huggingface.co/settings/tokens)`,
        res.status,
        code,
      );
    }
    if (res.status >= 500 || res.status === 429) {
      return new HubError(
        `${at}: the Hub is failing or rate-limiting`,
        'try again later: `ovis download` resumes where it stopped',
        res.status,
        code,
      );
    }
    return new HubError(
      `${at}: unexpected answer`,
      `check HF_ENDPOINT (now ${this.endpoint}) points at a Hugging Face Hub`,
      res.status,
      code,
    );
  }

  /** model_info: the commit a revision names and its files. */
  async modelInfo(): Promise<{ sha: string; siblings: Sibling[] }> {
    const url = `${this.endpoint}/api/models/${this.repoId}/revision/${encodeURIComponent(this.revision)}?blobs=true`;
    const res = await this.fetch(url, { headers: { ...this.headers(url), Accept: 'application/json' } });
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel();
      throw new TransientError(this.httpError(res, url, 'model info').message);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.httpError(res, url, 'model info');
    }
    let info: { sha?: unknown; siblings?: unknown };
    try {
      info = await res.json();
    } catch (e) {
      throw new HubError(
        `model info from ${url}: not JSON (${(e as Error).message})`,
        `check HF_ENDPOINT (now ${this.endpoint}) points at a Hugging Face Hub`,
      );
    }
    if (typeof info.sha !== 'string' || !COMMIT_HASH.test(info.sha) || !Array.isArray(info.siblings)) {
      throw new HubError(
        `model info from ${url}: expected {sha: <40 hex>, siblings: [...]}, got sha=${JSON.stringify(info.sha)}`,
        `check HF_ENDPOINT (now ${this.endpoint}) points at a Hugging Face Hub`,
      );
    }
    return { sha: info.sha, siblings: info.siblings as Sibling[] };
  }

  /** get_hf_file_metadata: HEAD resolve/<sha>/<path>, following redirects that stay on the Hub
   *  host; a redirect elsewhere (the LFS CDN) or one carrying X-Linked-Etag is the answer. */
  async fileMetadata(sha: string, path: string): Promise<FileMeta> {
    let url = `${this.endpoint}/${this.repoId}/resolve/${sha}/${path.split('/').map(encodeURIComponent).join('/')}`;
    for (let hop = 0; hop < 20; hop++) {
      const res = await this.fetch(url, { method: 'HEAD', redirect: 'manual', headers: this.headers(url) });
      await res.body?.cancel();
      const loc = res.headers.get('location');
      const linkedEtag = res.headers.get('x-linked-etag');
      if (res.status >= 300 && res.status < 400 && loc) {
        const target = new URL(loc, url).href;
        if (!linkedEtag && hostOf(target) === hostOf(url)) {
          url = target;
          continue;
        }
        return this.meta(res, target, `file ${path}`);
      }
      if (res.status >= 500 || res.status === 429) throw new TransientError(this.httpError(res, url, `file ${path}`).message);
      if (!res.ok) throw this.httpError(res, url, `file ${path}`);
      return this.meta(res, url, `file ${path}`);
    }
    throw new HubError(`file ${path}: more than 20 redirects from ${url}`, `check HF_ENDPOINT (now ${this.endpoint})`);
  }

  private meta(res: Response, location: string, what: string): FileMeta {
    const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
    const commit = res.headers.get('x-repo-commit') ?? undefined;
    if (!etag)
      throw new HubError(
        `${what}: the answer from ${this.endpoint} has no ETag`,
        `check HF_ENDPOINT (now ${this.endpoint}) points at a Hugging Face Hub, not a proxy that strips headers`,
      );
    if (!commit)
      throw new HubError(
        `${what}: the answer has no X-Repo-Commit header, so it does not come from a Hugging Face Hub`,
        `check HF_ENDPOINT (now ${this.endpoint}), proxies and firewalls`,
      );
    if (/[\\/]|^\.\.?$/.test(etag))
      throw new HubError(`${what}: ETag ${JSON.stringify(etag)} cannot name a blob file`, `check HF_ENDPOINT (now ${this.endpoint})`);
    const isRedirect = res.status >= 300 && res.status < 400;
    const size =
      intOrUndefined(res.headers.get('x-linked-size')) ?? (isRedirect ? undefined : intOrUndefined(res.headers.get('content-length')));
    return { etag, size, commit, location };
  }
}

/** The snapshot folder for `repoId@revision` when the cache holds every file the commit's
 *  listing (trees/<sha>.json, when present) names; else a HubError saying what is missing. */
async function cachedComplete(
  storage: string,
  cacheDir: string,
  repoId: string,
  revision: string,
  include: string[] | undefined,
  why: string,
  hint: string,
): Promise<{ dir: string; checked: boolean }> {
  const sha = await commitForRevision(storage, revision);
  if (!sha)
    throw new HubError(`${why}, and ${repoId}@${revision} is not in the cache ${cacheDir} (no ${join(storage, 'refs', revision)})`, hint);
  const dir = join(storage, 'snapshots', sha);
  if (!(await exists(dir))) throw new HubError(`${why}, and the cache has no snapshot ${dir}`, hint);
  let listing: string[] | undefined;
  try {
    const tree = JSON.parse(await readFile(join(storage, 'trees', `${sha}.json`), 'utf8')) as {
      format_version?: number;
      files?: Record<string, unknown>;
    };
    if (tree.format_version === 1 && tree.files) listing = Object.keys(tree.files);
  } catch {
    /* no listing: like huggingface_hub, the folder is taken as it is */
  }
  if (listing) {
    const missing: string[] = [];
    for (const f of filterFiles(listing, include)) if (!(await exists(join(dir, f)))) missing.push(f);
    if (missing.length) {
      throw new HubError(
        `${why}, and the cached snapshot ${dir} lacks ${missing.length} file(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
        hint,
      );
    }
  }
  return { dir, checked: !!listing };
}

/** Make `pointer` a relative symlink to `blob` (copy where symlinks are refused, as huggingface_hub). */
async function linkPointer(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  try {
    await unlink(pointer);
  } catch {
    /* absent */
  }
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    await copyFile(blob, pointer);
  }
}

async function hashFile(p: string, h: Hash): Promise<void> {
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
}

/**
 * Download `repoId` at `revision` into the Hub cache; returns snapshots/<sha>/. Files already in
 * the snapshot are skipped, blobs shared with other revisions are linked, interrupted downloads
 * resume from blobs/<etag>.incomplete. With HF_HUB_OFFLINE=1 the network is never used: the cached
 * snapshot is returned if complete, else the error lists what is missing.
 */
export async function downloadSnapshot(repoId: string, opts: DownloadOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const revision = opts.revision ?? DEFAULT_REVISION;
  const problem = repoIdProblem(repoId);
  if (problem) throw new HubError(`ovis download: ${problem}`, 'e.g. `ovis download AIDC-AI/Ovis1.6-Llama3.2-3B`');
  if (!revision || revision.includes('..') || revision.startsWith('/'))
    throw new HubError(`ovis download: invalid revision '${revision}'`, 'a branch, tag or commit sha, e.g. main');
  const cacheDir = opts.cacheDir ?? hubCacheDir(env);
  const storage = join(cacheDir, repoFolderName(repoId));
  const say = opts.onEvent ?? (() => {});
  const cmd = `ovis download ${repoId}${revision === DEFAULT_REVISION ? '' : ` --revision ${revision}`}`;

  if (opts.offline ?? hubOffline(env)) {
    const { dir, checked } = await cachedComplete(
      storage,
      cacheDir,
      repoId,
      revision,
      opts.include,
      'offline mode (HF_HUB_OFFLINE=1) never touches the network',
      `unset HF_HUB_OFFLINE and run \`${cmd}\` while online`,
    );
    say({
      type: 'note',
      message: `offline: using the cached snapshot ${dir}${checked ? ' (complete)' : ' (no file listing in the cache to check it against)'}`,
    });
    return dir;
  }

  const endpoint = (opts.endpoint ?? hubEndpoint(env)).replace(/\/+$/, '');
  const token = opts.token ?? (await hubToken(env));
  const hub = new Hub(endpoint, token, repoId, revision, (opts.metadataTimeout ?? (Number(env.HF_HUB_ETAG_TIMEOUT) || 10)) * 1000);
  const stallMs = (opts.stallTimeout ?? (Number(env.HF_HUB_DOWNLOAD_TIMEOUT) || 10)) * 1000;
  const retries = opts.retries ?? 5;
  const retryDelayMs = opts.retryDelayMs ?? 1000;

  /** Run `f`, retrying transient failures (connection errors, stalls, 5xx) up to `retries` times. */
  async function withRetries<T>(what: string, f: () => Promise<T>, retryConnect = true): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await f();
      } catch (e) {
        if (!(e instanceof TransientError) || attempt >= retries || (e.connect && !retryConnect)) {
          if (e instanceof TransientError) {
            throw new HubError(
              `${what}: ${e.message} ${attempt ? ` (after ${attempt + 1} attempts)` : ''}`,
              `check the network and HF_ENDPOINT (now ${endpoint}); run \`${cmd}\` again later (it resumes), or use a cached model with HF_HUB_OFFLINE=1`,
            );
          }
          throw e;
        }
        say({ type: 'retry', path: what, attempt: attempt + 1, reason: e.message });
        await sleep(retryDelayMs);
      }
    }
  }

  let info: { sha: string; siblings: Sibling[] };
  try {
    // A Hub that cannot be reached at all is reported at once (as snapshot_download does): the
    // usual cause is no network or a wrong HF_ENDPOINT, which waiting does not fix.
    info = await withRetries(`model info of ${repoId}@${revision}`, () => hub.modelInfo(), false);
  } catch (e) {
    // As snapshot_download: when the Hub cannot be reached, a complete cached snapshot still serves.
    if (!(e instanceof HubError) || e.status !== undefined || !/cannot reach|timed out/.test(e.message)) throw e;
    try {
      const { dir } = await cachedComplete(storage, cacheDir, repoId, revision, opts.include, 'the Hub cannot be reached', e.hint ?? '');
      say({ type: 'note', message: `${e.message.split('\n')[0]}; using the cached snapshot ${dir}` });
      return dir;
    } catch {
      throw e;
    }
  }
  const { sha, siblings } = info;
  const snapshot = join(storage, 'snapshots', sha);
  const bad = siblings.find(
    (s) =>
      typeof s?.rfilename !== 'string' ||
      s.rfilename.split('/').some((p) => p === '..' || p === '.' || p === '') ||
      s.rfilename.includes('\\'),
  );
  if (bad)
    throw new HubError(
      `model info of ${repoId}: unsafe file name ${JSON.stringify(bad?.rfilename)}`,
      `check HF_ENDPOINT (now ${endpoint})`,
    );
  const wanted = new Set(
    filterFiles(
      siblings.map((s) => s.rfilename),
      opts.include,
    ),
  );
  const files = siblings.filter((s) => wanted.has(s.rfilename));
  if (opts.include?.length && files.length === 0) {
    throw new HubError(
      `--include ${opts.include.join(' ')} matches none of the ${siblings.length} files of ${repoId}@${revision}`,
      `the files are: ${siblings
        .slice(0, 8)
        .map((s) => s.rfilename)
        .join(', ')}${siblings.length > 8 ? ', …' : ''}`,
    );
  }

  await mkdir(join(storage, 'blobs'), { recursive: true });
  await mkdir(snapshot, { recursive: true });
  if (!(await exists(join(cacheDir, 'CACHEDIR.TAG')))) await writeFile(join(cacheDir, 'CACHEDIR.TAG'), CACHEDIR_TAG).catch(() => {});
  if (revision !== sha) {
    const ref = join(storage, 'refs', revision);
    const old = await readFile(ref, 'utf8').catch(() => undefined);
    if (old !== sha) await writeAtomic(ref, sha);
  }
  // The commit's listing, in huggingface_hub's trees/<sha>.json format: lets offline mode (ours and
  // snapshot_download(local_files_only=True)) tell a complete snapshot from an interrupted one.
  const treeFile = join(storage, 'trees', `${sha}.json`);
  if (siblings.every((s) => Number.isSafeInteger(s.size) && typeof s.blobId === 'string') && !(await exists(treeFile))) {
    const filesJson: Record<string, Record<string, unknown>> = {};
    for (const s of [...siblings].sort((a, b) => (a.rfilename < b.rfilename ? -1 : 1))) {
      filesJson[s.rfilename] = {
        size: s.size,
        blob_id: s.blobId,
        ...(s.lfs?.sha256 ? { lfs_sha256: s.lfs.sha256, lfs_size: s.lfs.size ?? s.size } : {}),
      };
    }
    await writeAtomic(treeFile, JSON.stringify({ format_version: 1, files: filesJson }, null, 1));
  }

  const known = files.every((s) => Number.isSafeInteger(s.size));
  const total = known ? files.reduce((a, s) => a + (s.size ?? 0), 0) : undefined;
  say({ type: 'start', repoId, revision, commit: sha, files: files.length, bytes: total, snapshot });
  let done = 0;
  let downloaded = 0;
  let cached = 0;
  for (const s of files) {
    const path = s.rfilename;
    const pointer = join(snapshot, ...path.split('/'));
    if (await exists(pointer)) {
      // stat follows the link: a dangling one is re-made below
      cached++;
      done += s.size ?? 0;
      say({ type: 'file', path, size: s.size, status: 'cached' });
      continue;
    }
    const meta = await withRetries(`file ${path}`, () => hub.fileMetadata(sha, path));
    if (meta.commit && meta.commit !== sha) {
      say({ type: 'note', message: `${path}: the Hub answered for commit ${meta.commit}, expected ${sha}` });
    }
    const expectedSha = s.lfs?.sha256;
    if (expectedSha && SHA256.test(meta.etag) && expectedSha !== meta.etag) {
      throw new HubError(
        `file ${path}: the file listing says sha256 ${expectedSha}, the file's ETag is ${meta.etag}`,
        `run \`${cmd}\` again; if it persists, the Hub is inconsistent`,
      );
    }
    const blob = join(storage, 'blobs', meta.etag);
    if (!(await exists(blob))) {
      say({ type: 'file', path, size: meta.size, status: 'downloading' });
      const base = done;
      await fetchBlob(meta, blob, path, (fileDone) =>
        say({ type: 'bytes', path, fileDone, fileTotal: meta.size, done: base + fileDone, total }),
      );
      downloaded++;
    } else {
      cached++;
      say({ type: 'file', path, size: meta.size, status: 'linked' });
    }
    done += meta.size ?? (await stat(blob)).size;
    await linkPointer(blob, pointer);
  }
  say({ type: 'done', snapshot, downloaded, cached, bytes: done });
  return snapshot;

  /** GET meta.location into blob.incomplete (resuming what is there), check size and sha256,
   *  then move it to `blob`. */
  async function fetchBlob(meta: FileMeta, blob: string, path: string, progress: (fileDone: number) => void): Promise<void> {
    const incomplete = `${blob}.incomplete`;
    // sha256 of the bytes in `incomplete` so far (LFS files only: their etag is the sha256).
    const st: HashState = { hash: undefined, hashed: -1, lfs: SHA256.test(meta.etag) };
    let noProgress = 0;
    for (let attempt = 1; ; attempt++) {
      let offset = (await stat(incomplete).catch(() => undefined))?.size ?? 0;
      if (meta.size !== undefined && offset > meta.size) {
        await rm(incomplete, { force: true });
        offset = 0;
      }
      if (st.lfs && st.hashed !== offset) {
        // (re)hash what an earlier run left, so the check covers every byte
        st.hash = createHash('sha256');
        if (offset) await hashFile(incomplete, st.hash);
        st.hashed = offset;
      }
      if (meta.size !== undefined && offset === meta.size) break;
      const before = offset;
      try {
        offset = await getInto(meta, incomplete, offset, st, progress);
        if (meta.size === undefined || offset === meta.size) break;
        throw new TransientError(`the body ended at ${offset} of ${meta.size} bytes`);
      } catch (e) {
        if (!(e instanceof TransientError)) throw e;
        const now = (await stat(incomplete).catch(() => undefined))?.size ?? 0;
        noProgress = now > before ? 0 : noProgress + 1;
        if (noProgress > retries) {
          throw new HubError(
            `file ${path}: download stopped at ${now} of ${meta.size ?? '?'} bytes: ${e.message}`,
            `run \`${cmd}\` again: it resumes from ${incomplete}`,
          );
        }
        say({ type: 'retry', path, attempt, offset: now, reason: e.message });
        await sleep(retryDelayMs);
      }
    }
    const size = (await stat(incomplete)).size;
    if (meta.size !== undefined && size !== meta.size) {
      await rm(incomplete, { force: true });
      throw new HubError(`file ${path}: got ${size} bytes, the Hub announced ${meta.size}`, `run \`${cmd}\` again`);
    }
    if (st.lfs && st.hash) {
      const got = st.hash.digest('hex');
      if (got !== meta.etag) {
        await rm(incomplete, { force: true }); // wrong bytes cannot be resumed from
        throw new HubError(
          `file ${path}: sha256 of the downloaded content is ${got}, expected ${meta.etag} (the file's LFS oid); the partial file was deleted`,
          `run \`${cmd}\` again; if it fails the same way, a proxy or mirror at ${endpoint} is altering the file`,
        );
      }
    }
    await rename(incomplete, blob);
  }

  /** One GET from `offset`, appended to `file`; returns the new size. Cut connections, stalls
   *  and 5xx throw TransientError (the caller resumes with Range); other HTTP errors HubError. */
  async function getInto(meta: FileMeta, file: string, offset: number, st: HashState, progress: (n: number) => void): Promise<number> {
    const ac = new AbortController();
    let timer = setTimeout(() => ac.abort(), stallMs);
    const headers = hub.headers(meta.location);
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    let res: Response | undefined;
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      try {
        res = await fetch(meta.location, { headers, signal: ac.signal });
      } catch (e) {
        throw new TransientError(ac.signal.aborted ? `no answer within ${stallMs / 1000} s` : describeFetchError(e));
      }
      if (res.status >= 500 || res.status === 429)
        throw new TransientError(hub.httpError(res, meta.location, `file ${meta.location}`).message);
      if (res.status === 416) {
        await rm(file, { force: true });
        throw new TransientError('the server refused the resume range (416); starting over');
      }
      if (!res.ok) throw hub.httpError(res, meta.location, `file ${meta.location}`);
      if (offset > 0 && res.status === 206) {
        const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
        if (!start || Number(start[1]) !== offset) {
          throw new TransientError(`the server answered the range from ${offset} with ${res.headers.get('content-range')}`);
        }
        fh = await open(file, 'a');
      } else {
        // 200 (also to a Range request, when a server ignores it): the whole file from byte 0.
        fh = await open(file, 'w');
        offset = 0;
        if (st.lfs) {
          st.hash = createHash('sha256');
          st.hashed = 0;
        }
      }
      const reader = res.body!.getReader();
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          throw new TransientError(ac.signal.aborted ? `stalled: no data for ${stallMs / 1000} s` : describeFetchError(e));
        }
        if (r.done) break;
        clearTimeout(timer);
        timer = setTimeout(() => ac.abort(), stallMs);
        await fh.write(r.value);
        st.hash?.update(r.value);
        offset += r.value.length;
        st.hashed = offset;
        progress(offset);
      }
      return offset;
    } finally {
      clearTimeout(timer);
      ac.abort(); // no-op after a complete body; frees the connection after a failure
      await fh?.close();
      if (res && !res.bodyUsed) await res.body?.cancel().catch(() => {});
    }
  }
}

interface HashState {
  hash: Hash | undefined;
  hashed: number;
  lfs: boolean;
}
