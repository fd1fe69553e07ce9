// Format-agnostic mutators shared by the targets: byte-level edits (flips, interesting values,
// inserts, deletes, splices, truncation) and structural edits of parsed JSON (delete / retype /
// duplicate / deepen a node, hostile numbers and strings). Each mutator returns the new input and
// appends a short human-readable step to `log` — the case's recipe, printed in the report.

export const INTERESTING_8 = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 16, 32, 64, 100];
export const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x100, 0x3fff, 0x4000, 16384, 65535, 1000];
export const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0x1000000, 0x40000000, 100000, 0xfffffffe];

export function u32be(b, o) {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
export function u16le(b, o) {
  return b[o] | (b[o + 1] << 8);
}
export function u32le(b, o) {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
export function put32be(b, o, v) {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
export function put16be(b, o, v) {
  b[o] = v >>> 8;
  b[o + 1] = v;
}
export function put16le(b, o, v) {
  b[o] = v;
  b[o + 1] = v >>> 8;
}
export function put32le(b, o, v) {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}
export function concat(parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One random byte-level edit of `b` (a fresh array is returned; `b` is not changed). */
export function mutateBytes(rng, b, log, donors = []) {
  const n = b.length;
  if (n === 0) {
    log.push('insert 4 random bytes into empty input');
    return rng.bytes(4);
  }
  const at = rng.int(n);
  const op = rng.weighted([
    [4, 'flip'],
    [3, 'byte'],
    [2, 'u16'],
    [2, 'u32'],
    [1, 'insert'],
    [1, 'delete'],
    [1, 'dup'],
    [1, 'truncate'],
    [1, 'splice'],
    [1, 'zero'],
  ]);
  const out = b.slice();
  switch (op) {
    case 'flip': {
      const bit = rng.int(8);
      out[at] ^= 1 << bit;
      log.push(`flip bit ${bit} of byte ${at}`);
      return out;
    }
    case 'byte': {
      const v = rng.bool(0.7) ? rng.pick(INTERESTING_8) : rng.int(256);
      out[at] = v;
      log.push(`byte ${at} = ${v}`);
      return out;
    }
    case 'u16': {
      if (at + 2 > n) return out;
      const v = rng.pick(INTERESTING_16);
      (rng.bool() ? put16be : put16le)(out, at, v);
      log.push(`u16 at ${at} = ${v}`);
      return out;
    }
    case 'u32': {
      if (at + 4 > n) return out;
      const v = rng.pick(INTERESTING_32);
      (rng.bool() ? put32be : put32le)(out, at, v);
      log.push(`u32 at ${at} = ${v}`);
      return out;
    }
    case 'insert': {
      const k = rng.small(64);
      log.push(`insert ${k} random bytes at ${at}`);
      return concat([b.subarray(0, at), rng.bytes(k), b.subarray(at)]);
    }
    case 'delete': {
      const k = Math.min(n - at, rng.small(64));
      log.push(`delete ${k} bytes at ${at}`);
      return concat([b.subarray(0, at), b.subarray(at + k)]);
    }
    case 'dup': {
      const k = Math.min(n - at, rng.small(256));
      log.push(`duplicate ${k} bytes at ${at}`);
      return concat([b.subarray(0, at + k), b.subarray(at, at + k), b.subarray(at + k)]);
    }
    case 'truncate': {
      log.push(`truncate to ${at} bytes`);
      return b.slice(0, at);
    }
    case 'splice': {
      if (!donors.length) return out;
      const d = rng.pick(donors);
      const from = rng.int(d.length);
      const k = Math.min(d.length - from, rng.small(512));
      log.push(`splice ${k} donor bytes at ${at}`);
      return concat([b.subarray(0, at), d.subarray(from, from + k), b.subarray(Math.min(n, at + k))]);
    }
    default: {
      const k = Math.min(n - at, rng.small(128));
      out.fill(0, at, at + k);
      log.push(`zero ${k} bytes at ${at}`);
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

export const HOSTILE_NUMBERS = [
  0,
  -1,
  1,
  2,
  0.5,
  -0.5,
  1e9,
  -1e9,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  65536,
  1 << 24,
  255,
  256,
  3,
  7,
  1e-300,
];
export function hostileString(rng) {
  return rng.pick([
    '',
    ' ',
    '\u0000',
    'a'.repeat(rng.pick([1, 100, 10000])),
    '\uD800',
    '\uFFFD',
    '💩',
    'NaN',
    '-1',
    '1e400',
    '__proto__',
    'constructor',
    'toString',
    '../../../etc/passwd',
    '<image>',
    '<|eot_id|>',
    '\n',
    'ŝ',
    'BF16',
    'F32',
    '(a+)+$',
    '[',
    '\\',
    '%s%n',
    'null',
  ]);
}
export function randomJsonValue(rng, depth = 0) {
  const k = rng.int(depth > 3 ? 4 : 7);
  switch (k) {
    case 0:
      return null;
    case 1:
      return rng.bool();
    case 2:
      return rng.pick(HOSTILE_NUMBERS);
    case 3:
      return hostileString(rng);
    case 4:
      return Array.from({ length: rng.int(4) }, () => randomJsonValue(rng, depth + 1));
    case 5: {
      const o = {};
      for (let i = rng.int(4); i > 0; i--) o[hostileString(rng) || 'k'] = randomJsonValue(rng, depth + 1);
      return o;
    }
    default:
      return rng.pick(HOSTILE_NUMBERS);
  }
}

/** Every path in a JSON tree (arrays sampled when long, so huge vocabs stay cheap to walk). */
export function collectPaths(rng, v, path = [], out = [], depth = 0) {
  out.push(path);
  if (depth > 12) return out;
  if (Array.isArray(v)) {
    const idx = v.length <= 8 ? v.keys() : Array.from({ length: 8 }, () => rng.int(v.length));
    for (const i of idx) collectPaths(rng, v[i], [...path, i], out, depth + 1);
  } else if (v && typeof v === 'object') {
    let keys = Object.keys(v);
    if (keys.length > 24) keys = Array.from({ length: 24 }, () => keys[rng.int(keys.length)]);
    for (const k of keys) collectPaths(rng, v[k], [...path, k], out, depth + 1);
  }
  return out;
}
export function getAt(v, path) {
  for (const p of path) v = v?.[p];
  return v;
}
function setAt(root, path, value) {
  if (!path.length) return value;
  const parent = getAt(root, path.slice(0, -1));
  const k = path[path.length - 1];
  if (Array.isArray(parent) && value === undefined) parent.splice(k, 1);
  else if (value === undefined) delete parent[k];
  else parent[k] = value;
  return root;
}

/** A structural edit of a parsed JSON document (mutated in place; the root is returned). */
export function mutateJson(rng, root, log, pathFilter) {
  let paths = collectPaths(rng, root);
  if (pathFilter) {
    const f = paths.filter(pathFilter);
    if (f.length) paths = f;
  }
  const path = rng.pick(paths);
  const cur = getAt(root, path);
  const where = path.map((p) => JSON.stringify(p)).join('.') || '<root>';
  const op = rng.weighted([
    [3, 'number'],
    [2, 'retype'],
    [2, 'delete'],
    [1, 'string'],
    [1, 'dupArray'],
    [1, 'deep'],
    [1, 'addKey'],
    [1, 'emptyContainer'],
    [1, 'copyOther'],
  ]);
  switch (op) {
    case 'number': {
      const v =
        typeof cur === 'number' && rng.bool()
          ? rng.pick([cur + 1, cur - 1, -cur, cur * 1000, cur / 3, cur * 2 ** 20])
          : rng.pick(HOSTILE_NUMBERS);
      log.push(`${where} = ${v}`);
      return setAt(root, path, v);
    }
    case 'retype': {
      const v = randomJsonValue(rng);
      log.push(`${where} = ${JSON.stringify(v)?.slice(0, 80)}`);
      return setAt(root, path, v);
    }
    case 'delete': {
      if (!path.length) return root;
      log.push(`delete ${where}`);
      return setAt(root, path, undefined);
    }
    case 'string': {
      const v = hostileString(rng);
      log.push(`${where} = ${JSON.stringify(v).slice(0, 40)}`);
      return setAt(root, path, v);
    }
    case 'dupArray': {
      if (Array.isArray(cur) && cur.length) {
        const k = rng.pick([2, 10, 1000]);
        const x = cur[rng.int(cur.length)];
        for (let i = 0; i < k; i++) cur.push(structuredClone(x));
        log.push(`${where}: append ${k} copies of an element`);
      } else {
        log.push(`${where} = [it, it]`);
        setAt(root, path, [cur, structuredClone(cur)]);
      }
      return root;
    }
    case 'deep': {
      const d = rng.pick([50, 300, 1000]); /* deeper: mutateJsonText (JSON.stringify overflows) */
      let v = cur ?? 0;
      for (let i = 0; i < d; i++) v = rng.bool() ? [v] : { x: v };
      log.push(`${where} nested ${d} deep`);
      return setAt(root, path, v);
    }
    case 'addKey': {
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) {
        const k = hostileString(rng) || 'extra';
        cur[k] = randomJsonValue(rng);
        log.push(`${where}: add key ${JSON.stringify(k).slice(0, 30)}`);
      }
      return root;
    }
    case 'emptyContainer': {
      const v = Array.isArray(cur) ? [] : cur && typeof cur === 'object' ? {} : rng.pick([[], {}]);
      log.push(`${where} = ${JSON.stringify(v)}`);
      return setAt(root, path, v);
    }
    default: {
      const other = getAt(root, rng.pick(paths));
      log.push(`${where} = copy of another node`);
      return setAt(root, path, other === undefined ? null : structuredClone(other));
    }
  }
}

/** Text-level edits that JSON.stringify cannot express: duplicate keys, NaN, trailing commas, BOM. */
export function mutateJsonText(rng, text, log) {
  const op = rng.int(7);
  if (op === 6) {
    const d = rng.pick([10000, 100000]);
    log.push(`add a key whose value is nested ${d} deep (text)`);
    return text.startsWith('{') ? `{"deep":${'['.repeat(d)}${']'.repeat(d)},${text.slice(1)}` : '['.repeat(d) + ']'.repeat(d);
  }
  if (op === 0) {
    const m = /"([^"\\]{1,40})":/.exec(text.slice(rng.int(Math.max(1, text.length - 50))));
    if (m) {
      log.push(`duplicate key ${m[1]}`);
      return text.replace(`"${m[1]}":`, `"${m[1]}": 1, "${m[1]}":`);
    }
  }
  if (op === 1) {
    log.push('number -> NaN');
    return text.replace(/: ?-?\d+(\.\d+)?/, ': NaN');
  }
  if (op === 2) {
    log.push('trailing comma');
    return text.replace(/\}\s*$/, ',}');
  }
  if (op === 3) {
    log.push('UTF-8 BOM');
    return '\uFEFF' + text;
  }
  if (op === 4) {
    const at = rng.int(text.length + 1);
    log.push(`truncate text at ${at}`);
    return text.slice(0, at);
  }
  log.push('huge exponent number');
  return text.replace(/: ?\d+/, ': 1e999999');
}
