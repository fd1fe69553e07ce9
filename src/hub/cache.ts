// `--model` resolution: a folder, or a Hugging Face repo id looked up in the cache layout that
// huggingface_hub writes, so a model downloaded by Python (snapshot_download, `hf download`,
// `huggingface-cli download`) is used in place, without copying. Mirrors huggingface_hub's
// constants.py (cache folder, env precedence) and file_download.py (refs/, snapshots/, blobs/).
//
// Layout (one folder per repo; files are stored once per content, snapshots are symlink trees):
//   <cache>/models--<org>--<name>/
//     refs/<revision>                 the commit sha a branch / tag resolved to (text, no newline)
//     snapshots/<sha>/<path>          -> ../../blobs/<etag> (relative symlink; nested paths add ../)
//     blobs/<etag>                    file content; etag = sha256 (LFS files) or git blob sha1
//     blobs/<etag>.incomplete         a download in progress (resumed with an HTTP Range request)
//     trees/<sha>.json                the commit's file listing (huggingface_hub >= 1.x), when known

import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { HubError } from '../errors.js';

export type Env = Record<string, string | undefined>;

export const DEFAULT_REVISION = 'main';
/** A full commit hash (huggingface_hub's REGEX_COMMIT_HASH): names a snapshot directly. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** huggingface_hub's REPO_ID_REGEX (ASCII \w, - and .; optional namespace; <= 96 chars each). */
const REPO_ID = /^(?:[A-Za-z0-9_.-]{1,96}\/)?[A-Za-z0-9_.-]{1,96}$/;

/** Python's os.path.expanduser + os.path.expandvars ($VAR and ${VAR}; unknown ones stay as is). */
export function expandPath(p: string, env: Env = process.env): string {
  const home = env.HOME || homedir();
  let s = p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
  s = s.replace(/\$(\w+)|\$\{([^}]+)\}/g, (m, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? m);
  return s;
}

/** The Hub cache folder, with huggingface_hub's precedence: HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE
 *  (legacy) > $HF_HOME/hub > $XDG_CACHE_HOME/huggingface/hub > ~/.cache/huggingface/hub. */
export function hubCacheDir(env: Env = process.env): string {
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(env.HOME || homedir(), '.cache'), 'huggingface');
  const cache = env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(expandPath(home, env), 'hub');
  return resolve(expandPath(cache, env));
}

/** huggingface_hub's repo_folder_name: `models--org--name`. */
export function repoFolderName(repoId: string): string {
  return ['models', ...repoId.split('/')].join('--');
}

/** Why `repoId` is not a valid Hub repo id (huggingface_hub's validate_repo_id), or undefined. */
export function repoIdProblem(repoId: string): string | undefined {
  if (repoId.split('/').length > 2) return `a repo id is 'name' or 'org/name', got '${repoId}'`;
  if (!REPO_ID.test(repoId)) return `a repo id uses only letters, digits, '-', '_' and '.', got '${repoId}'`;
  if (/(^|\/)[-.]|[-.](\/|$)/.test(repoId)) return `a repo id part cannot start or end with '-' or '.', got '${repoId}'`;
  if (repoId.includes('--') || repoId.includes('..')) return `a repo id cannot contain '--' or '..', got '${repoId}'`;
  if (repoId.endsWith('.git')) return `a repo id cannot end with '.git', got '${repoId}'`;
  return undefined;
}

/** `org/name[@revision]` -> parts, or undefined when `spec` is not shaped like a repo id. */
export function parseRepoSpec(spec: string): { repoId: string; revision: string } | undefined {
  const at = spec.indexOf('@');
  const repoId = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : spec.slice(at + 1);
  if (!repoId.includes('/') || repoIdProblem(repoId) || revision === '') return undefined;
  return { repoId, revision };
}

/** True when `spec` can only be a file-system path: absolute, ./ ../ ~, backslashes, a drive
 *  letter, a trailing slash, or more than one slash (a repo id has at most one). */
export function looksLikePath(spec: string): boolean {
  return (
    isAbsolute(spec) ||
    /^(\.{1,2}|~)([\\/]|$)/.test(spec) ||
    spec.includes('\\') ||
    /^[A-Za-z]:/.test(spec) ||
    spec.endsWith('/') ||
    spec.split('/').length > 2
  );
}

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch {
    return undefined;
  }
}

