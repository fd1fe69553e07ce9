// The browser build (dist/browser.js, after `npm run build`) reaches no Node built-in and no
// package: its import graph, walked as a browser resolves it (static imports and the backends'
// dynamic ones), holds no `node:` import and no bare specifier (a Worker has no import map); the Node-only modules (file sources, the Hub cache, the server) are
// outside it. The checker itself is shown to catch both kinds of offence. package.json's
// conditions send browsers and bundlers to the browser build, Node/Deno/Bun to the full one.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserGraph } from '../../scripts/check-browser-graph.mjs';

const ROOT = join(__dirname, '..', '..');

describe('the browser build', () => {
  it('dist/browser.js: no node: import and no package import in its graph', () => {
    const g = browserGraph();
    expect(g.offences).toEqual([]);
    // the walk reached the model, the readers and the kernels' host side
    for (const m of [
      'dist/runner.js',
      'dist/io/http-source.js',
      'dist/io/blob-source.js',
      'dist/checkpoint/checkpoint.js',
      'dist/image/decode-png.js',
      'dist/image/decode-webp.js',
      'dist/backend/wasm/pool.js',
      'dist/tokenizer/tokenizer.js',
      'dist/chat/formatters.js',
    ]) {
      expect(g.modules).toContain(m);
    }
    // and not the Node-only modules
    for (const m of [
      'dist/io/folder-source.js',
      'dist/io/fs.js',
      'dist/hub/cache.js',
      'dist/io/tokenizer-source.js',
      'dist/server/index.js',
      'dist/cli/main.js',
      'dist/chat/template.js',
    ]) {
      expect(g.modules).not.toContain(m);
    }
    expect(g.nodeOnly).toEqual(['dist/hub/cache.js', 'dist/io/folder-source.js', 'dist/io/fs.js', 'dist/io/tokenizer-source.js']);
    expect([...g.bare]).toEqual([]);
  });

  it('the checker flags a node: import, a bare built-in and an unmapped package, and follows re-exports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovis-graph-'));
    try {
      mkdirSync(join(dir, 'sub'));
      writeFileSync(
        join(dir, 'entry.js'),
        "export { a } from './sub/a.js';\nimport './side.js';\nconst f = () => import('node:os');\nconst g = () => import('./lazy.js');\n",
      );
      writeFileSync(join(dir, 'lazy.js'), "import { Worker } from 'node:worker_threads';\n");
      writeFileSync(
        join(dir, 'sub', 'a.js'),
        "import { readFileSync } from 'node:fs';\nimport { x } from '@huggingface/jinja';\nexport const a = 1;\n",
      );
      writeFileSync(
        join(dir, 'side.js'),
        "// import 'node:crypto' in a comment is not an import\nimport * as path from 'path';\nimport { PNG } from 'pngjs';\n",
      );
      const g = browserGraph(join(dir, 'entry.js'), ['@huggingface/jinja']);
      const lines = g.offences.map((o: string) => o.replace(/^.*?(sub\/a\.js|side\.js|lazy\.js)/, '$1')).sort();
      expect(lines).toEqual([
        "lazy.js: import 'node:worker_threads': a Node built-in at the top of a module the browser loads",
        "side.js: import 'path': a Node built-in at the top of a module the browser loads",
        "side.js: import 'pngjs': a package import (bare specifier other than @huggingface/jinja): a Worker has no import map to resolve it",
        "sub/a.js: import 'node:fs': a Node built-in at the top of a module the browser loads",
      ]);
      expect(g.dynamicBuiltins.map((d: string) => d.replace(/^.*entry/, 'entry'))).toEqual(["entry.js: import('node:os')"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('package.json: browsers and bundlers get dist/browser.js, Node/Deno/Bun dist/index.js', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const dot = pkg.exports['.'];
    expect(Object.keys(dot)[0]).toBe('types');
    expect(dot.browser).toEqual({ types: './dist/browser.d.ts', default: './dist/browser.js' });
    for (const c of ['node', 'deno', 'bun', 'default']) expect(dot[c]).toBe('./dist/index.js');
    // a condition before `browser` would win in a browser bundler: only `types` may precede it
    expect(Object.keys(dot).indexOf('browser')).toBe(1);
    expect(pkg.exports['./browser']).toEqual({ types: './dist/browser.d.ts', default: './dist/browser.js' });
  });
});
