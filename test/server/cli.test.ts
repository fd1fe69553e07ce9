// `ovis serve` options through the built CLI: --help lists them with defaults; bad values are
// usage errors (exit 2) before any weight is read; a port in use says so.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const MODEL = join(ROOT, 'reference', 'fixtures', 'tiny', 'llama');
const ovis = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

describe.skipIf(!existsSync(CLI))('ovis serve (built CLI)', () => {
  it('--help lists every option with its default; `ovis --help` lists serve', () => {
    const r = ovis('serve', '--help');
    expect(r.status).toBe(0);
    for (const o of [
      '--model',
      '--host',
      '--port',
      '--api-key',
      '--max-queue',
      '--max-body-mb',
      '--backend',
      '--threads',
      '--max-new-tokens',
    ])
      expect(r.stdout).toContain(o);
    expect(r.stdout).toMatch(/--host HOST\s+[^\n]*\n\s+\(default: 127\.0\.0\.1\)/);
    expect(ovis('--help').stdout).toMatch(/serve\s+serve the model over HTTP/);
  });

  it('usage errors exit 2 before loading anything', () => {
    for (const args of [
      [],
      ['--model', MODEL, '--port', '70000'],
      ['--model', MODEL, '--max-queue', '-1'],
      ['--model', MODEL, '--api-key', ''],
      ['--model', MODEL, '--temperature', '0', '--top-k', '3'],
      ['--model', MODEL, '--prot', '1'],
    ]) {
      const r = ovis('serve', ...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^ovis serve: error \[USAGE\]/);
    }
    expect(ovis('serve', '--model', MODEL, '--prot', '1').stderr).toMatch(/did you mean --port\?/);
  });

  it('a port in use is a usage error naming it', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, [CLI, 'serve', '--model', MODEL, '--port', String(port), '-q'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`--port ${port}: the address 127\\.0\\.0\\.1:${port} is in use`));
    } finally {
      blocker.close();
    }
  });
});
