// What the commands share: one option table per command (the parser and --help both read it, so
// every option's default is printed by construction), the model options, value checks, images
// read and decoded before any weight is, and a did-you-mean for mistyped names.

import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../backend/index.js';
import { IoError, UsageError } from '../errors.js';
import { type RgbImage, SUPPORTED_FORMATS } from '../image/index.js';
import { outputProblem, pathExists } from '../io/fs.js';
import { readImageFile } from '../runner.js';
import { didYouMean } from './suggest.js';

/** The checkpoint `ovis run` uses when no --model is given: committed with the repository, not
 *  shipped in the npm package (which holds what runs), so an installed `ovis` asks for --model. */
export async function embeddedCheckpoint(): Promise<string> {
  // dist/cli/common.js or src/cli/common.ts -> <package root>/reference/fixtures/tiny/llama
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'reference', 'fixtures', 'tiny', 'llama');
  if (await pathExists(join(dir, 'config.json'))) return dir;
  throw new UsageError(
    '--model is required (the embedded tiny checkpoint exists only in a clone of the ovis-ts repository)',
    'pass --model DIR (a checkpoint folder) or --model ORG/NAME from the Hugging Face cache, e.g. ' +
      '`ovis download AIDC-AI/Ovis1.6-Llama3.2-3B` then --model AIDC-AI/Ovis1.6-Llama3.2-3B',
  );
}

// ---------------------------------------------------------------------------------------------
// Option tables and the parser

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The value's name in --help, e.g. 'N', 'DIR'. */
  arg?: string;
  help: string;
  /** Shown as `(default: ...)`; booleans without one show `(default: off)`. */
  default?: string;
  required?: boolean;
}
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : S['multiple'] extends true ? string[] : string;
export type OptionValues<T extends OptionSpecs> = { -readonly [K in keyof T]?: ValueOf<T[K]> };

/** Every command takes -h/--help; it is not listed with a default. */
const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'this help' };

/**
 * getopt-style parsing, not node:util parseArgs: an option that takes a value takes the next
 * argument even when it starts with '-' and is not an option name (`--max-new-tokens -1`,
 * `--prompt -`), so a negative number gets the range check instead of "argument is ambiguous".
 * `--name=value` works for any value.
 */
