// The real `openai` npm client against `ovis serve` with the tiny checkpoint: a streamed and a
// non-streamed completion about an image, greedy, 8 tokens, must give exactly the text of
// `runner.run([image, prompt])`. In process (the node adapter), then the built CLI under Node,
// Deno and Bun (each runtime's own server; the client runs under Node), each stopped by SIGTERM
// with exit code 0.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error an .mjs module without types
import { runtimeCommands } from '../../scripts/runtimes.mjs';
import { OvisRunner, readImageFile } from '../../src/runner.js';
import { type Listening, listenNode } from '../../src/server/adapters.js';
import { createServer, type OvisServer } from '../../src/server/handler.js';

const ROOT = join(__dirname, '..', '..');
const MODEL = join(ROOT, 'reference', 'fixtures', 'tiny', 'llama');
const IMAGE = join(ROOT, 'reference', 'fixtures', 'images', 'square.png');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const PROMPT = 'What is in this picture?';
const MAX_TOKENS = 8;

let expected: { output: string; promptTokens: number; completionTokens: number };

beforeAll(async () => {
  const runner = await OvisRunner.load(MODEL, { maxNewTokens: MAX_TOKENS });
  const r = await runner.run([await readImageFile(IMAGE), PROMPT]);
  expected = { output: r.output, promptTokens: r.promptTokens, completionTokens: r.generation.ids.length };
  runner.dispose();
});

describe('openai client, in process (node adapter)', () => {
  let runner: OvisRunner;
  let server: OvisServer;
  let listening: Listening;
  beforeAll(async () => {
    runner = await OvisRunner.load(MODEL, { maxNewTokens: 64 });
    server = createServer(runner, { model: MODEL });
    listening = await listenNode(server.handle, { hostname: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await Promise.all([server.close(), listening.close()]);
    runner.dispose();
  });

  it('non-streamed and streamed completions equal runner.run', async () => {
    const client = new OpenAI({ baseURL: `${listening.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const url = `data:image/png;base64,${readFileSync(IMAGE).toString('base64')}`;
    const request = {
      model: 'llama',
      max_tokens: MAX_TOKENS,
      temperature: 0,
      messages: [
        {
          role: 'user' as const,
          content: [
            { type: 'image_url' as const, image_url: { url } },
            { type: 'text' as const, text: PROMPT },
          ],
        },
      ],
    };
    const r = await client.chat.completions.create(request);
    expect(r.choices[0].message.content).toBe(expected.output);
    expect(r.usage).toMatchObject({
      prompt_tokens: expected.promptTokens,
      completion_tokens: expected.completionTokens,
      total_tokens: expected.promptTokens + expected.completionTokens,
    });
    expect(r.choices[0].finish_reason).toBe(expected.completionTokens === MAX_TOKENS ? 'length' : 'stop');
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } })) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe(expected.output);
    // the same request again: the runner reused its KV cache for the prompt
    expect(usage!.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
    // an error arrives as the client's typed error
    await expect(client.chat.completions.create({ ...request, model: 'gpt-4o' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

/** Start `ovis serve` under a runtime; resolves with its URL once it prints `listening on`. */
function startServe(cmd: string, argv: string[]) {
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before listening:\n${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, exited, stderr: () => stderr };
}

const SERVE_ARGS = ['serve', '--model', MODEL, '--port', '0', '--quiet'];
const DENO_PERMS = ['--allow-read', '--allow-env', '--allow-sys', '--allow-net=127.0.0.1'];

describe.skipIf(!existsSync(CLI))('openai client against `ovis serve` under each runtime (built CLI)', () => {
  for (const [name, [cmd, ...argv]] of runtimeCommands(CLI, SERVE_ARGS, DENO_PERMS) as Array<[string, string[]]>) {
    it(`${name}: streamed and non-streamed equal runner.run; SIGTERM exits 0`, async () => {
      const s = startServe(cmd, argv);
      try {
        const url = await s.url;
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const r = spawnSync(process.execPath, [join(__dirname, 'openai-client.mjs'), url, IMAGE, PROMPT, String(MAX_TOKENS)], {
          encoding: 'utf8',
          timeout: 120_000,
        });
        expect(r.status, r.stderr + s.stderr()).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.models).toEqual([MODEL]);
        expect(out.nonStreamed.text).toBe(expected.output);
        expect(out.streamed.text).toBe(expected.output);
        const { prompt_tokens_details: cached, ...counts } = out.streamed.usage;
        expect(counts).toEqual({
          prompt_tokens: expected.promptTokens,
          completion_tokens: expected.completionTokens,
          total_tokens: expected.promptTokens + expected.completionTokens,
        });
        // the second request repeats the first: its prompt comes from the KV cache, all but the last position
        expect(cached.cached_tokens).toBe(expected.promptTokens - 1);
        expect(out.streamed.finish).toBe(out.nonStreamed.finish);
        // a client that disconnects mid-stream stops its generation (the runtime's request signal)
        const ac = new AbortController();
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          signal: ac.signal,
          body: JSON.stringify({
            model: 'llama',
            max_tokens: 1 << 20,
            stream: true,
            messages: [{ role: 'user', content: 'Count to a million.' }],
          }),
        });
        const reader = res.body!.getReader();
        await reader.read();
        expect((await (await fetch(`${url}/health`)).json()).busy).toBe(true);
        ac.abort();
        let busy = true;
        for (let i = 0; i < 500 && busy; i++) {
          await new Promise((r) => setTimeout(r, 20));
          busy = (await (await fetch(`${url}/health`)).json()).busy;
        }
        expect(busy, 'still generating after the client left').toBe(false);
        expect(out.nonStreamed.usage.prompt_tokens).toBe(expected.promptTokens);
      } finally {
        s.child.kill('SIGTERM');
      }
      expect(await s.exited, s.stderr()).toBe(0);
      expect(s.stderr()).toMatch(/SIGTERM: shutting down/);
      // stderr read to its end: the request log, one line per request
      const line = new RegExp(
        `POST /v1/chat/completions 200 prompt=${expected.promptTokens} cached=\\d+ completion=8 (queued=\\S+ )?ttft=\\d+\\.\\d\\ds [\\d.]+ tok/s`,
        'g',
      );
      expect(s.stderr().match(line), s.stderr()).toHaveLength(2);
      expect(s.stderr()).toMatch(/GET \/v1\/models 200/);
    });
  }
});