async function readRef(storage: string, revision: string): Promise<string | undefined> {
  try {
    return (await readFile(join(storage, 'refs', revision), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function listDir(p: string): Promise<string[]> {
  try {
    return (await readdir(p)).sort();
  } catch {
    return [];
  }
}

/** The commit a revision names in a repo's storage folder: itself for a full sha, else refs/<rev>. */
export async function commitForRevision(storage: string, revision: string): Promise<string | undefined> {
  return COMMIT_HASH.test(revision) ? revision : readRef(storage, revision);
}

export interface ResolveOptions {
  /** The Hub cache folder (default: hubCacheDir(env)). */
  cacheDir?: string;
  env?: Env;
  /** Files a resolved snapshot must contain (default ['config.json']: an Ovis checkpoint). */
  require?: string[];
}

/**
 * `--model` -> a directory. In order: an existing folder is itself (a `models--org--name` cache
 * folder gives its refs/main snapshot); a path-shaped spec that does not exist is an error (not
 * a repo id); `org/name[@revision]` is looked up in the Hub cache. Never touches the network.
 */
export async function resolveModel(spec: string, opts: ResolveOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const require = opts.require ?? ['config.json'];
  const asPath = resolve(expandPath(spec, env));
  const st = await statOrUndefined(asPath);
  if (st?.isDirectory()) {
    if (/^models--/.test(basename(asPath)) && (await statOrUndefined(join(asPath, 'snapshots')))?.isDirectory()) {
      return cacheFolderSnapshot(asPath, require);
    }
    return asPath;
  }
  if (st)
    throw new HubError(
      `--model ${spec}: ${asPath} is a file, expected a checkpoint folder or a repo id`,
      'pass the folder that holds config.json and the *.safetensors files',
    );
  if (spec.startsWith('~') || looksLikePath(spec) || !spec.includes('/')) {
    throw new HubError(
      `no such folder: ${asPath}`,
      `check the path; a Hugging Face repo id is written org/name[@revision], e.g. AIDC-AI/Ovis1.6-Llama3.2-3B, and is found with \`ovis download org/name\``,
    );
  }
  const parsed = parseRepoSpec(spec);
  if (!parsed) {
    const repoId = spec.split('@')[0];
    throw new HubError(
      `--model ${spec}: neither an existing folder nor a repo id: ${repoIdProblem(repoId) ?? 'empty revision after @'}`,
      'pass a checkpoint folder, or a repo id org/name[@revision] such as AIDC-AI/Ovis1.6-Llama3.2-3B',
    );
  }
  return cachedSnapshot(parsed.repoId, parsed.revision, { ...opts, env, require });
}

/** A `models--org--name` folder given as a path: its refs/main snapshot, or its only snapshot. */
async function cacheFolderSnapshot(storage: string, require: string[]): Promise<string> {
  const sha = await readRef(storage, DEFAULT_REVISION);
  const snaps = await listDir(join(storage, 'snapshots'));
  const pick = sha ?? (snaps.length === 1 ? snaps[0] : undefined);
  if (!pick) {
    throw new HubError(
      `${storage}: no refs/main and ${snaps.length} snapshots (${snaps.join(', ') || 'none'})`,
      `pass one snapshot folder, e.g. ${join(storage, 'snapshots', snaps[0] ?? '<sha>')}`,
    );
  }
  return checkSnapshot(join(storage, 'snapshots', pick), `${storage} (refs/main = ${pick})`, require, `ovis download <org>/<name>`);
}

/** `repoId@revision` in the cache -> its snapshot folder, or a HubError saying where it looked. */
export async function cachedSnapshot(repoId: string, revision = DEFAULT_REVISION, opts: ResolveOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const cacheDir = opts.cacheDir ?? hubCacheDir(env);
  const storage = join(cacheDir, repoFolderName(repoId));
  const rev = revision === DEFAULT_REVISION ? '' : ` --revision ${revision}`;
  const cmd = `ovis download ${repoId}${rev}`;
  const hint =
    `run \`${cmd}\` (it fills this cache; so do \`hf download ${repoId}${rev}\` and \`huggingface-cli download\`), ` +
    `or set HF_HUB_CACHE / HF_HOME to the cache that holds it`;
  const where = `${repoId}@${revision}`;
  if (!(await statOrUndefined(storage))?.isDirectory()) {
    throw new HubError(`${where} is not in the Hugging Face cache: no ${storage} (cache dir ${cacheDir})`, hint);
  }
  const sha = await commitForRevision(storage, revision);
  if (!sha) {
    const refs = await listDir(join(storage, 'refs'));
    throw new HubError(`${where}: the cache has no refs/${revision} in ${storage} (refs there: ${refs.join(', ') || 'none'})`, hint);
  }
  return checkSnapshot(join(storage, 'snapshots', sha), `${where} (commit ${sha})`, opts.require ?? ['config.json'], cmd);
}

async function checkSnapshot(dir: string, what: string, require: string[], cmd: string): Promise<string> {
  if (!(await statOrUndefined(dir))?.isDirectory()) {
    throw new HubError(`${what}: no snapshot folder ${dir}`, `run \`${cmd}\``);
  }
  // stat follows the symlink: a link whose blob is missing counts as missing.
  const missing: string[] = [];
  for (const f of require) if (!(await statOrUndefined(join(dir, f)))?.isFile()) missing.push(f);
  if (missing.length) {
    throw new HubError(
      `${what}: the snapshot ${dir} lacks ${missing.join(', ')} (an interrupted or filtered download?)`,
      `run \`${cmd}\` to complete it`,
    );
  }
  return dir;
}