export function parseOptions<T extends OptionSpecs>(
  cmd: string,
  argv: readonly string[],
  specs: T,
  o: { positionals?: boolean } = {},
): { values: OptionValues<T> & { help?: boolean }; positionals: string[] } {
  const all: OptionSpecs = { help: HELP_OPTION, ...specs };
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  const hint = `see \`ovis ${cmd} --help\``;
  const set = (name: string, s: OptionSpec, v: string | boolean) => {
    if (s.multiple) ((values[name] ??= []) as string[]).push(v as string);
    else values[name] = v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    let shown: string;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      shown = `--${name}`;
      if (!all[name])
        throw unknownOption(
          shown,
          Object.keys(all).map((k) => `--${k}`),
          hint,
        );
    } else if (looksLikeOption(a)) {
      shown = a.slice(0, 2);
      name = Object.keys(all).find((k) => all[k].short === a[1]);
      if (!name)
        throw unknownOption(
          shown,
          Object.keys(all).map((k) => `--${k}`),
          hint,
        );
      if (a.length > 2) {
        if (all[name].type === 'boolean') {
          argv = [...argv.slice(0, i + 1), `-${a.slice(2)}`, ...argv.slice(i + 1)];
        } // -qh
        else inline = a.slice(2);
      }
    } else {
      if (!o.positionals) {
        throw new UsageError(
          `unexpected argument '${a}'`,
          `options start with --: ${hint}${all.prompt && !a.startsWith('-') ? ` (a prompt is given as --prompt '${a}')` : ''}`,
        );
      }
      positionals.push(a);
      continue;
    }
    const s = all[name];
    if (s.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value, got '${inline}'`, hint);
      set(name, s, true);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || looksLikeOption(next)) {
        throw new UsageError(
          `${shown} needs a value${next === undefined ? '' : `, got the option '${next}'`}`,
          next === undefined ? hint : `for a value that starts with '-', write ${shown}=VALUE; ${hint}`,
        );
      }
      inline = next;
      i++;
    }
    set(name, s, inline);
  }
  return { values: values as OptionValues<T> & { help?: boolean }, positionals };
}

/** `--x`, `-x` (x a letter); not `-`, `-1`, `-.5`: those are values. */
function looksLikeOption(a: string): boolean {
  return (a.startsWith('--') && a.length > 2) || /^-[A-Za-z]/.test(a);
}

function unknownOption(shown: string, names: string[], hint: string): UsageError {
  const guess = didYouMean(shown, names);
  // the quoted form `unknown option "--x"` is what scripts and tests grep for
  return new UsageError(`unknown option ${JSON.stringify(shown)}${guess ? `: did you mean ${guess}?` : ''}`, hint);
}

/** The options part of a --help text: one line per option with its default (or "required"). */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries({ ...specs, help: HELP_OPTION }).map(([name, s]) => {
    const left = `${s.short ? `-${s.short}, ` : ''}--${name}${s.arg ? ` ${s.arg}` : ''}`;
    const tail =
      name === 'help'
        ? ''
        : s.required
          ? '(required)'
          : s.default !== undefined
            ? `(default: ${s.default})`
            : s.type === 'boolean'
              ? '(default: off)'
              : '';
    return [left, s.help.split('\n'), tail] as const;
  });
  const w = Math.max(...rows.map(([l]) => l.length)) + 4;
  return rows
    .map(([l, help, tail]) => {
      const lines = [...help];
      // the default goes on the last line if it fits in 100 columns, else on a line of its own
      if (tail && w + lines[lines.length - 1].length + 1 + tail.length <= 100) lines[lines.length - 1] += ' ' + tail;
      else if (tail) lines.push(tail);
      return `  ${l.padEnd(w - 2)}${lines.join('\n' + ' '.repeat(w))}`;
    })
    .join('\n');
}

/** node:util parseArgs errors -> UsageError (exit code 2) with a hint; for commands still on parseArgs. */
export function usageErrors<T>(cmd: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UsageError((e as Error).message, `see \`ovis ${cmd} --help\``);
  }
}

// ---------------------------------------------------------------------------------------------
// The model commands (run, trace, parity)

/** Cores this process may use (what the wasm backend defaults to). */
export function availableCores(): number {
  return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
}

/** Options every model command takes. */
export const ENGINE_OPTIONS = {
  backend: { type: 'string', arg: 'ts|wasm', default: 'wasm', help: 'readable TypeScript operators or WASM SIMD kernels' },
  threads: {
    type: 'string',
    arg: 'N',
    default: `the available cores, ${availableCores()} here`,
    help: 'worker threads for the wasm backend (results do not depend on it)',
  },
  kernels: {
    type: 'string',
    arg: 'simd|relaxed',
    default: 'simd, the parity build',
    help: 'wasm kernel build: SIMD128 mul+add, or relaxed-SIMD FMA\n(Deno, Bun, node --experimental-wasm-relaxed-simd)',
  },
  'quant-dot': {
    type: 'boolean',
    help: 'GPTQ checkpoints on the wasm backend: integer dot products (activations rounded\nto int16 per token; faster, ~3e-5 relative change; docs/quantization.md)',
  },
  'quant-dot-activations': {
    type: 'string',
    arg: 'int16|int8',
    default: 'int16',
    help: 'with --quant-dot (implied): activations per token in 16 bits, or in 8 bits per 32\ninputs (q8_0; ~1e-2 relative change); fastest on int4 weights with --kernels\nrelaxed (i8 dot products; docs/quantization.md)',
  },
  'quant-lm-head': {
    type: 'string',
    arg: 'int8|int4',
    default: 'lm_head as the checkpoint stores it',
    help: 'quantize lm_head in memory at load (round to nearest, groups of 128): the largest\nGEMV of a decode step; changes the logits (docs/quantization.md)',
  },
  tokenizer: {
    type: 'string',
    arg: 'PATH',
    default: "the checkpoint's tokenizer.json",
    help: 'tokenizer.json, or a directory holding one',
  },
  quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
} as const satisfies OptionSpecs;

