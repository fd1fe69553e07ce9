// Proves the package works outside Node: under Node, Deno and Bun (the npm packages `deno` and
// `bun` ship the runtimes) it runs
//   core      scripts/smoke-core.mjs — safetensors, a wasm kernel vs its ts twin, both tiny models
//             on 2 worker threads (a module with top-level await);
//   callbacks scripts/smoke-callbacks.mjs — the runner from a script WITHOUT top-level await, with
//             the default thread count;
//   cli ×3    `ovis run` itself, default threads, three times (a worker-start race once made Bun
//             exit 0 with no output in 12 of 14 runs).
// Every answer must be Hugging Face's: the greedy ids / decoded text of the 'square' dump.
// Prints 'N passed, N failed'; exits 1 on any failure.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, runtimeCommands } from './runtimes.mjs';

const ref = JSON.parse(readFileSync(join(root, 'reference/fixtures/dumps/llama/square__f32.json'), 'utf8'));
const CLI_RUNS = 3;
const cliArgs = [
  'run',
  '--image',
  'reference/fixtures/images/square.png',
  '--prompt',
  ref.user_prompt,
  '--max-new-tokens',
  String(ref.generated_ids.length),
  '--max-partition',
  String(ref.max_partition),
  '--quiet',
];

/** [label, script, args, check(stdout) -> problem | undefined] */
const checks = [
  [
    'core',
    join(root, 'scripts', 'smoke-core.mjs'),
    [],
    (out, first) => {
      const o = JSON.parse(out.trim().split('\n').pop());
      if (first && JSON.stringify(o.ids) !== JSON.stringify(first.ids)) return `ids ${JSON.stringify(o.ids)} differ from node's`;
      return undefined;
    },
  ],
  [
    'callbacks',
    join(root, 'scripts', 'smoke-callbacks.mjs'),
    [],
    (out) => {
      const o = JSON.parse(out.trim().split('\n').pop());
      return o.ids.length === 8 ? undefined : `expected 8 ids, got ${JSON.stringify(o.ids)}`;
    },
  ],
  ...Array.from({ length: CLI_RUNS }, (_, i) => [
    `cli ${i + 1}/${CLI_RUNS}`,
    join(root, 'dist', 'cli', 'main.js'),
    cliArgs,
    (out) =>
      out === ref.generated_text + '\n'
        ? undefined
        : `stdout ${JSON.stringify(out.slice(0, 120))} is not Hugging Face's text ${JSON.stringify(ref.generated_text)}`,
  ]),
];

let passed = 0;
let failed = 0;
const coreByNode = {};
for (const [label, script, args, check] of checks) {
  // Deno gets exactly the permissions README documents: read files, and the environment (HF_*
  // variables, HOME for the model cache).
  for (const [name, [cmd, ...argv]] of runtimeCommands(script, args, ['--allow-read', '--allow-env'])) {
    const t0 = Date.now();
    const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    let problem;
    if (r.status !== 0 || r.error) problem = `exit ${r.status}${r.error ? ' ' + r.error.message : ''}`;
    else if (!r.stdout) problem = 'exit 0 but nothing on stdout';
    else {
      try {
        problem = check(r.stdout, label === 'core' ? coreByNode.core : undefined);
      } catch (e) {
        problem = `unreadable output (${e.message}): ${r.stdout.slice(0, 200)}`;
      }
      if (!problem && label === 'core' && name === 'node') coreByNode.core = JSON.parse(r.stdout.trim().split('\n').pop());
    }
    if (problem) {
      failed++;
      console.log(`FAIL ${name.padEnd(4)} ${label} (${secs} s): ${problem}\n${(r.stderr ?? '').slice(-2000)}`);
    } else {
      passed++;
      console.log(`ok   ${name.padEnd(4)} ${label} (${secs} s)`);
    }
  }
}
console.log(`runtimes: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
