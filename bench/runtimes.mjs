#!/usr/bin/env node
// The same kernels under Node, Deno and Bun (`npm run bench:runtimes`): runs bench/kernels.mjs
// in each runtime back to back (same machine, same build, no native baseline) and prints each
// kernel's rate with its ratio to Node's, at 1 and 2 threads. The bar: Deno and Bun
// reach >= 70% of Node's GEMM (docs/kernels.md). Writes JSON with --json FILE and an SVG chart (--svg FILE,
// default docs/img/runtimes-bench.svg).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, runtimeCommands } from '../scripts/runtimes.mjs';
import { args, opt } from './args.mjs';

const jsonOut = opt('--json', undefined);
const svgOut = opt('--svg', join(root, 'docs', 'img', 'runtimes-bench.svg'));
const quick = args.includes('--quick');
const log = (s) => process.stderr.write(s + '\n');

const tmp = mkdtempSync(join(tmpdir(), 'ovis-runtimes-'));
const results = {};
try {
  const script = join(root, 'bench', 'kernels.mjs');
  for (const [name] of runtimeCommands(script)) {
    const json = join(tmp, `${name}.json`);
    const benchArgs = ['--threads', '1,2', '--no-native', '--json', json, '--svg', join(tmp, `${name}.svg`), ...(quick ? ['--quick'] : [])];
    const [, [cmd, ...argv]] = runtimeCommands(script, benchArgs, ['--allow-read', '--allow-write', '--allow-env', '--allow-sys']).find(
      ([n]) => n === name,
    );
    log(`== ${name}`);
    const t0 = Date.now();
    const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', timeout: 900_000, env: { ...process.env, NO_COLOR: '1' } });
    if (r.status !== 0) throw new Error(`bench/kernels.mjs under ${name} failed (exit ${r.status}):\n${(r.stderr ?? '').slice(-2000)}`);
    results[name] = JSON.parse(readFileSync(json, 'utf8'));
    log(`   ${results[name].runtime}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const names = Object.keys(results);
const key = (r) => `${r.kernel} ${r.shape}`;
const keys = [...new Set(results.node.rows.map(key))];
const rate = (rt, k, t) => results[rt].rows.find((r) => key(r) === k && r.threads === t);
const table = [];
console.log(`kernel rates per runtime (kernel time; % = of Node's rate in this run): ${names.map((n) => results[n].runtime).join(', ')}`);
console.log(['kernel', 'unit', ...[1, 2].flatMap((t) => names.map((n) => `${n} ${t}T`))].join(' | '));
console.log(
  Array(2 + 2 * names.length)
    .fill('---')
    .join(' | '),
);
for (const k of keys) {
  const unit = rate('node', k, 1)?.unit ?? '';
  const cells = [1, 2].flatMap((t) =>
    names.map((n) => {
      const r = rate(n, k, t);
      const base = rate('node', k, t);
      if (!r || !base) return 'n/a';
      return n === 'node' ? r.rate.toFixed(1) : `${r.rate.toFixed(1)} (${((100 * r.rate) / base.rate).toFixed(0)}%)`;
    }),
  );
  table.push({
    kernel: k,
    unit,
    ...Object.fromEntries([1, 2].flatMap((t) => names.map((n) => [`${n}_${t}T`, rate(n, k, t)?.rate ?? null]))),
  });
  console.log([k, unit, ...cells].join(' | '));
}
if (jsonOut)
  writeFileSync(
    jsonOut,
    JSON.stringify(
      { date: new Date().toISOString(), runtimes: Object.fromEntries(names.map((n) => [n, results[n].runtime])), rows: table },
      null,
      2,
    ),
  );

// ---- SVG: Deno and Bun as % of Node per kernel, 1 and 2 threads ---------------------------
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const others = names.filter((n) => n !== 'node');
const rowH = 44;
const left = 250;
const width = 420;
const top = 56;
const H = top + keys.length * rowH + 50;
const W = left + width + 150;
const colors = { deno_1: '#4e79a7', deno_2: '#a0cbe8', bun_1: '#f28e2b', bun_2: '#ffbe7d' };
const x = (pct) => left + (width * Math.min(pct, 150)) / 150;
const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="10" y="20" font-size="15" font-weight="bold">ovis-ts wasm kernels in Deno and Bun, % of Node's rate</text>`,
  `<text x="10" y="38" fill="#555">same build, back-to-back runs (${esc(names.map((n) => results[n].runtime).join(', '))}, ${new Date().toISOString().slice(0, 10)})</text>`,
];
for (const p of [0, 50, 70, 100, 150])
  parts.push(
    `<line x1="${x(p)}" y1="${top - 4}" x2="${x(p)}" y2="${top + keys.length * rowH}" stroke="${p === 70 ? '#d62728' : p === 100 ? '#333' : '#ddd'}" stroke-dasharray="${p === 70 ? '4 3' : ''}"/>`,
    `<text x="${x(p)}" y="${top + keys.length * rowH + 14}" text-anchor="middle" fill="#555">${p}%</text>`,
  );
keys.forEach((k, i) => {
  const y0 = top + i * rowH;
  parts.push(`<text x="${left - 8}" y="${y0 + rowH / 2 + 4}" text-anchor="end">${esc(k)}</text>`);
  let j = 0;
  for (const n of others)
    for (const t of [1, 2]) {
      const r = rate(n, k, t);
      const base = rate('node', k, t);
      const pct = r && base ? (100 * r.rate) / base.rate : 0;
      const h = (rowH - 8) / (others.length * 2);
      const y = y0 + 2 + j++ * h;
      parts.push(
        `<rect x="${left}" y="${y}" width="${x(pct) - left}" height="${h - 1}" fill="${colors[`${n}_${t}`] ?? '#999'}"/>`,
        `<text x="${x(pct) + 4}" y="${y + h - 2}" font-size="9" fill="#333">${pct.toFixed(0)}%</text>`,
      );
    }
});
let lx = 10;
for (const n of others)
  for (const t of [1, 2]) {
    parts.push(
      `<rect x="${lx}" y="${H - 22}" width="12" height="12" fill="${colors[`${n}_${t}`] ?? '#999'}"/>`,
      `<text x="${lx + 16}" y="${H - 12}">${n} ${t} thread${t > 1 ? 's' : ''}</text>`,
    );
    lx += 120;
  }
parts.push(`<text x="${lx + 10}" y="${H - 12}" fill="#d62728">dashed: the 70% bar</text>`, '</svg>');
writeFileSync(svgOut, parts.join('\n') + '\n');
log(`wrote ${svgOut}`);
