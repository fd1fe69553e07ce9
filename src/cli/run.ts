// `ovis run` — the main job: answer a question about images. The answer streams to stdout;
// progress (weights loading, crops encoded, prefill, tokens/s) goes to stderr.

import { parseArgs } from 'node:util';
import { OvisRunner, readImageFile } from '../runner.js';
import { InputError } from '../errors.js';
import { MODEL_HELP, MODEL_OPTIONS, backendOption, kernelsOption, embeddedCheckpoint, floatOption, intOption, progress, usageErrors } from './common.js';

const HELP = `usage: ovis run [--model DIR] [--image PATH]... --prompt TEXT [options]

Answer a question about zero or more images. Without --model, the embedded tiny checkpoint
(random weights: it exercises the whole pipeline, its answers are noise) is used.

${MODEL_HELP}
  --do-sample            sample instead of greedy decoding (Ovis default: greedy)
  --temperature T  --top-k K  --top-p P  --repetition-penalty R  --seed S`;

export async function main(argv: string[]): Promise<number> {
  const { values: v } = usageErrors('run', () => parseArgs({ args: argv, strict: true, options: {
    ...MODEL_OPTIONS,
    'do-sample': { type: 'boolean' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
  } }));
  if (v.help) { process.stdout.write(HELP + '\n'); return 0; }
  if (v.prompt === undefined) throw new InputError('--prompt is required', 'e.g. --prompt "What is in this picture?"');
  const say = progress(v.quiet);
  const dir = v.model ?? embeddedCheckpoint();
  if (!v.model) say(`no --model: using the embedded tiny checkpoint ${dir} (random weights)`);
  const images = await Promise.all((v.image ?? []).map((p) => readImageFile(p)));
  const runner = await OvisRunner.load(dir, {
    maxPartition: intOption('max-partition', v['max-partition'], 9, 1, 9),
    maxNewTokens: intOption('max-new-tokens', v['max-new-tokens'], v.model ? 512 : 24, 0, 1 << 20),
    doSample: v['do-sample'] ?? false,
    temperature: floatOption('temperature', v.temperature, 1e-6, 100),
    topK: intOption('top-k', v['top-k'], undefined, 1, 1 << 30),
    topP: floatOption('top-p', v['top-p'], 0, 1),
    repetitionPenalty: floatOption('repetition-penalty', v['repetition-penalty'], 1e-6, 100),
    seed: intOption('seed', v.seed, undefined, 0, 2 ** 31 - 1),
    backend: backendOption(v.backend),
    threads: intOption('threads', v.threads, undefined, 1, 256),
    kernels: kernelsOption(v.kernels, backendOption(v.backend)),
    tokenizer: v.tokenizer,
    onProgress: say,
  });
  try {
    for await (const ev of runner.streamQuery({ prompt: v.prompt, images })) {
      if (ev.type === 'start') say(`prompt: ${ev.promptTokens} tokens`);
      else if (ev.type === 'text') process.stdout.write(ev.text);
      else if (ev.type === 'done') process.stdout.write('\n');
    }
  } finally {
    runner.dispose();
  }
  return 0;
}
