// `ovis tokenize` CLI module: argument handling and output (ids from the Rust goldens' file).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/tokenize.js';
import { UsageError } from '../../src/errors.js';

const QWEN = 'reference/fixtures/tokenizer/qwen2_5_trimmed.json';

describe('ovis tokenize', () => {
  afterEach(() => vi.restoreAllMocks());
  it('--json prints ids, tokens and count', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    expect(await main(['--tokenizer', QWEN, '--text', '<|im_start|>Hello world', '--json'])).toBe(0);
    const r = JSON.parse(out) as { ids: number[]; tokens: string[]; count: number };
    // 30001 = <|im_start|> in the trimmed file (ids re-based after 30,000 tokens); "Hello"=9707, " world"=1879 in Qwen2.5
    expect(r.ids).toEqual([30001, 9707, 1879]);
    expect(r.tokens).toEqual(['<|im_start|>', 'Hello', '\u0120world']);
    expect(r.count).toBe(3);
  });
  it('a 250,000-token text prints every id (the column width was Math.max(...ids): a call-stack overflow)', async () => {
    let lines = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      lines += String(s).split('\n').length - 1;
      return true;
    });
    expect(await main(['--tokenizer', QWEN, '--text', 'Hello world '.repeat(125_000)])).toBe(0);
    expect(lines).toBeGreaterThanOrEqual(250_000);
  });
  it('usage errors', async () => {
    await expect(main(['--text', 'x'])).rejects.toBeInstanceOf(UsageError);
    await expect(main(['--tokenizer', QWEN, '--text', 'x', '--file', 'y'])).rejects.toThrow(/not both/);
    await expect(main(['--bogus'])).rejects.toThrow(/unknown option "--bogus"/);
  });
});
