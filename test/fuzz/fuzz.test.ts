// CI slice of the fuzz suite (fuzz/run.mjs): every target on a small fixed seed, zero failures.
// Needs `npm run build` (the harness imports dist/). Failing cases land in fuzz/out/ with a replay
// command; the assertion message lists each one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SEED = '20240612';
const CASES = 150;

describe('fuzz suite (CI slice)', () => {
  it(`seed ${SEED}, ${CASES} cases per target: no UNTYPED / HANG / OVER-BUDGET / GARBAGE`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovis-fuzz-ci-'));
    const json = join(dir, 'summary.json');
    try {
      const r = spawnSync(process.execPath, ['fuzz/run.mjs', '--seed', SEED, '--cases', String(CASES), '--json', json, '--quiet'], {
        encoding: 'utf8',
        timeout: 600_000,
      });
      expect(r.status === 0 || r.status === 1, `harness did not run: exit ${r.status}\n${r.stderr}`).toBe(true);
      const summary = JSON.parse(readFileSync(json, 'utf8')) as {
        targets: Record<
          string,
          { counts: { cases: number }; failures: { index: number; outcome: string; message?: string; recipe?: string }[] }
        >;
      };
      const failures = Object.entries(summary.targets).flatMap(([t, s]) =>
        s.failures.map(
          (f) =>
            `${t} case ${f.index}: ${f.outcome}: ${f.message ?? ''}\n    recipe: ${f.recipe ?? ''}\n    replay: node fuzz/run.mjs --target ${t} --seed ${SEED} --replay ${f.index}`,
        ),
      );
      for (const [t, s] of Object.entries(summary.targets)) expect(s.counts.cases, t).toBe(CASES);
      expect(failures, `${r.stdout}\n${failures.join('\n')}`).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
