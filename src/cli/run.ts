// `ovis run` — the main job: answer a question about images. The answer streams to stdout
// (or, with --json, one JSON object at the end); progress goes to stderr.

import { InputError, UsageError } from '../errors.js';
import type { GenerateResult } from '../generate/generate.js';
import { OvisRunner } from '../runner.js';
import {
  ENGINE_OPTIONS,
  embeddedCheckpoint,
  engineValues,
  floatOption,
  formatOptions,
  intOption,
  type OptionSpecs,
  type OptionValues,
  parseOptions,
  progress,
  promptOption,
  REQUEST_OPTIONS,
  readImages,
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
  'do-sample': {
    type: 'boolean',
    default: 'off (greedy, as Ovis), on with --temperature/--top-k/--top-p',
    help: 'sample instead of greedy decoding',
  },
  temperature: {
    type: 'string',
    arg: 'T',
    default: '1 when sampling',
    help: 'sampling temperature; giving one turns sampling on, 0 means greedy',
  },
  'top-k': { type: 'string', arg: 'K', default: '0 = off', help: 'sample from the K likeliest tokens; turns sampling on' },
  'top-p': { type: 'string', arg: 'P', default: '1 = off', help: 'sample from the smallest set with probability >= P; turns sampling on' },
  'repetition-penalty': { type: 'string', arg: 'R', default: '1 = off', help: 'HF repetition_penalty (greedy decoding too)' },
  seed: { type: 'string', arg: 'S', default: '0', help: 'seed of the sampling PRNG' },
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

interface Sampling {
  doSample: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  note?: string;
}

/** The sampling decision above, with every contradiction refused rather than silently resolved. */
export function samplingValues(v: OptionValues<typeof OPTIONS>): Sampling {
  const temperature = floatOption('temperature', v.temperature, 0, 100);
  const topK = intOption('top-k', v['top-k'], undefined, 0, 2 ** 30);
  const topP = floatOption('top-p', v['top-p'], 0, 1);
  if (topP === 0) throw new UsageError(`--top-p must be in (0, 1], got '${v['top-p']}'`, '1 keeps every token (off)');
  const repetitionPenalty = floatOption('repetition-penalty', v['repetition-penalty'], 1e-6, 100);
  const seed = intOption('seed', v.seed, undefined, 0, 2 ** 31 - 1);
  const given = (['temperature', 'top-k', 'top-p'] as const).filter((k) => v[k] !== undefined).map((k) => `--${k}`);
  if (temperature === 0) {
    const clash = [...(v['do-sample'] ? ['--do-sample'] : []), ...given.filter((k) => k !== '--temperature')];
    if (clash.length) {
      throw new UsageError(
        `--temperature 0 means greedy decoding; ${clash.join(' and ')} asks for sampling`,
        'to sample, give a temperature > 0; for greedy, drop the sampling options',
      );
    }
    return {
      doSample: false,
      repetitionPenalty,
      seed,
      note: seed !== undefined ? 'note: --seed has no effect on greedy decoding' : undefined,
    };
  }
  const doSample = !!v['do-sample'] || given.length > 0;
  const note =
    !doSample && seed !== undefined
      ? 'note: --seed has no effect on greedy decoding (add --do-sample or --temperature T)'
      : doSample && !v['do-sample']
        ? `sampling on (${given.join(', ')} given; --temperature 0 for greedy)`
        : undefined;
  return { doSample, temperature, topK, topP, repetitionPenalty, seed, note };
}

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
