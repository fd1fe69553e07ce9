// Shared loaders for the tokenizer golden fixtures (reference/fixtures/tokenizer/, written by
// reference/tokenizer_golden.py with the Rust `tokenizers` 0.22.2). Not a test file.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { FixtureError } from '../../src/errors.js';
import { Tokenizer } from '../../src/tokenizer/index.js';

export const FIXTURES = 'reference/fixtures/tokenizer/';
export const FORMAT_VERSION = 1;

export function readGz<T>(name: string): T {
  let obj: { format_version?: number };
  try {
    obj = JSON.parse(gunzipSync(readFileSync(FIXTURES + name)).toString('utf8'));
  } catch (e) {
    throw new FixtureError(
      `${FIXTURES}${name}: cannot read (${(e as Error).message})`,
      'run `reference/.venv/bin/python reference/tokenizer_golden.py --ovis-formatter ...` (see its docstring)',
    );
  }
  if (obj.format_version !== FORMAT_VERSION) {
    throw new FixtureError(
      `${FIXTURES}${name}: format_version ${obj.format_version}, this test reads ${FORMAT_VERSION}`,
      'regenerate with reference/tokenizer_golden.py',
    );
  }
  return obj as T;
}

export interface Corpus {
  corpus: string[];
  heldout: string[];
  long: string[];
  main_seed: number;
  heldout_seed: number;
}
export interface Golden {
  file: string;
  vocab_size: number;
  ids: number[][];
  ids_special: Record<string, number[]>;
  heldout_ids: number[][];
  long_ids: number[][];
  decode: Record<string, [string, string]>;
  decode_random: Array<[number[], string, string]>;
  token_to_id: Array<[string, number]>;
}

let corpusCache: Corpus | undefined;
export const corpus = (): Corpus => (corpusCache ??= readGz<Corpus>('corpus.json.gz'));
export const golden = (name: string): Golden => readGz<Golden>(`${name}.golden.json.gz`);

export async function loadTokenizer(name: string): Promise<{ tok: Tokenizer; g: Golden }> {
  const g = golden(name);
  return { tok: await Tokenizer.fromFile(g.file), g };
}

export function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Compare many (input, got, expected) triples; report the count and the first k mismatches, compactly. */
export class Mismatches {
  private n = 0;
  private total = 0;
  private shown: string[] = [];
  constructor(
    readonly what: string,
    private readonly k = 5,
  ) {}
  check(label: string, input: string, got: ArrayLike<number> | string, exp: ArrayLike<number> | string): void {
    this.total++;
    const ok = typeof got === 'string' ? got === exp : sameIds(got, exp as ArrayLike<number>);
    if (ok) return;
    this.n++;
    if (this.shown.length < this.k) {
      let at = 0;
      if (typeof got !== 'string') {
        const e = exp as ArrayLike<number>;
        while (at < got.length && got[at] === e[at]) at++;
      }
      const win = (x: ArrayLike<number> | string) =>
        typeof x === 'string' ? JSON.stringify(x.slice(0, 120)) : JSON.stringify(Array.from(x).slice(Math.max(0, at - 3), at + 8));
      this.shown.push(
        `  ${label}: input ${JSON.stringify(input.slice(0, 80))}${input.length > 80 ? '…' : ''} (first diff at token ${at})\n    got ${win(got)}\n    exp ${win(exp)}`,
      );
    }
  }
  /** '' when all equal, else a report. */
  report(): string {
    return this.n === 0 ? '' : `${this.what}: ${this.n}/${this.total} differ from the Rust golden\n${this.shown.join('\n')}`;
  }
  get count(): number {
    return this.total;
  }
}
