// Commands that run a script under Node, Deno and Bun from this repository's node_modules (the
// npm packages `deno` and `bun` ship the runtimes); shared by scripts/smoke-runtimes.mjs and
// bench/runtimes.mjs.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (n) => join(root, 'node_modules', '.bin', n);

// Bun's npm wrapper (node_modules/.bin/bun) works only once its postinstall has linked the
// binary (package.json's allowScripts lets npm 11 run it; `npm ci --ignore-scripts` would not);
// the binary itself ships in the optional platform package, so use it directly either way.
function bunBinary() {
  const oven = join(root, 'node_modules', '@oven');
  const arch = process.arch === 'x64' ? 'x64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  const want = `bun-${process.platform}-${arch}`;
  if (existsSync(oven)) {
    const dirs = readdirSync(oven)
      .filter((d) => d.startsWith(want))
      .sort((a, b) => a.length - b.length);
    for (const d of dirs) {
      const p = join(oven, d, 'bin', 'bun');
      if (existsSync(p)) return p;
    }
  }
  return bin('bun');
}

/** [name, argv] per runtime for `script args...`; Deno gets the permissions it needs. */
export function runtimeCommands(script, args = [], denoPerms = ['--allow-read', '--allow-env', '--allow-sys']) {
  return [
    ['node', [process.execPath, script, ...args]],
    ['deno', [bin('deno'), 'run', ...denoPerms, script, ...args]],
    ['bun', [bunBinary(), script, ...args]],
  ];
}
