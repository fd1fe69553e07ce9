// Small typed readers for tokenizer.json: every failure names the JSON path and what was expected.

import { TokenizerError } from '../errors.js';

export type Obj = Record<string, unknown>;

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

export function asObj(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TokenizerError(`${path}: expected an object, got ${describe(v)}`);
  return v as Obj;
}
export function asArr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new TokenizerError(`${path}: expected an array, got ${describe(v)}`);
  return v;
}
export function str(o: Obj, key: string, path: string, dflt?: string): string {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string') throw new TokenizerError(`${path}.${key}: expected a string, got ${describe(v)}`);
  return v;
}
export function optStr(o: Obj, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new TokenizerError(`${path}.${key}: expected a string or null, got ${describe(v)}`);
  return v;
}
export function bool(o: Obj, key: string, path: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new TokenizerError(`${path}.${key}: expected true/false, got ${describe(v)}`);
  return v;
}
export function int(o: Obj, key: string, path: string, dflt?: number): number {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new TokenizerError(`${path}.${key}: expected a non-negative integer, got ${describe(v)}`);
  return v;
}
export function unsupported(kind: string, type: unknown, path: string, supported: string[]): never {
  throw new TokenizerError(
    `${path}: unsupported ${kind} type ${JSON.stringify(type)}`,
    `supported ${kind}s: ${supported.join(', ')}. Output would differ from Hugging Face, so we refuse to guess.`,
  );
}

/** tokenizers' `{"String": "..."}` / `{"Regex": "..."}` pattern. */
export type PatternSpec = { kind: 'string'; value: string } | { kind: 'regex'; value: string };
export function pattern(v: unknown, path: string): PatternSpec {
  const o = asObj(v, path);
  if (typeof o.String === 'string') return { kind: 'string', value: o.String };
  if (typeof o.Regex === 'string') return { kind: 'regex', value: o.Regex };
  throw new TokenizerError(`${path}: expected {"String": ...} or {"Regex": ...}, got keys ${JSON.stringify(Object.keys(o))}`);
}
