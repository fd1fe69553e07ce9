// Compatibility with huggingface_hub itself. (a) reference/fixtures/hf-cache/hub/ was filled by
// huggingface_hub's own snapshot_download (reference/hf_cache_compat.py --write-fixture, version
// in PROVENANCE.json): our resolver must find it by repo id and revision and read its files.
// (b) reference/hf_cache_compat.py --only b: huggingface_hub reads a cache `ovis download` made
// (runs when reference/.venv exists; `npm run reference:setup` creates it).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveModel } from '../../src/hub/cache.js';
import { SafetensorsFile } from '../../src/io/safetensors.js';

const ROOT = join(__dirname, '..', '..');
const FIX = join(ROOT, 'reference', 'fixtures', 'hf-cache');
const PY = join(ROOT, 'reference', '.venv', 'bin', 'python');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const FORMAT_VERSION = 1;

interface Provenance {
  format_version: number;
  huggingface_hub: string;
  repo: string;
  revisions: Record<string, string>;
  files: Record<string, string>;
}
const prov = JSON.parse(readFileSync(join(FIX, 'PROVENANCE.json'), 'utf8')) as Provenance;

describe('a cache made by huggingface_hub (committed fixture)', () => {
  it('has the format this test reads', () => {
    expect(prov.format_version, 'regenerate with: reference/.venv/bin/python reference/hf_cache_compat.py --write-fixture').toBe(
      FORMAT_VERSION,
    );
  });

  it(`resolves ${prov.repo} by repo id, @branch and @sha (HF_HOME and HF_HUB_CACHE), and reads its files`, async () => {
    const hubDir = join(FIX, 'hub');
    for (const [rev, sha] of Object.entries(prov.revisions)) {
      const want = join(hubDir, `models--${prov.repo.replace('/', '--')}`, 'snapshots', sha);
      const spec = rev === 'main' ? prov.repo : `${prov.repo}@${rev}`;
      expect(await resolveModel(spec, { env: { HF_HOME: FIX } })).toBe(want);
      expect(await resolveModel(`${prov.repo}@${sha}`, { env: { HF_HUB_CACHE: hubDir } })).toBe(want);
      for (const [file, sha256] of Object.entries(prov.files)) {
        expect(
          createHash('sha256')
            .update(readFileSync(join(want, file)))
            .digest('hex'),
          `${rev}: ${file}`,
        ).toBe(sha256);
      }
      const st = await SafetensorsFile.open(join(want, 'model.safetensors'));
      try {
        expect(st.tensors.get('w')?.shape).toEqual([2, 3]);
      } finally {
        await st.close();
      }
    }
  });
});

const why = !existsSync(PY)
  ? `no ${PY} (create it with \`npm run reference:setup\`)`
  : !existsSync(CLI)
    ? 'no dist/ (run `npm run build`)'
    : '';
describe('a cache made by `ovis download`, read by huggingface_hub', () => {
  it.skipIf(!!why)(`reference/hf_cache_compat.py --only b${why ? ` — skipped: ${why}` : ''}`, () => {
    const r = spawnSync(PY, [join(ROOT, 'reference', 'hf_cache_compat.py'), '--only', 'b'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/overall: OK/);
  });
});
