// A forgiving CLI, through the built CLI: every common mistake gets a typed
// error that names what was wrong (the path, the option, the range) and what to do, and fails
// before any weight is read; plus `run --json`, `--prompt -`, defaults in every --help,
// negative numbers as option values, --threads above the core count, the sampling switch.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatOptions, type OptionSpecs, parseOptions } from '../../src/cli/common.js';
import { didYouMean } from '../../src/cli/suggest.js';
import { OvisRunner, readImageFile } from '../../src/runner.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const FIX = join(ROOT, 'reference', 'fixtures');
const SQUARE = join(FIX, 'images', 'square.png');
const tmp = mkdtempSync(join(tmpdir(), 'ovis-forgiving-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ovis(args: string[], input?: string) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 170_000, input });
}
/** `ovis run` on the embedded checkpoint, readable backend, JSON out. */
function runJson(...args: string[]) {
  const r = ovis(['run', '--backend', 'ts', '-q', '--json', '--max-new-tokens', '4', ...args]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    output: string;
    ids: number[];
    prompt_tokens: number;
    completion_tokens: number;
    stop_reason: string;
    timings: Record<string, number>;
  };
}

// a PNG whose header is fine and whose data stops half-way: only a decode finds it
const truncated = join(tmp, 'truncated.png');
const textFile = join(tmp, 'notes.txt');
const imageDir = join(tmp, 'photos');
writeFileSync(truncated, readFileSync(SQUARE).subarray(0, 200));
writeFileSync(textFile, 'not an image\n');
mkdirSync(imageDir);
writeFileSync(join(imageDir, 'cat.png'), readFileSync(SQUARE));

describe.skipIf(!existsSync(CLI))('a forgiving CLI (built)', () => {
  // Without -q: the absence of the loader's progress proves the error came before the weights.
  const image = (path: string) => ovis(['run', '--backend', 'ts', '--prompt', 'x', '--image', path]);

  it('--image: a missing file, a directory, a text file, corrupt data: exit 1, the path named, no weight read', () => {
    const missing = image(join(tmp, 'missing.png'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`error [INPUT]: image ${join(tmp, 'missing.png')}: cannot read it: no such file (ENOENT)`);
    expect(missing.stderr).not.toMatch(/\n\s+at |tokenizer:|loading/);

    const dir = image(imageDir);
    expect(dir.status).toBe(1);
    expect(dir.stderr).toContain(`image ${imageDir}: is a directory, expected an image file`);
    expect(dir.stderr).toContain(`Hint: give one file per image, e.g. --image ${join(imageDir, 'cat.png')}`);

    const text = image(textFile);
    expect(text.status).toBe(1);
    expect(text.stderr).toContain(`error [IMAGE]: ${textFile}: not a recognised image`);

    const corrupt = image(truncated);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toContain(`error [IMAGE]: ${truncated}: PNG chunk 'IDAT' at byte 33 claims`);
    expect(corrupt.stderr).not.toMatch(/tokenizer:|loading/);
  });

  it('negative numbers reach the range check of every numeric option of every command', () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', '--max-new-tokens', '-1'], /--max-new-tokens must be an integer in \[0, 1048576\], got '-1'/],
      [['run', '--max-partition', '-1'], /--max-partition must be an integer in \[1, 9\], got '-1'/],
      [['run', '--temperature', '-0.5'], /--temperature must be a number in \[0, 100\], got '-0.5'/],
      [['run', '--top-k', '-1'], /--top-k must be an integer/],
      [['run', '--top-p', '-.5'], /--top-p must be a number in \[0, 1\], got '-.5'/],
      [['run', '--repetition-penalty', '-1'], /--repetition-penalty must be a number/],
      [['run', '--seed', '-1'], /--seed must be an integer in \[0, 2147483647\], got '-1'/],
      [['run', '--threads', '-2'], /--threads must be an integer in \[1, 256\], got '-2'/],
      [['trace', '--model', 'm', '--out', 'o', '--max-new-tokens', '-1'], /--max-new-tokens must be an integer/],
      [['trace', '--model', 'm', '--out', 'o', '--max-partition', '-3'], /--max-partition must be an integer/],
      [['trace', '--model', 'm', '--out', 'o', '--logits-rows', '-1'], /--logits-rows must be .*got '-1'/],
      [['trace', '--model', 'm', '--out', 'o', '--threads', '-1'], /--threads must be an integer/],
      [['parity', '--model', 'm', '--reference', 'r', '--threads', '-1'], /--threads must be an integer/],
      [['preprocess', '--image', SQUARE, '--out', 'o', '--max-partition', '-1'], /--max-partition: expected an integer >= 1, got "-1"/],
      [['preprocess', '--image', SQUARE, '--out', 'o', '--max-pixels', '-5'], /--max-pixels: expected an integer >= 1, got "-5"/],
      [
        ['preprocess', '--image', SQUARE, '--out', 'o', '--covering-threshold', '-0.1'],
        /--covering-threshold must be a number in \[0, 1\], got '-0.1'/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = ovis(['run', 'trace'].includes(args[0]) ? [...args, '--prompt', 'x'] : args);
      expect(r.status, args.join(' ') + '\n' + r.stderr).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(msg);
      expect(r.stderr).not.toMatch(/ambiguous/);
    }
    // the same message as the `=` form
    const eq = ovis(['run', '--prompt', 'x', '--max-new-tokens=-1']);
    expect(eq.stderr).toBe(ovis(['run', '--prompt', 'x', '--max-new-tokens', '-1']).stderr);
    // and a negative number that is a fine value is taken as one
    const tok = ovis(['tokenize', '--tokenizer', join(FIX, 'tokenizer', 'qwen2_5_trimmed.json'), '--text', '-1', '--json', '--no-special']);
    expect(tok.status, tok.stderr).toBe(0);
    expect(JSON.parse(tok.stdout).tokens.join('')).toBe('-1');
  });

  it('a mistyped option or command: did you mean', () => {
    const opt = ovis(['run', '--temprature', '0.7', '--prompt', 'x']);
    expect(opt.status).toBe(2);
    expect(opt.stderr).toContain('error [USAGE]: unknown option "--temprature": did you mean --temperature?');
    expect(opt.stderr).toContain('Hint: see `ovis run --help`');
    expect(ovis(['parity', '--refrence', 'x']).stderr).toContain('did you mean --reference?');
    expect(ovis(['run', '--max-new', '3']).stderr).toContain('did you mean --max-new-tokens?');
    const cmd = ovis(['rnu', '--prompt', 'x']);
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toContain("ovis: unknown command 'rnu': did you mean 'ovis run'?");
    expect(ovis(['inpsect']).stderr).toContain("did you mean 'ovis inspect'?");
    expect(ovis(['frobnicate']).stderr).not.toContain('did you mean');
  });

  it('sampling: --temperature/--top-k/--top-p switch it on, --temperature 0 is greedy, contradictions are refused', () => {
    const greedy = runJson('--prompt', 'hi');
    expect(runJson('--prompt', 'hi', '--temperature', '0').ids).toEqual(greedy.ids);
    // temperature 50 over a 128256-token vocabulary: four argmax picks in a row would be a miracle
    const hot = runJson('--prompt', 'hi', '--temperature', '50', '--seed', '1');
    expect(hot.ids).not.toEqual(greedy.ids);
    expect(runJson('--prompt', 'hi', '--temperature', '50', '--seed', '1', '--do-sample').ids).toEqual(hot.ids);
    const note = ovis(['run', '--backend', 'ts', '--prompt', 'hi', '--max-new-tokens', '1', '--top-k', '5']);
    expect(note.status, note.stderr).toBe(0);
    expect(note.stderr).toContain('sampling on (--top-k given; --temperature 0 for greedy)');
    const clash = ovis(['run', '--prompt', 'hi', '--temperature', '0', '--do-sample']);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain('--temperature 0 means greedy decoding; --do-sample asks for sampling');
    expect(ovis(['run', '--help']).stdout).toMatch(/--temperature T .*giving one turns sampling on, 0 means greedy/);
  });

  it('run --json: one JSON object and nothing else on stdout; --prompt - reads stdin', () => {
    const r = ovis([
      'run',
      '--backend',
      'ts',
      '--json',
      '--max-new-tokens',
      '3',
      '--image',
      SQUARE,
      '--prompt',
      'What is in this picture?',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(['completion_tokens', 'ids', 'output', 'prompt_tokens', 'stop_reason', 'timings']);
    expect(j.completion_tokens).toBe(j.ids.length);
    expect(j.prompt_tokens).toBeGreaterThan(196); // one crop's visual tokens and the text
    expect(Object.keys(j.timings).sort()).toEqual(['decode_ms', 'load_ms', 'prefill_ms', 'tokens_per_second', 'total_ms']);
    expect(r.stderr).toMatch(/crop\(s\) encoded/); // progress still on stderr
    // stdin, its trailing newline dropped: the same request, the same greedy answer
    const piped = ovis(
      ['run', '--backend', 'ts', '-q', '--json', '--max-new-tokens', '3', '--image', SQUARE, '--prompt', '-'],
      'What is in this picture?\n',
    );
    expect(piped.status, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ ids: j.ids, prompt_tokens: j.prompt_tokens });
  });

  it('--threads above the available cores runs, with a warning on stderr', () => {
    const n = availableParallelism() + 1;
    const r = ovis(['run', '-q', '--threads', String(n), '--prompt', 'hi', '--max-new-tokens', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: --threads ${n} is more than the ${n - 1} available core(s)`);
  });

  it('--help of every command shows each option with its default (or that it is required)', () => {
    for (const cmd of ['run', 'trace', 'parity', 'inspect', 'preprocess', 'tokenize']) {
      const r = ovis([cmd, '--help']);
      expect(r.status, cmd).toBe(0);
      const blocks = r.stdout.split('\n').reduce<string[]>((acc, line) => {
        if (/^ {2}-/.test(line)) acc.push(line);
        else if (acc.length && /^ {6,}\S/.test(line)) acc[acc.length - 1] += '\n' + line;
        return acc;
      }, []);
      expect(blocks.length, cmd).toBeGreaterThan(1);
      for (const b of blocks.filter((x) => !/--help/.test(x))) expect(b, `${cmd}: ${b}`).toMatch(/\((default: .+|required)\)/);
    }
    expect(ovis(['run', '--help']).stdout).toContain(`(default: the available cores, ${availableParallelism()} here)`);
  });

  it('parity of a model with a dump made from another checkpoint: says so, with the facts', () => {
    const r = ovis([
      'parity',
      '--backend',
      'ts',
      '-q',
      '--model',
      join(FIX, 'tiny', 'gemma2'),
      '--reference',
      join(FIX, 'dumps', 'llama', 'text_only__f32.safetensors'),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("this model cannot recompute the dump's request: logits row");
    expect(r.stderr).toMatch(/its input_ids has \d+ tokens, this model's tokenizer and chat format give \d+/);
    expect(r.stderr).toContain('Hint: the dump was made with another checkpoint, tokenizer or prompt');
  });
});

describe('image labels in the API: errors found late name the file', () => {
  it('readImageFile bytes whose data is corrupt: the error from prepare names the path', async () => {
    const runner = await OvisRunner.load(join(FIX, 'tiny', 'llama'), { backend: 'ts' });
    try {
      const bytes = await readImageFile(truncated); // the header is fine: only decoding finds the damage
      expect(() => runner.prepare({ prompt: 'x', images: [bytes] })).toThrow(`${truncated}: PNG chunk 'IDAT' at byte 33 claims`);
      // images not read from a file keep the positional label
      expect(() => runner.prepare({ prompt: 'x', images: [new Uint8Array(readFileSync(truncated))] })).toThrow(
        /^image 1: PNG chunk 'IDAT'/,
      );
    } finally {
      runner.dispose();
    }
    await expect(readImageFile(textFile)).rejects.toThrow(`${textFile}: not a recognised image`);
    await expect(readImageFile(imageDir)).rejects.toThrow(`image ${imageDir}: is a directory`);
  });
});

describe('option parsing', () => {
  const specs = {
    n: { type: 'string', arg: 'N', default: '1', help: 'a number' },
    tag: { type: 'string', multiple: true, help: 'tags' },
    quiet: { type: 'boolean', short: 'q', help: 'quiet' },
  } as const satisfies OptionSpecs;
  it('values starting with - are values; --x=v; -qh; -- ends options', () => {
    expect(parseOptions('t', ['--n', '-1', '--tag', '-', '--tag=-x', '-qh'], specs).values).toEqual({
      n: '-1',
      tag: ['-', '-x'],
      quiet: true,
      help: true,
    });
    expect(parseOptions('t', ['a', '--', '--n'], specs, { positionals: true }).positionals).toEqual(['a', '--n']);
    expect(() => parseOptions('t', ['--n', '--quiet'], specs)).toThrow(
      /--n needs a value, got the option '--quiet'\nHint: for a value that starts with '-', write --n=VALUE/,
    );
    expect(() => parseOptions('t', ['--quiet=yes'], specs)).toThrow(/--quiet takes no value/);
    expect(() => parseOptions('t', ['stray'], specs)).toThrow(/unexpected argument 'stray'/);
    expect(() => parseOptions('t', ['-x'], specs)).toThrow(/unknown option "-x"/);
  });
  it('did you mean: typos and unique abbreviations, nothing for far-off words', () => {
    expect(didYouMean('--temprature', ['--temperature', '--top-k'])).toBe('--temperature');
    expect(didYouMean('--max-new', ['--max-new-tokens', '--max-partition'])).toBe('--max-new-tokens');
    expect(didYouMean('--top', ['--top-k', '--top-p'])).toBeUndefined(); // ambiguous abbreviation, and too far from both
    expect(didYouMean('rnu', ['run', 'trace'])).toBe('run');
    expect(didYouMean('xyz', ['run', 'trace'])).toBeUndefined();
  });
  it('help lines carry the default, on a line of their own past 100 columns', () => {
    const h = formatOptions(specs);
    expect(h).toMatch(/--n N +a number \(default: 1\)/);
    expect(h).toMatch(/-q, --quiet +quiet \(default: off\)/);
    expect(h.split('\n').every((l) => l.length <= 100)).toBe(true);
  });
});
