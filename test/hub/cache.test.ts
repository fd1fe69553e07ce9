// `--model` resolution (src/hub/cache.ts): folders, cache folders, path-shaped specs, repo ids
// with revisions, and the cache-folder environment precedence of huggingface_hub's constants.py.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HubError } from '../../src/errors.js';
import { hubCacheDir, looksLikePath, parseRepoSpec, repoFolderName, resolveModel } from '../../src/hub/cache.js';

const tmp = mkdtempSync(join(tmpdir(), 'ovis-hub-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SHA_MAIN = 'a'.repeat(40);
const SHA_V1 = 'b'.repeat(40);

/** A cache with org/model at two commits: refs/main -> SHA_MAIN, refs/v1 -> SHA_V1. */
function makeCache(cache: string): string {
  const storage = join(cache, 'models--org--model');
  mkdirSync(join(storage, 'refs'), { recursive: true });
  mkdirSync(join(storage, 'blobs'), { recursive: true });
  writeFileSync(join(storage, 'refs', 'main'), SHA_MAIN);
  writeFileSync(join(storage, 'refs', 'v1'), SHA_V1);
  writeFileSync(join(storage, 'blobs', 'c'.repeat(40)), '{}');
  for (const sha of [SHA_MAIN, SHA_V1]) {
    mkdirSync(join(storage, 'snapshots', sha), { recursive: true });
    symlinkSync(join('..', '..', 'blobs', 'c'.repeat(40)), join(storage, 'snapshots', sha, 'config.json'));
  }
  return storage;
}

async function hubError(p: Promise<unknown>): Promise<HubError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(HubError);
  return e as HubError;
}

describe('hubCacheDir: huggingface_hub precedence', () => {
  it('HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > HF_HOME/hub > XDG_CACHE_HOME/huggingface/hub > ~/.cache/huggingface/hub', () => {
    const all = { HF_HUB_CACHE: '/a', HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c', XDG_CACHE_HOME: '/d', HOME: '/home/u' };
    expect(hubCacheDir(all)).toBe('/a');
    expect(hubCacheDir({ ...all, HF_HUB_CACHE: undefined })).toBe('/b');
    expect(hubCacheDir({ ...all, HF_HUB_CACHE: undefined, HUGGINGFACE_HUB_CACHE: undefined })).toBe('/c/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/d', HOME: '/home/u' })).toBe('/d/huggingface/hub');
    expect(hubCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/huggingface/hub');
    expect(hubCacheDir({})).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
  });
  it('expands ~ and $VARS like os.path.expanduser / expandvars', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '~/hf', HOME: '/home/u' })).toBe('/home/u/hf');
    expect(hubCacheDir({ HF_HOME: '$BASE/x', BASE: '/srv', HOME: '/h' })).toBe('/srv/x/hub');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} must not be expanded
    expect(hubCacheDir({ HF_HUB_CACHE: '/${NOPE}/y', HOME: '/h' })).toBe('/${NOPE}/y');
  });
});

describe('repo specs', () => {
  it('parses org/name[@rev] and names the cache folder', () => {
    expect(parseRepoSpec('AIDC-AI/Ovis1.6-Llama3.2-3B')).toEqual({ repoId: 'AIDC-AI/Ovis1.6-Llama3.2-3B', revision: 'main' });
    expect(parseRepoSpec('AIDC-AI/Ovis1.6-Llama3.2-3B@' + SHA_V1)).toEqual({ repoId: 'AIDC-AI/Ovis1.6-Llama3.2-3B', revision: SHA_V1 });
    expect(parseRepoSpec('a/b@')).toBeUndefined();
    expect(parseRepoSpec('a--x/b')).toBeUndefined();
    expect(parseRepoSpec('-a/b')).toBeUndefined();
    expect(repoFolderName('AIDC-AI/Ovis1.6-Llama3.2-3B')).toBe('models--AIDC-AI--Ovis1.6-Llama3.2-3B');
  });
  it('tells paths from repo ids', () => {
    for (const p of ['/abs/x', './x', '../x', '~/x', 'a/b/c', 'a/b/', 'C:\\m', '.']) expect(looksLikePath(p), p).toBe(true);
    for (const r of ['org/name', 'org/name@v1']) expect(looksLikePath(r), r).toBe(false);
  });
});

describe('resolveModel', () => {
  const cache = join(tmp, 'hub');
  const storage = makeCache(cache);
  const env = { HF_HUB_CACHE: cache, HOME: tmp };

  it('an existing folder is itself', async () => {
    const d = join(tmp, 'plain');
    mkdirSync(d);
    expect(await resolveModel(d, { env })).toBe(d);
  });
  it('a models--org--name folder gives its refs/main snapshot', async () => {
    expect(await resolveModel(storage, { env })).toBe(join(storage, 'snapshots', SHA_MAIN));
  });
  it('a repo id: refs/main, @branch through refs/, @sha directly', async () => {
    expect(await resolveModel('org/model', { env })).toBe(join(storage, 'snapshots', SHA_MAIN));
    expect(await resolveModel('org/model@v1', { env })).toBe(join(storage, 'snapshots', SHA_V1));
    expect(await resolveModel(`org/model@${SHA_V1}`, { env })).toBe(join(storage, 'snapshots', SHA_V1));
    expect(await resolveModel('org/model', { cacheDir: cache, env: {} })).toBe(join(storage, 'snapshots', SHA_MAIN));
  });
  it('HF_HOME is used when HF_HUB_CACHE is unset', async () => {
    expect(await resolveModel('org/model', { env: { HF_HOME: tmp, HOME: '/nonexistent' } })).toBe(join(storage, 'snapshots', SHA_MAIN));
  });
  it('a missing path-shaped spec: "no such folder", not a vague checkpoint error', async () => {
    for (const spec of ['./nope', '/definitely/not/here', 'a/b/c', 'nofolder']) {
      const e = await hubError(resolveModel(spec, { env }));
      expect(e.message, spec).toMatch(/^no such folder: /);
      expect(e.message).toContain(spec.replace(/^\.\//, ''));
      expect(e.hint).toMatch(/org\/name/);
    }
  });
  it('a repo not in the cache: names the cache dir and `ovis download`', async () => {
    const e = await hubError(resolveModel('org/other@v2', { env }));
    expect(e.message).toContain(cache);
    expect(e.message).toContain('org/other@v2');
    expect(e.hint).toContain('ovis download org/other --revision v2');
    expect(e.hint).toContain('huggingface-cli download');
    expect(e.code).toBe('HUB');
  });
  it('an unknown revision, and a snapshot without config.json', async () => {
    const e = await hubError(resolveModel('org/model@v9', { env }));
    expect(e.message).toMatch(/no refs\/v9.*refs there: main, v1/);
    rmSync(join(storage, 'blobs', 'c'.repeat(40)));
    const e2 = await hubError(resolveModel('org/model', { env }));
    expect(e2.message).toMatch(/lacks config\.json/);
    expect(e2.hint).toContain('ovis download org/model');
    writeFileSync(join(storage, 'blobs', 'c'.repeat(40)), '{}');
  });
});
