#!/usr/bin/env node
// Every pointer resolves. Fails (exit 1), listing `file:line: target (why)`, when
//   - a relative link of a markdown page (docs/, README.md, reference/README.md) or an href of
//     an SVG figure in docs/ names a file that does not exist, or an anchor (`page.md#id`)
//     that is not a heading of that page (GitHub's heading ids, or an <a id>);
//   - a repository path cited in those pages' text or in a comment of the code in src/,
//     kernels/, test/, bench/, scripts/, fuzz/ does not exist: paths from the root
//     (`src/model/llama.ts`, `docs/architecture.md#legend`, `test/kernels/row-ops.test.ts`,
//     `reference/fixtures/tiny/{llama,gemma2}`) and, in code comments, ./ and ../ paths
//     that name a file, from the citing file's folder (an ESM `.js` name counts for its `.ts`);
//   - `page.md §N` names a page without a heading numbered N (`## 4. ...`), or the design
//     notes are cited under their old, out-of-repository name (they are docs/design.md).
// A `{a,b}` group must exist for each alternative, `{i}` and `*` stand for any name, and
// folders .gitignore names (dist/, fuzz/out/) count as present.
// Exceptions, if ever needed, go in an allowlist file check-links.allow beside this script, one `file:target` per line.
//
// Usage: node scripts/check-links.mjs [--root DIR]      (DIR defaults to this repository)
// test/docs/links.test.ts runs it on the repository and on a fixture with broken pointers.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOP = ['src', 'docs', 'test', 'kernels', 'bench', 'scripts', 'reference', 'fuzz'];
const CODE_DIRS = ['src', 'kernels', 'test', 'bench', 'scripts', 'fuzz'];
const CODE_EXT = /\.(ts|mts|mjs|js|cjs)$/;
// A path cited in prose: a top-level folder or ./ ../ then path characters; stops before
// trailing punctuation. `{i}` and `*` are kept (placeholders / globs).
const SEG = String.raw`(?:[\w.*-]|\{[\w.,-]*\})+`;
const PATH_RE = new RegExp(
  String.raw`(?<![\w@.\/-])((?:\.\.?\/)+${SEG}(?:\/${SEG})*\/?|(?:${TOP.join('|')})\/(?:${SEG}\/?)*)(#[\w-]+)?(?![\w(/{*-])`,
  'g',
);
const SECTION_RE = /(?<![\w/.-])((?:[\w-]+\/)*[\w-]+\.md) §\s?(\d+)/g;

/** Files under `dir` (relative to root), recursively, skipping node_modules, .git, dist. */
function walk(root, dir, out = []) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return out;
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === '.git' || e.name === 'dist' || e.name === '.venv' || e.name === 'out') continue;
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) walk(root, rel, out);
    else out.push(rel);
  }
  return out;
}