/** The request options of run and trace. */
export const REQUEST_OPTIONS = {
  image: { type: 'string', multiple: true, arg: 'PATH', default: 'none', help: `an image, repeat for several:\n${SUPPORTED_FORMATS}` },
  prompt: {
    type: 'string',
    arg: 'TEXT',
    required: true,
    help: "the question; `<image>` marks each image's place (else images come first);\n`-` reads it from stdin (one trailing newline dropped)",
  },
  'max-partition': { type: 'string', arg: 'N', default: '9', help: 'at most N crops per image, 1..9' },
} as const satisfies OptionSpecs;

export function intOption(name: string, v: string | undefined, def: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${v}'`);
  }
  return n;
}

export function floatOption(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${v}'`);
  return n;
}

export function backendOption(v: string | undefined): BackendName {
  if (v === undefined) return 'wasm';
  if (v !== 'ts' && v !== 'wasm') throw new UsageError(`--backend must be 'ts' or 'wasm', got '${v}'`);
  return v;
}

/** --kernels: only meaningful with the wasm backend. */
export function kernelsOption(v: string | undefined, backend: BackendName): 'simd' | 'relaxed' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'simd' && v !== 'relaxed') throw new UsageError(`--kernels must be 'simd' or 'relaxed', got '${v}'`);
  if (backend !== 'wasm') throw new UsageError(`--kernels ${v} applies to the wasm backend, not '${backend}'`);
  return v;
}

/** --threads: more threads than cores is allowed (it only costs speed), so it is a warning, not a refusal. */
export function threadsOption(v: string | undefined): number | undefined {
  const n = intOption('threads', v, undefined, 1, 256);
  const cores = availableCores();
  if (n !== undefined && n > cores) {
    process.stderr.write(
      `warning: --threads ${n} is more than the ${cores} available core(s): threads will share cores ` + '(slower, same results)\n',
    );
  }
  return n;
}

/** --quant-dot / --quant-dot-activations int16|int8 (which implies --quant-dot) -> the backend's quantDot. */
export function quantDotOption(flag: boolean | undefined, act: string | undefined): 'int16' | 'int8' | undefined {
  if (act === undefined) return flag ? 'int16' : undefined;
  if (act !== 'int16' && act !== 'int8') throw new UsageError(`--quant-dot-activations must be 'int16' or 'int8', got '${act}'`);
  return act;
}

/** --quant-lm-head int8|int4 -> bits. */
export function quantLmHeadOption(v: string | undefined): 4 | 8 | undefined {
  if (v === undefined) return undefined;
  if (v === 'int8') return 8;
  if (v === 'int4') return 4;
  throw new UsageError(`--quant-lm-head must be 'int8' or 'int4', got '${v}'`);
}

/** The backend options of a model command, checked. */
export function engineValues(v: {
  backend?: string;
  threads?: string;
  kernels?: string;
  tokenizer?: string;
  'quant-dot'?: boolean;
  'quant-dot-activations'?: string;
  'quant-lm-head'?: string;
}) {
  const backend = backendOption(v.backend);
  const quantDot = quantDotOption(v['quant-dot'], v['quant-dot-activations']);
  if (quantDot && backend !== 'wasm') throw new UsageError(`--quant-dot applies to the wasm backend, not '${backend}'`);
  const quantLmHead = quantLmHeadOption(v['quant-lm-head']);
  return {
    ...(quantLmHead ? { quantLmHead } : {}),
    backend,
    kernels: kernelsOption(v.kernels, backend),
    threads: threadsOption(v.threads),
    tokenizer: v.tokenizer,
    ...(quantDot ? { quantDot } : {}),
  };
}

