// The model commands end to end through the built CLI (dist/, made by `npm test`'s build step):
// `ovis run` on the embedded checkpoint, `ovis trace` (its file holds the reference dump's stages
// with equal values), `ovis parity` exit codes, and usage errors.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../src/io/safetensors.js';
import { compare } from '../../src/trace/metrics.js';
import { evaluate } from '../../src/trace/tolerances.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const FIX = join(ROOT, 'reference', 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'ovis-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ovis(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
}

describe.skipIf(!existsSync(CLI))('ovis model commands (built CLI)', () => {
  it('run: the embedded checkpoint answers, progress goes to stderr', () => {
    const r = ovis(
      'run',
      '--backend',
      'ts',
      '--image',
      join(FIX, 'images', 'square.png'),
      '--prompt',
      'What is in this picture?',
      '--max-new-tokens',
      '4',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/embedded tiny checkpoint/);
    expect(r.stderr).toMatch(/crop\(s\) encoded/);
    expect(r.stderr).toMatch(/tokens\/s/);
  });

  it('trace: writes every stage of the reference dump, within tolerance of it', async () => {
    const out = join(tmp, 'square.safetensors');
    const r = ovis(
      'trace',
      '--backend',
      'ts',
      '-q',
      '--model',
      join(FIX, 'tiny', 'llama'),
      '--image',
      join(FIX, 'images', 'square.png'),
      '--prompt',
      JSON.parse(readFileSync(join(FIX, 'dumps', 'llama', 'square__f32.json'), 'utf8')).user_prompt,
      '--max-partition',
      '9',
      '--max-new-tokens',
      '20',
      '--out',
      out,
    );
    expect(r.status, r.stderr).toBe(0);
    const ours = await SafetensorsFile.open(out);
    const ref = await SafetensorsFile.open(join(FIX, 'dumps', 'llama', 'square__f32.safetensors'));
    for (const [name, info] of ref.tensors) {
      expect(ours.tensors.has(name), name).toBe(true);
      if (info.dtype !== 'F32') continue;
      const m = compare(
        name,
        { shape: ours.tensors.get(name)!.shape, data: await ours.readF32(name) },
        { shape: info.shape, data: await ref.readF32(name) },
      );
      expect(evaluate(m).verdict, name).toBe('OK');
    }
    const ids = (f: SafetensorsFile) => f.read('generated_ids').then((t) => Array.from(t.data as BigInt64Array, Number));
    expect(await ids(ours)).toEqual(await ids(ref));
    await ours.close();
    await ref.close();
    expect(JSON.parse(readFileSync(join(tmp, 'square.json'), 'utf8')).grids).toEqual([[1, 1]]);
  });

  it('parity: exit 0 within tolerance, 1 past it', () => {
    const ok = ovis(
      'parity',
      '--backend',
      'ts',
      '-q',
      '--model',
      join(FIX, 'tiny', 'llama'),
      '--reference',
      join(FIX, 'dumps', 'llama', 'square__f32.safetensors'),
    );
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/overall: (\d+)\/\1 OK/);
    // a bf16-compute dump judged with the f32 table: ~1e-2 errors -> NOT OK, exit 1
    const bad = ovis(
      'parity',
      '--backend',
      'ts',
      '-q',
      '--mode',
      'f32',
      '--model',
      join(FIX, 'tiny', 'llama'),
      '--reference',
      join(FIX, 'dumps', 'llama', 'square__bf16.safetensors'),
    );
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/NOT OK/);
    // the gemma2 checkpoint against a llama dump: a clear error, exit 1
    const wrong = ovis(
      'parity',
      '--backend',
      'ts',
      '-q',
      '--model',
      join(FIX, 'tiny', 'gemma2'),
      '--reference',
      join(FIX, 'dumps', 'llama', 'text_only__f32.safetensors'),
    );
    expect(wrong.status).toBe(1);
    expect(wrong.stdout + wrong.stderr).toMatch(/NOT OK|out of range/);
  });

  it('--kernels relaxed: parity within the f32 tolerances where the engine allows it, else a typed error', () => {
    const args = [
      'parity',
      '-q',
      '--threads',
      '2',
      '--kernels',
      'relaxed',
      '--model',
      join(FIX, 'tiny', 'llama'),
      '--reference',
      join(FIX, 'dumps', 'llama', 'square__f32.safetensors'),
    ];
    const flagged = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', CLI, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(flagged.status, flagged.stdout + flagged.stderr).toBe(0);
    expect(flagged.stdout).toMatch(/overall: (\d+)\/\1 OK/);
    const plain = ovis(...args);
    if (plain.status === 0)
      expect(plain.stdout).toMatch(/overall: (\d+)\/\1 OK/); // an engine that validates relaxed SIMD unflagged
    else {
      expect(plain.status).toBe(1);
      expect(plain.stderr).toMatch(/relaxed SIMD needs/);
    }
    expect(ovis('run', '--backend', 'ts', '--kernels', 'relaxed', '--prompt', 'x').status).toBe(2);
    expect(ovis('run', '--kernels', 'fast', '--prompt', 'x').status).toBe(2);
  });

  it('usage errors exit 2 with a hint; input errors exit 1', () => {
    const u = ovis('run', '--no-such-flag');
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/--help/);
    const b = ovis('run', '--backend', 'gpu', '--prompt', 'x');
    expect(b.status).toBe(2);
    const m = ovis('run', '--backend', 'ts', '-q', '--prompt', '<image><image>', '--image', join(FIX, 'images', 'square.png'));
    expect(m.status).toBe(1);
    expect(m.stderr).toMatch(/2 <image> marker/);
    const missing = ovis('run', '--backend', 'ts', '-q', '--prompt', 'x', '--image', join(tmp, 'nope.png'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.png/);
  });
});
