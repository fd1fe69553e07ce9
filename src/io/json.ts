// Strict JSON helpers for files we validate at the door (safetensors headers, index files,
// configs). `JSON.parse` silently keeps the last of two equal keys; a safetensors header or a
// `weight_map` that names a tensor twice is a broken file, so we scan for duplicates ourselves.

/** A JSON path for messages, e.g. `llm_config.rope_scaling.factor` or `depths[0]`. */
export function jsonPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const safe = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (!base) return safe;
  return safe.startsWith('"') ? `${base}[${safe}]` : `${base}.${safe}`;
}

/**
 * Duplicate keys of every object in a JSON text, as `path.key` strings (empty when none).
 * The text must already be valid JSON (call after JSON.parse succeeded); this is a single linear
 * scan that tracks only strings and nesting — it does not re-validate the grammar.
 */
export function findDuplicateKeys(text: string, limit = 20): string[] {
  const dups: string[] = [];
  // Stack of containers: for objects, the set of keys seen and the path; for arrays, the index.
  type Frame = { kind: 'obj'; keys: Set<string>; path: string; pending?: string } | { kind: 'arr'; index: number; path: string };
  const stack: Frame[] = [];
  let i = 0;
  const n = text.length;
  let expectKey = false;
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    return top.kind === 'obj' ? jsonPath(top.path, top.pending ?? '?') : jsonPath(top.path, top.index);
  };
  while (i < n && dups.length < limit) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Read a string; JSON.parse on the slice decodes escapes exactly.
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) j += 2;
        else if (d === 0x22) break;
        else j++;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top && top.kind === 'obj') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) dups.push(jsonPath(top.path, key));
        top.keys.add(key);
        top.pending = key;
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push({ kind: 'obj', keys: new Set(), path: childPath() });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ kind: 'arr', index: 0, path: childPath() });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'obj') expectKey = true;
      else if (top?.kind === 'arr') top.index++;
    }
    i++;
  }
  return dups;
}

/** Human-readable kind of a JSON value for "expected X, got Y" messages. */
export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A short JSON-like rendering of a value from an untrusted file, for error messages: at most
 * `max` characters and 4 levels deep. JSON.stringify would recurse without bound (a 10 KB header
 * whose shape nests 5000 arrays deep overflows the stack while the error is being built) and
 * would echo megabytes.
 */
export function jsonPreview(v: unknown, max = 80): string {
  let out = '';
  const put = (s: string): boolean => {
    out += s;
    return out.length <= max;
  };
  const walk = (x: unknown, depth: number): boolean => {
    if (Array.isArray(x)) {
      if (depth >= 4) return put(x.length ? '[…]' : '[]');
      if (!put('[')) return false;
      for (let i = 0; i < x.length; i++) {
        if (i && !put(',')) return false;
        if (!walk(x[i], depth + 1)) return false;
      }
      return put(']');
    }
    if (isPlainObject(x)) {
      if (depth >= 4) return put('{…}');
      if (!put('{')) return false;
      let first = true;
      for (const [k, val] of Object.entries(x)) {
        if (!first && !put(',')) return false;
        first = false;
        if (!put(JSON.stringify(k.length > max ? k.slice(0, max) : k) + ':') || !walk(val, depth + 1)) return false;
      }
      return put('}');
    }
    if (typeof x === 'string') return put(JSON.stringify(x.length > max ? x.slice(0, max) : x));
    return put(x === undefined ? 'undefined' : String(x));
  };
  return walk(v, 0) ? out : out.slice(0, max) + '…';
}

/**
 * True when `v` nests arrays/objects deeper than `limit`. Iterative: the builders that walk such
 * a value (a tokenizer's nested "Sequence" normalizers, decoders, ...) recurse, and a crafted
 * file 100,000 levels deep would overflow the call stack in them.
 */
export function nestedDeeperThan(v: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d >= limit) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}
