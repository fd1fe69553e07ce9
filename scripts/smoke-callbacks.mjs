// Runtime smoke body without top-level await (run by scripts/smoke-runtimes.mjs under Node, Deno
// and Bun): the library as a plain script that chains promises, with the DEFAULT thread count.
// With no top-level await nothing holds the module open, so the process lives only as long as
// its event loop has work — the case where an unref'd worker pool once let Bun exit (status 0,
// no output) before the answer. Prints one JSON line: the greedy ids of the 'square' case.

import { readFileSync } from 'node:fs';
import { OvisRunner } from '../dist/runner.js';

const root = new URL('..', import.meta.url).pathname;
const ref = JSON.parse(readFileSync(root + 'reference/fixtures/dumps/llama/square__f32.json', 'utf8'));
const image = new Uint8Array(readFileSync(root + 'reference/fixtures/images/square.png'));

OvisRunner.load(root + 'reference/fixtures/tiny/llama', { maxNewTokens: 8, maxPartition: ref.max_partition })
  .then((runner) =>
    runner.run([image, ref.user_prompt]).then((r) => {
      runner.dispose();
      const want = ref.generated_ids.slice(0, 8);
      if (JSON.stringify(r.generation.ids) !== JSON.stringify(want)) {
        throw new Error(`greedy ids ${JSON.stringify(r.generation.ids)} differ from Hugging Face's ${JSON.stringify(want)}`);
      }
      console.log(JSON.stringify({ ids: r.generation.ids, output: r.output }));
    }),
  )
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
