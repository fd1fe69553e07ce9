// `ovis run` — the main job: answer a question about images. The answer streams to stdout
// (or, with --json, one JSON object at the end); progress goes to stderr.

import { InputError } from '../errors.js';
import type { GenerateResult } from '../generate/generate.js';
import { OvisRunner } from '../runner.js';
import {
  ENGINE_OPTIONS,
  embeddedCheckpoint,
  engineValues,
  formatOptions,
  intOption,
  type OptionSpecs,
  parseOptions,
  progress,
  promptOption,
  REQUEST_OPTIONS,
  readImages,
  SAMPLING_OPTIONS,
  samplingValues,
} from './common.js';

const OPTIONS = {
  model: {
    type: 'string',
    arg: 'DIR',
    default: 'the embedded tiny checkpoint, random weights',
    help: 'Ovis1.6 checkpoint: a directory, or org/name[@rev] in the HF cache',
  },
  ...REQUEST_OPTIONS,
  'max-new-tokens': { type: 'string', arg: 'K', default: '512, 24 with the embedded checkpoint', help: 'at most K generated tokens' },
  ...SAMPLING_OPTIONS,
  json: { type: 'boolean', help: 'print one JSON object at the end (output, ids, token counts, timings)\ninstead of streaming the text' },
  'low-memory': {
    type: 'boolean',
    help: 'hold one half of the model at a time: load the vision half, encode the images,\nrelease it, then load the LLM (peak = the larger half; same answer)',
  },
  ...ENGINE_OPTIONS,
} as const satisfies OptionSpecs;

const HELP = `usage: ovis run [--model DIR] [--image PATH]... --prompt TEXT [options]

Answer a question about zero or more images. Without --model, the embedded tiny checkpoint
(random weights: it exercises the whole pipeline, its answers are noise) is used.

Decoding is greedy (Ovis's default) unless sampling is asked for: --do-sample, or any of
--temperature, --top-k, --top-p (as in llama.cpp; HF would warn and ignore them). --temperature 0
means greedy, as in the OpenAI API.

options:
${formatOptions(OPTIONS)}`;

export async function main(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('run', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  // every option is checked before stdin, the images or the weights are read
  const engine = engineValues(v);
  const maxPartition = intOption('max-partition', v['max-partition'], 9, 1, 9);
  const maxNewTokens = intOption('max-new-tokens', v['max-new-tokens'], v.model ? 512 : 24, 0, 1 << 20);
  const { note, ...sampling } = samplingValues(v);
  if (v.prompt === undefined)
    throw new InputError('--prompt is required', 'e.g. --prompt "What is in this picture?", or --prompt - to read it from stdin');
  const prompt = (await promptOption(v.prompt))!;
  const images = await readImages(v.image ?? []);
  const say = progress(v.quiet);
  const dir = v.model ?? (await embeddedCheckpoint());
  if (!v.model) say(`no --model: using the embedded tiny checkpoint ${dir} (random weights)`);
  if (note) say(note);
  const t0 = performance.now();
  const runner = await OvisRunner.load(dir, {
    maxPartition,
    maxNewTokens,
    ...sampling,
    ...engine,
    lowMemory: !!v['low-memory'],
    onProgress: say,
  });
  const loadMs = performance.now() - t0;
  let output = '';
  let generation: GenerateResult | undefined;
  try {
    for await (const ev of runner.streamQuery({ prompt, images })) {
      if (ev.type === 'start') say(`prompt: ${ev.promptTokens} tokens`);
      else if (ev.type === 'text') {
        if (v.json) output += ev.text;
        else process.stdout.write(ev.text);
      } else if (ev.type === 'done') {
        generation = ev.generation;
        if (!v.json) process.stdout.write('\n');
      }
    }
  } finally {
    runner.dispose();
  }
  if (v.json) {
    const g = generation!;
    const ms = (x: number) => Math.round(x * 10) / 10;
    process.stdout.write(
      JSON.stringify({
        output,
        ids: g.ids,
        prompt_tokens: g.promptTokens,
        completion_tokens: g.ids.length,
        stop_reason: g.stopReason,
        timings: {
          load_ms: ms(loadMs),
          prefill_ms: ms(g.prefillMs),
          decode_ms: ms(g.decodeMs),
          total_ms: ms(performance.now() - t0),
          tokens_per_second: Math.round(g.tokensPerSecond * 100) / 100,
        },
      }) + '\n',
    );
  }
  return 0;
}
