// `downloadSnapshot` against the fake Hub (test/hub/fake-hub.mjs): the cache layout huggingface_hub
// writes, resume with Range after a cut or a stall, sha256 rejection, gated repos, offline mode,
// the Hub's 4xx / 5xx answers. Every server is on 127.0.0.1 and closed in afterAll.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubError } from '../../src/errors.js';
import { resolveModel } from '../../src/hub/cache.js';
import { type DownloadEvent, type DownloadOptions, downloadSnapshot } from '../../src/hub/download.js';
// @ts-expect-error plain JS test helper, no declarations
import { gitBlobSha1, sha256, startFakeHub } from './fake-hub.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'ovis-hub-dl-'));
let hub: Awaited<ReturnType<typeof startFakeHub>>;
let n = 0;
/** A fresh cache folder per test. */
const freshCache = () => join(tmp, `cache${n++}`);

// A repo with a small file, a nested one, and a 300 KB "LFS" file (deterministic bytes).
const big = Buffer.alloc(300_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
const FILES: Record<string, Buffer> = {
  'config.json': Buffer.from('{"model_type": "ovis"}\n'),
  'sub/dir/notes.txt': Buffer.from('nested\n'),
  'model.safetensors': big,
};

beforeAll(async () => {
  const dir = join(tmp, 'repos', 'org', 'model');
  for (const [p, b] of Object.entries(FILES)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), b);
  }
  hub = await startFakeHub({
    repos: {
      'org/model': { dir, revisions: ['v1.0'] },
      'org/gated': { dir, gated: 'hf_good' },
    },
    aliases: { 'old/model': 'org/model' },
  });
});
afterAll(async () => {
  await hub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function opts(cacheDir: string, o: Partial<DownloadOptions> = {}): DownloadOptions {
  // env {}: nothing from the developer's shell (HF_TOKEN, HF_HUB_OFFLINE) leaks into the tests
  return { cacheDir, endpoint: hub.url, env: {}, retryDelayMs: 5, ...o };
}
async function hubError(p: Promise<unknown>): Promise<HubError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(HubError);
  return e as HubError;
}
const sha256hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('downloadSnapshot: cache layout', () => {
  it('writes refs, blobs named by etag, relative symlinks and the tree listing', async () => {
    const cache = freshCache();
    const events: DownloadEvent[] = [];
    const snap = await downloadSnapshot('org/model', opts(cache, { onEvent: (e) => events.push(e) }));
    const storage = join(cache, 'models--org--model');
    const sha = hub.commit('org/model');
    expect(snap).toBe(join(storage, 'snapshots', sha));
    expect(readFileSync(join(storage, 'refs', 'main'), 'utf8')).toBe(sha); // no newline, as huggingface_hub
    expect(readlinkSync(join(snap, 'config.json'))).toBe(`../../blobs/${gitBlobSha1(FILES['config.json'])}`);
    expect(readlinkSync(join(snap, 'sub/dir/notes.txt'))).toBe(`../../../../blobs/${gitBlobSha1(FILES['sub/dir/notes.txt'])}`);
    expect(readlinkSync(join(snap, 'model.safetensors'))).toBe(`../../blobs/${sha256(big)}`);
    for (const [p, b] of Object.entries(FILES)) expect(readFileSync(join(snap, p)).equals(b), p).toBe(true);
    expect(readdirSync(join(storage, 'blobs')).sort()).toEqual(
      Object.values(FILES)
        .map((b) => (b.length > 1000 ? sha256(b) : gitBlobSha1(b)))
        .sort(),
    );
    const tree = JSON.parse(readFileSync(join(storage, 'trees', `${sha}.json`), 'utf8'));
    expect(tree.format_version).toBe(1);
    expect(tree.files['model.safetensors']).toEqual({
      size: big.length,
      blob_id: expect.any(String),
      lfs_sha256: sha256(big),
      lfs_size: big.length,
    });
    expect(existsSync(join(cache, 'CACHEDIR.TAG'))).toBe(true);
    // the LFS file went through the CDN redirect; progress reported bytes up to the total
    expect(hub.log.some((r: { path: string }) => r.path.startsWith('/cdn/'))).toBe(true);
    const last = events.filter((e) => e.type === 'bytes').pop() as Extract<DownloadEvent, { type: 'bytes' }>;
    expect(last.done).toBe(last.total);
    expect(await resolveModel('org/model', { cacheDir: cache })).toBe(snap);

    // Again: every file is already in the snapshot -> no HEAD, no GET of a file.
    const before = hub.log.length;
    expect(await downloadSnapshot('org/model', opts(cache))).toBe(snap);
    expect(hub.log.slice(before).map((r: { method: string; path: string }) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/models/org/model/revision/main',
    ]);
  });

  it('a branch writes refs/<branch>; a sha writes no ref; shared blobs are linked, not fetched again', async () => {
    const cache = freshCache();
    await downloadSnapshot('org/model', opts(cache));
    const events: DownloadEvent[] = [];
    const snap = await downloadSnapshot('org/model', opts(cache, { revision: 'v1.0', onEvent: (e) => events.push(e) }));
    const storage = join(cache, 'models--org--model');
    expect(readFileSync(join(storage, 'refs', 'v1.0'), 'utf8')).toBe(hub.commit('org/model', 'v1.0'));
    expect(events.filter((e) => e.type === 'file').map((e) => (e as { status: string }).status)).toEqual(['linked', 'linked', 'linked']);
    expect(await resolveModel('org/model@v1.0', { cacheDir: cache })).toBe(snap);

    const cache2 = freshCache();
    const sha = hub.commit('org/model');
    expect(await downloadSnapshot('org/model', opts(cache2, { revision: sha }))).toBe(join(cache2, 'models--org--model', 'snapshots', sha));
    expect(existsSync(join(cache2, 'models--org--model', 'refs'))).toBe(false);
  });

  it('--include filters with fnmatch semantics (a trailing / means the folder)', async () => {
    const cache = freshCache();
    const snap = await downloadSnapshot('org/model', opts(cache, { include: ['*.json', 'sub/'] }));
    expect(existsSync(join(snap, 'config.json'))).toBe(true);
    expect(existsSync(join(snap, 'sub/dir/notes.txt'))).toBe(true);
    expect(existsSync(join(snap, 'model.safetensors'))).toBe(false);
    const e = await hubError(downloadSnapshot('org/model', opts(cache, { include: ['*.gguf'] })));
    expect(e.message).toMatch(/matches none of the 3 files/);
  });

  it("follows the Hub's relative redirect for a renamed repo", async () => {
    const cache = freshCache();
    // the API redirect is followed by fetch; the cache folder is named as asked (as huggingface_hub)
    const snap = await downloadSnapshot('old/model', opts(cache, { include: ['config.json'] }));
    expect(readFileSync(join(snap, 'config.json'), 'utf8')).toContain('ovis');
    expect(hub.log.some((r: { method: string; path: string }) => r.method === 'HEAD' && r.path.startsWith('/org/model/resolve/'))).toBe(
      true,
    );
  });
});

describe('downloadSnapshot: interruptions and integrity', () => {
  it('a cut connection resumes with Range: bytes=N- and the sha256 is right', async () => {
    const cache = freshCache();
    hub.cutOnce('model.safetensors', 100_000);
    const before = hub.log.length;
    const events: DownloadEvent[] = [];
    const snap = await downloadSnapshot('org/model', opts(cache, { onEvent: (e) => events.push(e) }));
    const gets = hub.log.slice(before).filter((r: { method: string; path: string }) => r.method === 'GET' && r.path.startsWith('/cdn/'));
    expect(gets.length).toBe(2);
    expect(gets[0].range).toBeUndefined();
    expect(gets[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(gets[1].range)![0])).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'retry')).toBe(true);
    expect(sha256hex(readFileSync(join(snap, 'model.safetensors')))).toBe(sha256(big));
  });

  it('gives up after the retries with a hint to run again (it resumes)', async () => {
    hub.cutOnce('model.safetensors', 0); // no byte: no progress, so no retry is left with retries 0
    const e = await hubError(downloadSnapshot('org/model', opts(freshCache(), { retries: 0 })));
    expect(e.message).toMatch(/model\.safetensors: download stopped at 0 of 300000 bytes/);
    expect(e.hint).toMatch(/run `ovis download org\/model` again: it resumes from .*blobs\/[0-9a-f]{64}\.incomplete/);
  });

  it('a run killed part-way leaves blobs/<etag>.incomplete; the next run resumes from it', async () => {
    const cache = freshCache();
    const blobs = join(cache, 'models--org--model', 'blobs');
    mkdirSync(blobs, { recursive: true });
    const incomplete = join(blobs, `${sha256(big)}.incomplete`);
    writeFileSync(incomplete, big.subarray(0, 123_457));
    const before = hub.log.length;
    const snap = await downloadSnapshot('org/model', opts(cache));
    const get = hub.log.slice(before).find((r: { method: string; path: string }) => r.method === 'GET' && r.path.startsWith('/cdn/'));
    expect(get.range).toBe('bytes=123457-');
    expect(existsSync(incomplete)).toBe(false);
    expect(sha256hex(readFileSync(join(snap, 'model.safetensors')))).toBe(sha256(big));
  });

  it('a stalled connection times out and resumes', async () => {
    const cache = freshCache();
    hub.stallOnce('model.safetensors', 50_000);
    const events: DownloadEvent[] = [];
    const snap = await downloadSnapshot('org/model', opts(cache, { stallTimeout: 0.3, onEvent: (e) => events.push(e) }));
    expect(events.some((e) => e.type === 'retry' && /stalled/.test(e.reason))).toBe(true);
    expect(sha256hex(readFileSync(join(snap, 'model.safetensors')))).toBe(sha256(big));
  });

  it('corrupted LFS content is rejected before the blob is committed', async () => {
    const cache = freshCache();
    hub.corrupt('model.safetensors');
    try {
      const e = await hubError(downloadSnapshot('org/model', opts(cache)));
      expect(e.message).toMatch(/model\.safetensors: sha256 of the downloaded content is [0-9a-f]{64}, expected [0-9a-f]{64}/);
      const blobs = join(cache, 'models--org--model', 'blobs');
      expect(readdirSync(blobs).filter((b) => b.startsWith(sha256(big)))).toEqual([]); // neither blob nor .incomplete
      expect(existsSync(join(cache, 'models--org--model', 'snapshots', hub.commit('org/model'), 'model.safetensors'))).toBe(false);
    } finally {
      hub.corrupt('model.safetensors', false);
    }
  });
});

