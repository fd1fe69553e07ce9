// Field checks shared by /api/chat and /v1/chat/completions: each names the field's path in the
// request (`options.temperature`, `messages[1].content[0].image_url`) and says expected vs got.

import { badField } from './errors.js';

export const kind = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? `the string ${JSON.stringify(v.length > 30 ? v.slice(0, 30) + '...' : v)}`
        : typeof v === 'object'
          ? 'an object'
          : `${typeof v} ${String(v)}`;

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function object(v: unknown, param: string): Record<string, unknown> {
  if (!isObject(v)) throw badField(param, `expected an object, got ${kind(v)}`);
  return v;
}

export function array(v: unknown, param: string, minLength = 0): unknown[] {
  if (!Array.isArray(v)) throw badField(param, `expected an array, got ${kind(v)}`);
  if (v.length < minLength) throw badField(param, `expected at least ${minLength} item(s), got ${v.length}`);
  return v;
}

export function string(v: unknown, param: string): string {
  if (typeof v !== 'string') throw badField(param, `expected a string, got ${kind(v)}`);
  return v;
}

/** A number in [min, max] (an integer when `int`); undefined and null mean "not given". */
export function optNumber(v: unknown, param: string, min: number, max: number, int = false): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min || v > max) {
    throw badField(param, `expected ${int ? 'an integer' : 'a number'} in [${min}, ${max}], got ${kind(v)}`);
  }
  return v;
}

export function optBoolean(v: unknown, param: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badField(param, `expected true or false, got ${kind(v)}`);
  return v;
}

/** The ranges every request's generation settings are held to (the CLI's, src/cli/run.ts). */
export const LIMITS = {
  maxNewTokens: [1, 1 << 20],
  temperature: [0, 100],
  topP: [0, 1],
  topK: [0, 2 ** 30],
  repetitionPenalty: [1e-6, 100],
  seed: [0, 2 ** 31 - 1],
  maxPartition: [1, 9],
} as const;
