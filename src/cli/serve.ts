// `ovis serve` — the model behind HTTP: a chat page, the page's streaming API and an
// OpenAI-compatible /v1/chat/completions, one generation at a time with a bounded queue
// (src/server/). Runs under Node, Deno (--allow-net) and Bun with each runtime's own server.

import { UsageError } from '../errors.js';
import { OvisRunner } from '../runner.js';
import { listen } from '../server/adapters.js';
import { createServer, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_QUEUE } from '../server/handler.js';
import {
  ENGINE_OPTIONS,
  engineValues,
  floatOption,
  formatOptions,
  intOption,
  type OptionSpecs,
  parseOptions,
  progress,
  samplingValues,
} from './common.js';

const OPTIONS = {
  model: {
    type: 'string',
    arg: 'DIR|ORG/NAME',
    required: true,
    help: 'Ovis1.6 checkpoint: a directory, or org/name[@rev] in the HF cache',
  },
  host: { type: 'string', arg: 'HOST', default: '127.0.0.1', help: 'address to listen on (0.0.0.0: every interface; then set --api-key)' },
  port: { type: 'string', arg: 'N', default: '8000', help: 'port to listen on (0: any free port)' },
  'api-key': {
    type: 'string',
    arg: 'KEY',
    default: 'none, no authentication',
    help: 'require `Authorization: Bearer KEY` on /v1/* and /api/*',
  },
  'max-queue': {
    type: 'string',
    arg: 'N',
    default: String(DEFAULT_MAX_QUEUE),
    help: 'requests that may wait behind the running one; more get 429',
  },
  'max-body-mb': {
    type: 'string',
    arg: 'N',
    default: String(DEFAULT_MAX_BODY_BYTES / 2 ** 20),
    help: 'largest request body (images are base64 inside it)',
  },
  'cache-mb': {
    type: 'string',
    arg: 'N',
    default: '512',
    help: 'visual-embedding cache: images resent in later turns are not encoded again',
  },
  // defaults of every request (a request's own fields override them)
  'max-new-tokens': { type: 'string', arg: 'K', default: '512', help: 'default answer length in tokens (max_tokens overrides)' },
  'max-partition': { type: 'string', arg: 'N', default: '9', help: 'default crops per image, 1..9' },
  'do-sample': { type: 'boolean', default: 'off (greedy, as Ovis)', help: 'sample by default instead of greedy decoding' },
  temperature: {
    type: 'string',
    arg: 'T',
    default: '1 when sampling',
    help: 'default sampling temperature; turns sampling on, 0 means greedy',
  },
  'top-k': { type: 'string', arg: 'K', default: '0 = off', help: 'default top-k; turns sampling on' },
  'top-p': { type: 'string', arg: 'P', default: '1 = off', help: 'default top-p; turns sampling on' },
  'repetition-penalty': { type: 'string', arg: 'R', default: '1 = off', help: 'default HF repetition_penalty' },
  seed: { type: 'string', arg: 'S', default: '0', help: 'default seed of the sampling PRNG' },
  ...ENGINE_OPTIONS,
} as const satisfies OptionSpecs;

const HELP = `usage: ovis serve --model DIR|ORG/NAME [--host 127.0.0.1] [--port 8000] [options]

Serve the model over HTTP (docs/serve.md):
  GET  /                     a chat page
  POST /v1/chat/completions  OpenAI-compatible (images as data: URLs; stream or not)
  POST /api/chat             the page's event stream
  GET  /v1/models, /health
One generation runs at a time; --max-queue more wait, in order. Prints
\`listening on http://HOST:PORT\` on stderr when ready, then one line per request.
SIGINT/SIGTERM stop it: no new requests, the running generation is aborted, exit 0.

options:
${formatOptions(OPTIONS)}`;

export async function main(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('serve', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  // every option is checked before the weights are read
  if (!v.model) throw new UsageError('--model is required', 'e.g. --model AIDC-AI/Ovis1.6-Llama3.2-3B, or a checkpoint folder');
  const engine = engineValues(v);
  const port = intOption('port', v.port, 8000, 0, 65535)!;
  const host = v.host ?? '127.0.0.1';
  if (host.trim() === '') throw new UsageError('--host must not be empty');
  const maxQueue = intOption('max-queue', v['max-queue'], DEFAULT_MAX_QUEUE, 0, 1 << 16)!;
  const maxBodyMb = floatOption('max-body-mb', v['max-body-mb'], 0.001, 4096) ?? DEFAULT_MAX_BODY_BYTES / 2 ** 20;
  const cacheMb = intOption('cache-mb', v['cache-mb'], undefined, 0, 1 << 20);
  const maxPartition = intOption('max-partition', v['max-partition'], 9, 1, 9);
  const maxNewTokens = intOption('max-new-tokens', v['max-new-tokens'], 512, 1, 1 << 20);
  const { note, ...sampling } = samplingValues(v);
  if (v['api-key'] !== undefined && v['api-key'].trim() === '') throw new UsageError('--api-key must not be empty');

  const say = progress(v.quiet);
  if (note) say(note);
  // progress of loading only: per-request progress would drown the request log
  let loading = true;
  const runner = await OvisRunner.load(v.model, {
    maxPartition,
    maxNewTokens,
    ...sampling,
    ...engine,
    cacheMb,
    onProgress: (m) => {
      if (loading) say(m);
    },
  });
  loading = false;
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const server = createServer(runner, {
    model: v.model,
    apiKey: v['api-key'],
    maxQueue,
    maxBodyBytes: Math.round(maxBodyMb * 2 ** 20),
    log,
  });
  let listening: Awaited<ReturnType<typeof listen>>;
  try {
    listening = await listen(server.handle, { hostname: host, port, maxBodyBytes: Math.round(maxBodyMb * 2 ** 20) });
  } catch (e) {
    runner.dispose();
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE' || (e as Error).name === 'AddrInUse')
      throw new UsageError(`--port ${port}: the address ${host}:${port} is in use`, 'pick another --port, or --port 0 for any free one');
    throw e;
  }
  process.stderr.write(`listening on ${listening.url} (${listening.runtime}; model ${server.modelIds[0]})\n`);

  const signal = await new Promise<string>((resolve) => {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(s));
  });
  process.stderr.write(`${signal}: shutting down\n`);
  const stopped = server.close(); // refuse new requests, abort the running generation
  await Promise.all([stopped, listening.close()]);
  runner.dispose();
  return 0;
}