describe("downloadSnapshot: the Hub's refusals", () => {
  it('gated: 401 without a token, 403 with a wrong one (hint: HF_TOKEN + licence), OK with the right one', async () => {
    const cache = freshCache();
    const e1 = await hubError(downloadSnapshot('org/gated', opts(cache)));
    expect([e1.status, e1.hubCode]).toEqual([401, 'GatedRepo']);
    expect(e1.message).toMatch(/org\/gated is gated.*no token is set/s);
    expect(e1.hint).toMatch(/accept the licence on .*org\/gated.*HF_TOKEN/);
    const e2 = await hubError(downloadSnapshot('org/gated', opts(cache, { env: { HF_TOKEN: 'hf_wrong' } })));
    expect([e2.status, e2.hubCode]).toEqual([403, 'GatedRepo']);
    const snap = await downloadSnapshot('org/gated', opts(cache, { env: { HF_TOKEN: 'hf_good' } }));
    expect(readFileSync(join(snap, 'config.json')).equals(FILES['config.json'])).toBe(true);
    expect(hub.log.filter((r: { auth?: string }) => r.auth === 'Bearer hf_good').length).toBeGreaterThan(0);
  });

  it('a token file written by `hf auth login` ($HF_HOME/token) is used too', async () => {
    const home = join(tmp, 'hf-home');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'token'), 'hf_good\n');
    const snap = await downloadSnapshot('org/gated', opts(freshCache(), { env: { HF_HOME: home }, include: ['config.json'] }));
    expect(existsSync(join(snap, 'config.json'))).toBe(true);
  });

  it('404s: repo (401 anonymous / 404 with a token), revision', async () => {
    const cache = freshCache();
    const e1 = await hubError(downloadSnapshot('org/missing', opts(cache)));
    expect([e1.status, e1.hubCode]).toEqual([401, 'RepoNotFound']);
    expect(e1.message).toMatch(/repository org\/missing not found/);
    const e2 = await hubError(downloadSnapshot('org/missing', opts(cache, { token: 'hf_any' })));
    expect([e2.status, e2.hubCode]).toEqual([404, 'RepoNotFound']);
    const e3 = await hubError(downloadSnapshot('org/model', opts(cache, { revision: 'nope' })));
    expect([e3.status, e3.hubCode]).toEqual([404, 'RevisionNotFound']);
    expect(e3.message).toMatch(/revision 'nope' not found in org\/model/);
  });

  it('5xx: retried, then a typed error; a refused connection: at once, naming the endpoint', async () => {
    const cache = freshCache();
    hub.failNext(503);
    expect(existsSync(join(await downloadSnapshot('org/model', opts(cache, { include: ['config.json'] })), 'config.json'))).toBe(true);
    hub.failNext(503, 503, 503);
    const e = await hubError(downloadSnapshot('org/model', opts(freshCache(), { retries: 2 })));
    expect(e.message).toMatch(/HTTP 503.*after 3 attempts/s);
    expect(e.hint).toMatch(/again later/);
    const e2 = await hubError(downloadSnapshot('org/model', opts(freshCache(), { endpoint: 'http://127.0.0.1:9' })));
    expect(e2.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9\/api\/models\/org\/model/);
    expect(e2.hint).toMatch(/HF_ENDPOINT/);
  });
});

describe('downloadSnapshot: offline (HF_HUB_OFFLINE=1)', () => {
  it('never touches the network; serves a complete snapshot; lists what is missing otherwise', async () => {
    const cache = freshCache();
    const before = hub.log.length;
    const e = await hubError(downloadSnapshot('org/model', opts(cache, { env: { HF_HUB_OFFLINE: '1' } })));
    expect(e.message).toMatch(/offline mode.*not in the cache/s);
    expect(e.hint).toMatch(/unset HF_HUB_OFFLINE and run `ovis download org\/model`/);

    const snap = await downloadSnapshot('org/model', opts(cache, { include: ['*.json'] }));
    const mark = hub.log.length;
    expect(await downloadSnapshot('org/model', opts(cache, { env: { HF_HUB_OFFLINE: 'true' }, include: ['*.json'] }))).toBe(snap);
    const e2 = await hubError(downloadSnapshot('org/model', opts(cache, { env: { HF_HUB_OFFLINE: '1' } })));
    expect(e2.message).toMatch(/lacks 2 file\(s\): model\.safetensors, sub\/dir\/notes\.txt/);
    expect(hub.log.length).toBe(mark);
    expect(before).toBeLessThan(mark);
  });
});
