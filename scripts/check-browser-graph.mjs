#!/usr/bin/env node
// The browser build loads no Node built-in: walk the static import graph of dist/browser.js
// (import/export-from, side-effect imports; resolved relative to each file, as a browser does)
// and fail on any `node:` or bare built-in specifier, and on any bare (package) specifier: the
// build must load as plain ES modules in a Worker, where import maps do not apply. Relative dynamic `import()`s are
// walked too (the backends are loaded that way), except the Node-only modules a shared module
// loads only when given a path (NODE_ONLY). A dynamic `import('node:…')` is allowed — it is how
// shared modules reach the file system only in Node — and listed with --verbose.
//
//   node scripts/check-browser-graph.mjs [--verbose]     exit 1 and one line per offence
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Packages the browser build may import by bare specifier: none. An import map would resolve
 *  them on the page, but a module Worker (where the model runs) sees no import map. */
export const MAPPED = [];
/** Loaded only on Node's code paths (a model or image given as a path), by dynamic import. */
export const NODE_ONLY = ['io/folder-source.js', 'io/fs.js', 'io/tokenizer-source.js', 'hub/cache.js'];

const STATIC_RE = /^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_RE = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** { modules: [rel paths], offences: [strings], dynamicBuiltins: [strings], bare: Set } */
export function browserGraph(entry = join(ROOT, 'dist', 'browser.js'), mapped = MAPPED, nodeOnly = NODE_ONLY) {
  const base = dirname(resolve(entry));
  const skipped = new Set();
  const seen = new Set();
  const offences = [];
  const dynamicBuiltins = [];
  const bare = new Set();
  const builtins = new Set(builtinModules);
  const stack = [resolve(entry)];
  while (stack.length) {
    const file = stack.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      offences.push(`${relative(ROOT, file)}: cannot read (${e.code ?? e.message})`);
      continue;
    }
    // comments may quote imports: drop them first (line and block; strings with // are rare in import lines)
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of code.matchAll(STATIC_RE)) {
      const spec = m[1] ?? m[2];
      const where = `${relative(ROOT, file)}: import '${spec}'`;
      if (spec.startsWith('./') || spec.startsWith('../')) stack.push(resolve(dirname(file), spec));
      else if (spec.startsWith('node:') || builtins.has(spec))
        offences.push(`${where}: a Node built-in at the top of a module the browser loads`);
      else if (mapped.some((p) => spec === p || spec.startsWith(`${p}/`))) bare.add(spec);
      else
        offences.push(
          `${where}: a package import (bare specifier${mapped.length ? ` other than ${mapped.join(', ')}` : ''}): a Worker has no import map to resolve it`,
        );
    }
    for (const m of code.matchAll(DYNAMIC_RE)) {
      const spec = m[1];
      if (spec.startsWith('node:')) dynamicBuiltins.push(`${relative(ROOT, file)}: import('${spec}')`);
      else if (spec.startsWith('./') || spec.startsWith('../')) {
        const target = resolve(dirname(file), spec);
        if (nodeOnly.includes(relative(base, target))) skipped.add(relative(ROOT, target));
        else stack.push(target);
      } else offences.push(`${relative(ROOT, file)}: import('${spec}'): a bare dynamic import`);
    }
  }
  return { modules: [...seen].map((f) => relative(ROOT, f)).sort(), offences, dynamicBuiltins, bare, nodeOnly: [...skipped].sort() };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const g = browserGraph();
  if (process.argv.includes('--verbose')) {
    console.log(`${g.modules.length} modules; bare: ${[...g.bare].join(', ') || 'none'}`);
    for (const d of g.dynamicBuiltins) console.log(`  dynamic (Node only, on use): ${d}`);
    for (const d of g.nodeOnly) console.log(`  Node-only module, loaded on use, not walked: ${d}`);
  }
  for (const o of g.offences) console.error(o);
  if (g.offences.length) process.exit(1);
  console.log(
    `browser graph: ${g.modules.length} modules from dist/browser.js, no node: import, bare specifiers ${[...g.bare].join(', ') || 'none'}`,
  );
}