/** GitHub's heading id: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
export function slugs(markdown) {
  const ids = new Set();
  const seen = new Map();
  let fence = null;
  for (const line of markdown.split('\n')) {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) {
      fence = fence === null ? f[1][0] : f[1][0] === fence ? null : fence;
      continue;
    }
    if (fence !== null) continue;
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) ids.add(m[1]);
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const text = h[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
      .replace(/<[^>]+>/g, '') //                   inline html
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(text) ?? 0;
    seen.set(text, n + 1);
    ids.add(n === 0 ? text : `${text}-${n}`);
  }
  return ids;
}

/** Numbers of the numbered headings of a page: `## 4. JPEG ...` -> '4'. */
function sectionNumbers(markdown) {
  const out = new Set();
  for (const m of markdown.matchAll(/^#{1,6}\s+(\d+)[.)\s]/gm)) out.add(m[1]);
  return out;
}

/** The comments of a JS/TS source, as [line, text] pieces (strings, templates, regexes skipped). */
export function comments(src) {
  const out = [];
  let i = 0;
  let line = 1;
  let prev = ''; // prev: last significant code char, to tell a regex from a division
  const n = src.length;
  const push = (start, end, startLine) => {
    const text = src.slice(start, end).split('\n');
    text.forEach((t, k) => out.push([startLine + k, t]));
  };
  while (i < n) {
    const c = src[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      const end = src.indexOf('\n', i);
      const e = end < 0 ? n : end;
      push(i + 2, e, line);
      i = e;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const e = end < 0 ? n : end;
      const startLine = line;
      push(i + 2, e, startLine);
      for (let k = i; k < e; k++) if (src[k] === '\n') line++;
      i = e + 2;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      i = skipString(src, i, c, () => line++);
      prev = 'a';
      continue;
    }
    if (
      c === '/' &&
      (prev === '' ||
        /[(,=:[!&|?{};+\-*%<>~^]/.test(prev) ||
        /\b(return|typeof|case|of|in)$/.test(src.slice(Math.max(0, i - 8), i).trimEnd()))
    ) {
      // a regex literal: up to the unescaped / outside a class
      let k = i + 1;
      let cls = false;
      while (k < n && src[k] !== '\n') {
        if (src[k] === '\\') {
          k += 2;
          continue;
        }
        if (src[k] === '[') cls = true;
        else if (src[k] === ']') cls = false;
        else if (src[k] === '/' && !cls) break;
        k++;
      }
      i = k + 1;
      prev = 'a';
      continue;
    }
    if (!/\s/.test(c)) prev = c;
    i++;
  }
  return out;
}

/** Index past the string starting at i (quote q); template literals with nested `${}` code. */
function skipString(src, i, q, nl) {
  let k = i + 1;
  while (k < src.length) {
    const c = src[k];
    if (c === '\\') {
      if (src[k + 1] === '\n') nl();
      k += 2;
      continue;
    }
    if (c === '\n') {
      nl();
      if (q !== '`') return k;
    }
    if (c === q) return k + 1;
    if (q === '`' && c === '$' && src[k + 1] === '{') {
      let depth = 1;
      k += 2;
      while (k < src.length && depth > 0) {
        const d = src[k];
        if (d === "'" || d === '"' || d === '`') {
          k = skipString(src, k, d, nl);
          continue;
        }
        if (d === '\n') nl();
        if (d === '{') depth++;
        else if (d === '}') depth--;
        k++;
      }
      continue;
    }
    k++;
  }
  return k;
}

/** The prose of a markdown page as [line, text], fenced code kept (it cites paths too). */
function markdownLines(md) {
  return md.split('\n').map((t, k) => [k + 1, t]);
}

export function checkLinks(root) {
  root = resolve(root);
  const problems = [];
  let checked = 0;
  const mdCache = new Map();
  const page = (abs) => {
    if (!mdCache.has(abs)) {
      const md = readFileSync(abs, 'utf8');
      mdCache.set(abs, { ids: slugs(md), sections: sectionNumbers(md) });
    }
    return mdCache.get(abs);
  };
  const allow = new Set();
  const allowFile = join(root, 'scripts', 'check-links.allow');
  if (existsSync(allowFile)) {
    for (const l of readFileSync(allowFile, 'utf8').split('\n')) {
      const t = l.replace(/#.*$/, '').trim();
      if (t) allow.add(t);
    }
  }
  const report = (file, line, target, why) => {
    if (allow.has(`${file}:${target}`)) return;
    problems.push({ file, line, target, why });
  };
  const files = new Set(walk(root, '').map((f) => f.split(sep).join('/')));

  // Folders .gitignore names (dist/, fuzz/out/, ...): cited as outputs, absent from a checkout.
  const ignored = existsSync(join(root, '.gitignore'))
    ? readFileSync(join(root, '.gitignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^\/?[\w./-]+\/$/.test(l))
        .map((l) => l.replace(/^\//, ''))
    : [];

  /** Does `p` (absolute; may hold `*`, `{a,b}` alternatives or a `{i}` placeholder) exist? */
  const exists = (p) => {
    const rel = relative(root, p).split(sep).join('/');
    if (ignored.some((d) => (rel + '/').startsWith(d))) return true;
    const alt = /\{([^}]*,[^}]*)\}/.exec(rel);
    if (alt) return alt[1].split(',').every((a) => exists(join(root, rel.slice(0, alt.index) + a + rel.slice(alt.index + alt[0].length))));
    if (!/[*{]/.test(rel)) return existsSync(p) || (p.endsWith('.js') && existsSync(p.slice(0, -3) + '.ts')); // ESM import names
    const re = new RegExp(
      '^' +
        rel
          .replace(/[.+^$()|[\]\\]/g, '\\$&')
          .replace(/\{[^}]*\}/g, '[^/]+')
          .replace(/\*/g, '[^/]*') +
        '(/|$)',
    );
    for (const f of files) if (re.test(f)) return true;
    return false;
  };

  /** Check one target (path#anchor) resolved against `base` (an absolute dir). */
  const checkTarget = (file, line, raw, base) => {
    checked++;
    const hashAt = raw.indexOf('#');
    const path = hashAt < 0 ? raw : raw.slice(0, hashAt);
    const anchor = hashAt < 0 ? '' : raw.slice(hashAt + 1);
    const abs = path === '' ? join(root, file) : resolve(base, decodeURIComponent(path));
    if (!abs.startsWith(root)) return report(file, line, raw, 'outside the repository');
    if (!exists(abs)) return report(file, line, raw, 'no such file');
    if (anchor && abs.endsWith('.md') && statSync(abs).isFile() && !page(abs).ids.has(anchor)) {
      report(file, line, raw, `no heading with id #${anchor}`);
    }
  };

  const checkSections = (file, line, text, base) => {
    for (const m of text.matchAll(SECTION_RE)) {
      checked++;
      const p = [resolve(base, m[1]), resolve(root, m[1]), resolve(root, 'docs', m[1])].find((x) => existsSync(x));
      if (!p) {
        report(file, line, `${m[1]} §${m[2]}`, 'no such file');
        continue;
      }
      if (!page(p).sections.has(m[2])) report(file, line, `${m[1]} §${m[2]}`, `no heading numbered ${m[2]}`);
    }
    if (/\bDESIGN\.md\b(?! §)/.test(text)) report(file, line, 'DESIGN.md', 'not in the repository (the design notes are docs/design.md)');
  };

  // `relative`: also check ./ and ../ paths (code comments, against the citing file; only
  // those naming a file with an extension: `../../blobs/` is a symlink's text, not a pointer).
  const checkPaths = (file, line, text, base, relativeToo) => {
    for (const m of text.matchAll(PATH_RE)) {
      const p = m[1].replace(/[.]+$/, '');
      if (p.startsWith('.')) {
        if (!relativeToo || !/\/[^/]*\w\.\w+$/.test(p)) continue;
        checkTarget(file, line, p + (m[2] ?? ''), base);
      } else {
        checkTarget(file, line, p + (m[2] ?? ''), root);
      }
    }
    checkSections(file, line, text, base);
  };

  // Markdown pages: every .md under docs/, README.md and reference/README.md.
  const pages = [...files].filter((f) => (f.startsWith('docs/') && f.endsWith('.md')) || f === 'README.md' || f === 'reference/README.md');
  for (const f of pages) {
    const md = readFileSync(join(root, f), 'utf8');
    const base = dirname(join(root, f));
    for (const [line, text] of markdownLines(md)) {
      // links [text](target) and ![alt](target), minus URLs
      const links = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
      for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)) links.push(m[1]);
      for (const t of links) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(t) || t.startsWith('/')) continue;
        checkTarget(f, line, t, base);
      }
      // paths cited in the text (outside links)
      const prose = text.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/https?:\/\/\S+/g, '');
      checkPaths(f, line, prose, base, false);
    }
  }
  // SVG figures in docs/: href="..."
  for (const f of [...files].filter((x) => x.startsWith('docs/') && x.endsWith('.svg'))) {
    const lines = readFileSync(join(root, f), 'utf8').split('\n');
    lines.forEach((text, k) => {
      for (const m of text.matchAll(/href="([^"]+)"/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(m[1]) || m[1].startsWith('#') || m[1].startsWith('/')) continue;
        checkTarget(f, k + 1, m[1], dirname(join(root, f)));
      }
    });
  }
  // Comments of the code.
  for (const f of [...files].filter((x) => CODE_DIRS.some((d) => x.startsWith(d + '/')) && CODE_EXT.test(x))) {
    const base = dirname(join(root, f));
    for (const [line, text] of comments(readFileSync(join(root, f), 'utf8'))) {
      checkPaths(f, line, text.replace(/https?:\/\/\S+/g, ''), base, true);
    }
  }
  problems.checked = checked;
  return problems;
}

function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf('--root');
  const root = at >= 0 ? args[at + 1] : join(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkLinks(root);
  for (const p of problems) process.stdout.write(`${p.file}:${p.line}: ${p.target} (${p.why})\n`);
  if (problems.length) {
    process.stdout.write(`check-links: ${problems.length} pointer(s) lead nowhere\n`);
    process.exit(1);
  }
  process.stdout.write(`check-links: every pointer resolves (${problems.checked} checked)\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
