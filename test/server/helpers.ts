// Shared by the server tests: a scripted fake engine (what each request does is chosen by the
// last user message's text), and a live node:http server on 127.0.0.1:0.

import type { ChatEvent, ChatMessage, ChatResult, GenerationOptions } from '../../src/conversation-types.js';
import { ImageError, InputError } from '../../src/errors.js';
import { type Listening, listenNode } from '../../src/server/adapters.js';
import { type ChatEngine, createServer, type OvisServer, type ServerOptions } from '../../src/server/handler.js';

const tick = (ms = 0) => new Promise<void>((r) => setTimeout(r, ms));

function lastText(messages: ChatMessage[]): string {
  const c = messages[messages.length - 1].content;
  return typeof c === 'string'
    ? c
    : c
        .filter((p) => p.type === 'text')
        .map((p) => (p as { text: string }).text)
        .join('');
}

/**
 * The runner's contract without a model. The last user text picks the behaviour:
 *   'throw input' / 'throw image' / 'throw bug'  -> the error, before any event
 *   'hold'  -> streams '.' pieces until released (release()) or aborted, at most 4000 pieces
 *   anything else -> 'echo: <text>' in two pieces, then done
 * It refuses reentry like the runner does (an InputError), so a broken queue shows.
 */
export class FakeEngine implements ChatEngine {
  calls: Array<{ messages: ChatMessage[]; opts: GenerationOptions }> = [];
  running = 0;
  maxRunning = 0;
  aborted = 0;
  private releaseHold: (() => void) | undefined;
  private held = false;

  release(): void {
    this.held = true;
    this.releaseHold?.();
  }

  async *chat(messages: ChatMessage[], opts: GenerationOptions = {}): AsyncGenerator<ChatEvent, ChatResult, void> {
    if (this.running) throw new InputError('OvisRunner.chat: another chat is running on this runner (one generation at a time)');
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.calls.push({ messages, opts });
    try {
      const text = lastText(messages);
      if (text === 'throw input') throw new InputError('the conversation must end with a user message');
      if (text === 'throw image') throw new ImageError('image 1: truncated PNG data (IDAT ends early)');
      if (text === 'throw bug') throw new TypeError('cannot read properties of undefined (secret internals)');
      yield { type: 'start', promptTokens: 10 + text.length, cachedTokens: 3 };
      let output = '';
      let stopReason: ChatResult['stopReason'] = 'eos';
      const pieces = text === 'hold' ? [] : ['echo: ', text];
      for (const p of pieces) {
        output += p;
        yield { type: 'text', text: p };
      }
      if (text === 'hold') {
        this.held = false;
        const released = new Promise<void>((r) => {
          this.releaseHold = r;
        });
        for (let i = 0; i < 4000 && !this.held; i++) {
          if (opts.signal?.aborted) break;
          output += '.';
          yield { type: 'text', text: '.' };
          await Promise.race([released, tick(5)]);
        }
      }
      if (opts.signal?.aborted) {
        stopReason = 'aborted';
        this.aborted++;
      }
      if (opts.maxNewTokens !== undefined && output.length >= opts.maxNewTokens && stopReason !== 'aborted') stopReason = 'length';
      const result: ChatResult = {
        output,
        ids: [],
        promptTokens: 10 + text.length,
        completionTokens: output.length,
        cachedTokens: 3,
        stopReason,
        timings: { visionMs: 0, prefillMs: 1, decodeMs: 1, firstTokenMs: 1, totalMs: 2, tokensPerSecond: 100 },
      };
      yield { type: 'done', result };
      return result;
    } finally {
      this.running--;
    }
  }
}

export interface Live {
  url: string;
  server: OvisServer;
  listening: Listening;
  logs: string[];
  close(): Promise<void>;
}

export async function live(engine: ChatEngine, opts: Partial<ServerOptions> = {}): Promise<Live> {
  const logs: string[] = [];
  const server = createServer(engine, { model: 'test/tiny-model', log: (l) => logs.push(l), ...opts });
  const listening = await listenNode(server.handle, { hostname: '127.0.0.1', port: 0 });
  return {
    url: listening.url,
    server,
    listening,
    logs,
    close: async () => {
      await Promise.all([server.close(), listening.close()]);
    },
  };
}

/** Read an SSE response's `data:` payloads (parsed JSON, or the raw string for [DONE]). */
export async function sseEvents(res: Response, onEvent?: (ev: any) => void): Promise<any[]> {
  const out: any[] = [];
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const d = line.slice(6);
        const ev = d === '[DONE]' ? d : JSON.parse(d);
        out.push(ev);
        onEvent?.(ev);
      }
    }
  }
  return out;
}

/** Poll `cond` every 10 ms, at most `tries` times (a bound, not a timing assertion). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, tries = 1000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await tick(10);
  }
  throw new Error(`gave up waiting for: ${what}`);
}
