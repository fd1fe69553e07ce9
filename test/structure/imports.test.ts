// The layer order of scripts/check-imports.mjs holds for src/, and the check catches an import
// that runs up (so a passing run means something).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, violations } from '../../scripts/check-imports.mjs';

describe('imports run downhill', () => {
  it('src/ has no import from a lower layer to a higher one', () => {
    const src = join(__dirname, '..', '..', 'src');
    expect(importsOf(src).length).toBeGreaterThan(300);
    expect(violations(src).map((v: { from: string; line: number; why: string }) => `src/${v.from}:${v.line} ${v.why}`)).toEqual([]);
  });

  it('flags an upward import, a folder pair importing each other, and a unit with no layer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovis-imports-'));
    try {
      for (const d of ['model', 'generate', 'io', 'config', 'mystery']) mkdirSync(join(dir, d));
      writeFileSync(join(dir, 'model', 'ovis.ts'), "import { generate } from '../generate/generate.js';\n");
      writeFileSync(
        join(dir, 'generate', 'generate.ts'),
        "import type { CausalLM } from '../model/causal-lm.js';\nexport const generate = 1;\n",
      );
      writeFileSync(join(dir, 'io', 'checkpoint.ts'), "\n\nexport { parse } from '../config/ovis-config.js';\n");
      writeFileSync(join(dir, 'config', 'ovis-config.ts'), "import { readJson } from '../io/json.js';\n");
      writeFileSync(join(dir, 'mystery', 'x.ts'), "import { a } from '../io/json.js';\n");
      const bad = violations(dir)
        .map((v: { from: string; line: number }) => `${v.from}:${v.line}`)
        .sort();
      expect(bad).toEqual(['io/checkpoint.ts:3', 'model/ovis.ts:1', 'mystery/x.ts:1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
