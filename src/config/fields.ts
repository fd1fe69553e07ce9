// Field readers for config validation: every problem is collected (with its JSON path), parsing
// continues with a placeholder, and the caller throws one ConfigError listing them all.
// A default passed here is the Hugging Face default for that key — callers name it as such.

import { ConfigError } from '../errors.js';
import { isPlainObject, jsonKind, jsonPath } from '../io/json.js';

export class Problems {
  readonly list: string[] = [];
  constructor(readonly file: string) {}
  add(path: string, msg: string): void {
    this.list.push(path ? `${path}: ${msg}` : msg);
  }
  /** Throw a ConfigError with every problem, if any. */
  throwIfAny(hint?: string): void {
    if (this.list.length) throw new ConfigError(this.file, this.list, hint);
  }
}

/** Marker: no default, the key is required. */
const REQUIRED = Symbol('required');
type Def<T> = T | typeof REQUIRED;

export { REQUIRED };

/** Reads keys of one JSON object at a path, recording problems instead of throwing. */
export class Fields {
  constructor(
    readonly p: Problems,
    readonly o: Record<string, unknown>,
    readonly path: string,
  ) {}

  static root(p: Problems, json: unknown): Fields | undefined {
    if (!isPlainObject(json)) {
      p.add('', `expected a JSON object at the top level, got ${jsonKind(json)}`);
      return undefined;
    }
    return new Fields(p, json, '');
  }

  at(key: string): string {
    return jsonPath(this.path, key);
  }
  has(key: string): boolean {
    return this.o[key] !== undefined;
  }
  raw(key: string): unknown {
    return this.o[key];
  }

  private missing<T>(key: string, def: Def<T>, expected: string): T | undefined {
    if (this.o[key] !== undefined) return undefined;
    if (def === REQUIRED) {
      this.p.add(this.at(key), `missing (required; expected ${expected})`);
      return undefined;
    }
    return def;
  }

  /** An integer in [min, max]. JSON `3.0` parses to 3 and is accepted (Python would keep a float;
   *  harmless for sizes). `max` bounds sizes read from files (config/limits.ts). */
  int(key: string, def: Def<number>, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    if (this.o[key] === undefined) return this.missing(key, def, expected) ?? NaN;
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.p.add(this.at(key), `expected ${expected}, got ${jsonKind(v)}`);
      return NaN;
    }
    return v;
  }

  intOrNull(key: string, def: Def<number | null>, min = 0, max = Number.MAX_SAFE_INTEGER): number | null {
    if (this.o[key] === null) return null;
    if (this.o[key] === undefined) {
      const d = this.missing(key, def, `an integer >= ${min} or null`);
      return d === undefined ? NaN : d;
    }
    return this.int(key, REQUIRED, min, max);
  }

  /** A finite number; `positive` requires > 0. */
  num(key: string, def: Def<number>, opts: { positive?: boolean; min?: number } = {}): number {
    const expected = opts.positive ? 'a number > 0' : opts.min !== undefined ? `a number >= ${opts.min}` : 'a number';
    if (this.o[key] === undefined) return this.missing(key, def, expected) ?? NaN;
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.positive && !(v > 0)) || (opts.min !== undefined && v < opts.min)) {
      this.p.add(this.at(key), `expected ${expected}, got ${jsonKind(v)}`);
      return NaN;
    }
    return v;
  }

  numOrNull(key: string, def: Def<number | null>, opts: { positive?: boolean } = {}): number | null {
    if (this.o[key] === null) return null;
    if (this.o[key] === undefined) {
      const d = this.missing(key, def, 'a number or null');
      return d === undefined ? NaN : d;
    }
    return this.num(key, REQUIRED, opts);
  }

  bool(key: string, def: Def<boolean>): boolean {
    if (this.o[key] === undefined) return this.missing(key, def, 'true or false') ?? false;
    const v = this.o[key];
    if (typeof v !== 'boolean') {
      this.p.add(this.at(key), `expected true or false, got ${jsonKind(v)}`);
      return false;
    }
    return v;
  }

  str(key: string, def: Def<string>): string {
    if (this.o[key] === undefined) return this.missing(key, def, 'a string') ?? '';
    const v = this.o[key];
    if (typeof v !== 'string') {
      this.p.add(this.at(key), `expected a string, got ${jsonKind(v)}`);
      return '';
    }
    return v;
  }

  strOrNull(key: string, def: Def<string | null>): string | null {
    if (this.o[key] === null) return null;
    if (this.o[key] === undefined) {
      const d = this.missing(key, def, 'a string or null');
      return d === undefined ? '' : d;
    }
    return this.str(key, REQUIRED);
  }

  /**
   * A string from a fixed set. `unsupported` lists values that are valid for Hugging Face but
   * not implemented by ovis-ts, each with the reason — reported as "unsupported", not "invalid".
   */
  oneOf<T extends string>(key: string, allowed: readonly T[], def: Def<T>, unsupported: Record<string, string> = {}): T {
    if (this.o[key] === undefined)
      return this.missing(key, def, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`) ?? allowed[0];
    const v = this.o[key];
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    if (typeof v === 'string' && Object.hasOwn(unsupported, v)) {
      this.p.add(
        this.at(key),
        `${JSON.stringify(v)} is not supported by ovis-ts: ${unsupported[v]} (supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')})`,
      );
    } else {
      this.p.add(this.at(key), `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${jsonKind(v)}`);
    }
    return allowed[0];
  }

  /** A nested object (required unless def is given). */
  obj(key: string, required = true): Fields | undefined {
    const v = this.o[key];
    if (v === undefined || v === null) {
      if (required) this.p.add(this.at(key), `missing (required; expected an object)`);
      return undefined;
    }
    if (!isPlainObject(v)) {
      this.p.add(this.at(key), `expected an object, got ${jsonKind(v)}`);
      return undefined;
    }
    return new Fields(this.p, v, this.at(key));
  }

  /** number | number[] | null -> number[] (HF token-id keys such as eos_token_id accept both). */
  ids(key: string, def: number[]): number[] {
    const v = this.o[key];
    if (v === undefined || v === null) return def;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) return v as number[];
    this.p.add(this.at(key), `expected a token id or a list of token ids, got ${jsonKind(v)}`);
    return def;
  }

  /** Like ids() but keeps null distinct (e.g. pad_token_id). */
  idOrNull(key: string, def: number | null): number | null {
    const v = this.o[key];
    if (v === undefined) return def;
    if (v === null) return null;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    // Some configs store a list here; HF keeps it — we keep the first for display.
    if (Array.isArray(v) && v.length && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) return v[0] as number;
    this.p.add(this.at(key), `expected a token id or null, got ${jsonKind(v)}`);
    return def;
  }

  /** An array of strings from a set, or null. */
  strArrayOrNull<T extends string>(key: string, allowed: readonly T[]): T[] | null {
    const v = this.o[key];
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v)) {
      this.p.add(this.at(key), `expected a list of ${allowed.map((a) => JSON.stringify(a)).join(' | ')}, got ${jsonKind(v)}`);
      return null;
    }
    v.forEach((x, i) => {
      if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
        this.p.add(jsonPath(this.at(key), i), `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${jsonKind(x)}`);
      }
    });
    return v as T[];
  }

  /** Every key of the object not in `known`. */
  unknownKeys(known: Iterable<string>): string[] {
    const k = new Set(known);
    return Object.keys(this.o).filter((x) => !k.has(x));
  }
}
