#!/usr/bin/env node
// Imports run downhill: every module of src/ belongs to a layer, and a module may import only
// from its own folder or from a lower layer. The order below is the project's architecture
// (docs/README.md "Layers"): bytes and files at the bottom, then configs, operators and
// backends, the model, generation, the runner, and the front ends on top. A folder pair that
// imports each other, or a model file that reaches up into generation, fails this check.
//
//   node scripts/check-imports.mjs [--graph]    exit 1 and one line per offending import
//
// `--graph` prints the folder-level graph (edges with their import counts) instead.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Layers, lowest first. A name is a folder of src/ or a top-level file of src/ (without .ts). */
export const LAYERS = [
  ['errors', 'dtype', 'constants', 'progress'], // leaves: no imports from src/
  ['tensor'],
  ['io', 'hub', 'trace'], //          bytes, files, the Hub cache; stage taps (a leaf model code calls)
  ['quant'], //                       GPTQ format, validation, round-to-nearest (no model, no files)
  ['config'], //                      config.json & friends, parsed and checked
  ['checkpoint'], //                  a checkpoint folder: configs + safetensors shards; synthesis
  ['tokenizer', 'image', 'ops'], //   tokenizer.json, pixels, the readable operators
  ['chat', 'backend'], //             conversation formats; the backends (ts wraps ops, wasm kernels)
  ['model'], //                       SigLIP, visual tokenizer, VTE, merge, Llama, Gemma2, KV cache
  ['generate'], //                    the decode loop and samplers
  ['conversation-types'], //          the chat API's types (server and runner share them)
  ['conversation'], //                multi-turn state: KV-cache reuse, image cache
  ['runner'],
  ['parity', 'server'], //            parity driver (runs the runner); the HTTP server
  ['browser'], //                     the browser build's API (no node: import in its graph)
  ['cli', 'index'], //                the entry points: the CLI; the package for Node = browser's API + Node-only parts
];

const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i])));

/** Layer name of a path relative to src/: its first folder, or the file name without .ts. */
function unitOf(rel) {
  const parts = rel.split('/');
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
}

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'generated' ? [] : walk(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import/export-from of src/: { from, to, line, spec } with paths relative to src/. */
export function importsOf(srcDir) {
  const out = [];
  for (const file of walk(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(
      /^\s*(?:import|export)\b[^'";]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm,
    )) {
      const spec = m[1] ?? m[2] ?? m[3];
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const line = text.slice(0, m.index + m[0].indexOf(spec)).split('\n').length;
      out.push({ from: relative(srcDir, file), to: relative(srcDir, target), line, spec });
    }
  }
  return out;
}

/** Imports that go up (or sideways into a unit with no layer). */
export function violations(srcDir) {
  const bad = [];
  for (const imp of importsOf(srcDir)) {
    const a = unitOf(imp.from);
    const b = unitOf(imp.to);
    if (a === b) continue;
    const ra = rank.get(a);
    const rb = rank.get(b);
    if (ra === undefined) bad.push({ ...imp, why: `src/${imp.from} is in no layer (add '${a}' to LAYERS in scripts/check-imports.mjs)` });
    else if (rb === undefined) bad.push({ ...imp, why: `'${b}' is in no layer (add it to LAYERS in scripts/check-imports.mjs)` });
    else if (rb >= ra) bad.push({ ...imp, why: `${a} (layer ${ra}) imports ${b} (layer ${rb}): imports must run to a lower layer` });
  }
  return bad;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  if (process.argv.includes('--graph')) {
    const edges = new Map();
    for (const imp of importsOf(srcDir)) {
      const a = unitOf(imp.from);
      const b = unitOf(imp.to);
      if (a !== b) edges.set(`${a} -> ${b}`, (edges.get(`${a} -> ${b}`) ?? 0) + 1);
    }
    for (const [e, n] of [...edges].sort()) console.log(`${e}  (${n})`);
  } else {
    const bad = violations(srcDir);
    for (const v of bad) console.log(`src/${v.from}:${v.line}: imports '${v.spec}' — ${v.why}`);
    if (bad.length) process.exit(1);
    console.log(`imports run downhill: ${importsOf(srcDir).length} relative imports checked against ${LAYERS.length} layers`);
  }
}