/** --prompt, with `-` meaning stdin. */
export async function promptOption(v: string | undefined): Promise<string | undefined> {
  if (v !== '-') return v;
  if (process.stdin.isTTY)
    throw new UsageError('--prompt -: stdin is a terminal, not a pipe', 'pipe the prompt in: echo "What is this?" | ovis run --prompt -');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  // `echo` and editors end the text with a newline the user did not mean as part of the prompt
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Read and decode every --image before the model loads: a typo or a corrupt file fails in
 *  milliseconds, not after gigabytes of weights; errors name the path. */
export async function readImages(paths: readonly string[]): Promise<RgbImage[]> {
  const out: RgbImage[] = [];
  for (const p of paths) out.push(await readImageFile(p, { decode: true }));
  return out;
}

/** Progress printer for stderr, with elapsed seconds. */
export function progress(quiet: boolean | undefined): (msg: string) => void {
  if (quiet) return () => {};
  const t0 = performance.now();
  return (msg) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

/** An output file named by --flag, checked BEFORE the work that produces it (a trace of a real
 *  model takes minutes; a typo in its --out must not surface only at the end). */
export async function checkOutputFile(flag: string, path: string): Promise<void> {
  const problem = await outputProblem(path);
  if (problem) throw new IoError(path, `--${flag}: cannot write here: ${problem}`, 'give a file name in an existing folder');
}

/** An output folder named by --flag: a folder, or a new name in an existing folder. */
export async function checkOutputDir(flag: string, path: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  const st = await stat(path).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new IoError(path, `--${flag}: exists and is not a folder`, 'give a new folder name, or an existing folder');
  if (!st) {
    const problem = await outputProblem(path);
    if (problem) throw new IoError(path, `--${flag}: cannot create the folder: ${problem}`, 'give a folder name in an existing folder');
  }
}

/** The sampling options of run, chat (and, with its own help texts, serve). */
export const SAMPLING_OPTIONS = {
  'do-sample': {
    type: 'boolean',
    default: 'off (greedy, as Ovis), on with --temperature/--top-k/--top-p',
    help: 'sample instead of greedy decoding',
  },
  temperature: {
    type: 'string',
    arg: 'T',
    default: '1 when sampling',
    help: 'sampling temperature; giving one turns sampling on, 0 means greedy',
  },
  'top-k': { type: 'string', arg: 'K', default: '0 = off', help: 'sample from the K likeliest tokens; turns sampling on' },
  'top-p': { type: 'string', arg: 'P', default: '1 = off', help: 'sample from the smallest set with probability >= P; turns sampling on' },
  'repetition-penalty': { type: 'string', arg: 'R', default: '1 = off', help: 'HF repetition_penalty (greedy decoding too)' },
  seed: { type: 'string', arg: 'S', default: '0', help: 'seed of the sampling PRNG' },
} as const satisfies OptionSpecs;

export interface Sampling {
  doSample: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  note?: string;
}

/** The sampling decision above, with every contradiction refused rather than silently resolved. */
export function samplingValues(v: OptionValues<typeof SAMPLING_OPTIONS>): Sampling {
  const temperature = floatOption('temperature', v.temperature, 0, 100);
  const topK = intOption('top-k', v['top-k'], undefined, 0, 2 ** 30);
  const topP = floatOption('top-p', v['top-p'], 0, 1);
  if (topP === 0) throw new UsageError(`--top-p must be in (0, 1], got '${v['top-p']}'`, '1 keeps every token (off)');
  const repetitionPenalty = floatOption('repetition-penalty', v['repetition-penalty'], 1e-6, 100);
  const seed = intOption('seed', v.seed, undefined, 0, 2 ** 31 - 1);
  const given = (['temperature', 'top-k', 'top-p'] as const).filter((k) => v[k] !== undefined).map((k) => `--${k}`);
  if (temperature === 0) {
    const clash = [...(v['do-sample'] ? ['--do-sample'] : []), ...given.filter((k) => k !== '--temperature')];
    if (clash.length) {
      throw new UsageError(
        `--temperature 0 means greedy decoding; ${clash.join(' and ')} asks for sampling`,
        'to sample, give a temperature > 0; for greedy, drop the sampling options',
      );
    }
    return {
      doSample: false,
      repetitionPenalty,
      seed,
      note: seed !== undefined ? 'note: --seed has no effect on greedy decoding' : undefined,
    };
  }
  const doSample = !!v['do-sample'] || given.length > 0;
  const note =
    !doSample && seed !== undefined
      ? 'note: --seed has no effect on greedy decoding (add --do-sample or --temperature T)'
      : doSample && !v['do-sample']
        ? `sampling on (${given.join(', ')} given; --temperature 0 for greedy)`
        : undefined;
  return { doSample, temperature, topK, topP, repetitionPenalty, seed, note };
}
