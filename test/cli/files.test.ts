// Files the user names, through the built CLI: missing paths, directories
// where a file is expected (and the reverse), FIFOs (opening one blocks forever), and output paths
// checked BEFORE the work that writes them. Every case: exit 1 or 2, `error [CODE]` naming the
// path, no stack trace, and no hang (the spawn has a timeout).

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const TINY = join(ROOT, 'reference', 'fixtures', 'tiny', 'llama');
const SQUARE = join(ROOT, 'reference', 'fixtures', 'images', 'square.png');
const tmp = mkdtempSync(join(tmpdir(), 'ovis-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ovis(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 });
}
function expectTyped(args: string[], want: RegExp): void {
  const r = ovis(args);
  expect(r.error, 'the command hung').toBeUndefined();
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(/error \[[A-Z]+\]: /);
  expect(r.stderr).toMatch(want);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}
const mkfifo = (p: string) => execFileSync('mkfifo', [p]);

/** A copy of the tiny checkpoint with one file replaced by `make(path)`. */
function ckptWith(name: string, file: string, make: (p: string) => void): string {
  const d = join(tmp, name);
  cpSync(TINY, d, { recursive: true });
  rmSync(join(d, file), { force: true });
  make(join(d, file));
  return d;
}

describe('files named on the command line', () => {
  it('output paths are checked before the work', () => {
    expectTyped(
      ['preprocess', '--image', SQUARE, '--out', '/nonexistent-dir/x.safetensors'],
      /error \[IO\]: \/nonexistent-dir\/x\.safetensors: --out: cannot write here: its folder \/nonexistent-dir: no such file or directory/,
    );
    expectTyped(['preprocess', '--image', SQUARE, '--out', '.'], /--out: cannot write here: is a directory, expected a file name/);
    writeFileSync(join(tmp, 'afile'), 'x');
    expectTyped(['preprocess', '--image', SQUARE, '--png', 'afile'], /afile: --png: exists and is not a folder/);
    expectTyped(['synth', '--preset', 'micro-llama', '--out', 'afile'], /afile: --out: exists and is not a folder/);
    expectTyped(
      ['synth', '--preset', 'micro-llama', '--out', '/nonexistent-dir/sub'],
      /--out: cannot create the folder: its folder \/nonexistent-dir/,
    );
    // trace: refused before the model loads (no 'loaded' progress line)
    const r = ovis(['trace', '--model', TINY, '--prompt', 'hi', '--out', '/nonexistent-dir/t.safetensors']);
    expect(r.stderr).toMatch(/error \[IO\]: .*--out: cannot write here/);
    expect(r.stderr).not.toMatch(/loaded /);
    expectTyped(
      ['parity', '--model', TINY, '--reference', 'x.safetensors', '--json', '/nonexistent-dir/r.json'],
      /--json: cannot write here/,
    );
  });

  it('a FIFO as an image, a shard or a config is refused, not read (which would block forever)', () => {
    mkfifo(join(tmp, 'pipe.png'));
    expectTyped(['run', '--image', 'pipe.png', '--prompt', 'hi'], /image pipe\.png: is not a regular file \(a FIFO, socket or device\)/);
    expectTyped(['preprocess', '--image', 'pipe.png', '--out', 'o.safetensors'], /pipe\.png/);
    const shard = ckptWith('fifo-shard', 'model-00002-of-00002.safetensors', mkfifo);
    expectTyped(['inspect', shard], /model-00002-of-00002\.safetensors: cannot open: is not a regular file/);
    const cfg = ckptWith('fifo-config', 'config.json', mkfifo);
    expectTyped(['inspect', cfg], /config\.json: 1 problem\(s\):\n\s+- cannot read: is not a regular file/);
    const index = ckptWith('fifo-index', 'model.safetensors.index.json', mkfifo);
    expectTyped(['inspect', index], /model\.safetensors\.index\.json: cannot read: is not a regular file/);
    mkfifo(join(tmp, 'tok.json'));
    expectTyped(['tokenize', '--tokenizer', 'tok.json', '--text', 'hi'], /tok\.json: cannot read tokenizer\.json: is not a regular file/);
  });

  it('a directory where a file is expected (shard, single-file weights, config, index)', () => {
    const shard = ckptWith('dir-shard', 'model-00001-of-00002.safetensors', (p) => mkdirSync(p));
    expectTyped(['inspect', shard], /model-00001-of-00002\.safetensors: cannot open: is a directory, expected a file/);
    const single = ckptWith('dir-single', 'model.safetensors.index.json', (p) => {
      rmSync(p, { force: true });
      mkdirSync(p.replace('.index.json', ''));
    });
    expectTyped(['inspect', single], /model\.safetensors: cannot open: is a directory/);
    const cfg = ckptWith('dir-config', 'config.json', (p) => mkdirSync(p));
    expectTyped(['inspect', cfg], /config\.json: 1 problem\(s\):\n\s+- cannot read: is a directory/);
    const index = ckptWith('dir-index', 'model.safetensors.index.json', (p) => mkdirSync(p));
    expectTyped(['inspect', index], /model\.safetensors\.index\.json: cannot read: is a directory/);
    expectTyped(['run', '--model', join(tmp, 'nope'), '--prompt', 'hi'], /no such folder: .*nope/);
  });
});
