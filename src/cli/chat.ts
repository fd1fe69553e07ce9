// `ovis chat` — a conversation in the terminal: multi-turn, images attached with `/image PATH`,
// answers streamed to stdout, progress and one status line per answer on stderr.
//
// Each turn resends the whole history (previous answers included) to OvisRunner.chat, which
// keeps the previous turn's KV cache and reuses the longest common prefix: only the new turn is
// computed, and the status line says how much came from the cache. Ctrl-C stops the answer
// being generated (an AbortSignal, honoured within one decode step) and returns to the prompt;
// at an empty prompt, or a second time while an answer stops, it quits, as does Ctrl-D / EOF.
//
// Piped stdin works the same way (each line a message or a command, no prompt printed): that is
// how the REPL is tested, and how a conversation can be scripted.
//
// Layout: ChatSession (the conversation and the commands, no terminal) -> startRepl (lines from
// node:readline, Ctrl-C) -> main (options, the model). Front ends depend only on the contract in
// src/conversation-types.ts.

import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ChatEvent, ChatMessage, ChatResult, ContentPart, GenerationOptions } from '../conversation-types.js';
import { IoError, OvisError } from '../errors.js';
import type { RgbImage } from '../image/index.js';
import { throttled } from '../progress.js';
import { OvisRunner, readImageFile } from '../runner.js';
import {
  checkOutputFile,
  ENGINE_OPTIONS,
  embeddedCheckpoint,
  engineValues,
  formatOptions,
  intOption,
  type OptionSpecs,
  parseOptions,
  progress,
  REQUEST_OPTIONS,
  SAMPLING_OPTIONS,
  samplingValues,
} from './common.js';
import { didYouMean } from './suggest.js';

const OPTIONS = {
  model: {
    type: 'string',
    arg: 'DIR',
    default: 'the embedded tiny checkpoint, random weights',
    help: 'Ovis1.6 checkpoint: a directory, or org/name[@rev] in the HF cache',
  },
  system: {
    type: 'string',
    arg: 'TEXT',
    default: 'none',
    help: "a system message before the conversation (Gemma2's format has none: refused)",
  },
  'max-partition': REQUEST_OPTIONS['max-partition'],
  'max-new-tokens': {
    type: 'string',
    arg: 'K',
    default: '512, 24 with the embedded checkpoint',
    help: 'at most K generated tokens per answer',
  },
  ...SAMPLING_OPTIONS,
  seed: { type: 'string', arg: 'S', default: '0', help: 'seed of the sampling PRNG (the same for every answer)' },
  ...ENGINE_OPTIONS,
} as const satisfies OptionSpecs;

/** The REPL's own commands, for /help and the did-you-mean of a mistyped one. */
const COMMANDS = {
  '/image PATH': 'attach an image to your next message (repeat for several)',
  '/reset': 'start a new conversation (the system message stays)',
  '/save FILE': 'write the conversation as JSON (images as paths)',
  '/help': 'this list',
  '/quit': 'leave (also /exit, Ctrl-D, or Ctrl-C at an empty prompt)',
} as const;
const COMMAND_NAMES = [...Object.keys(COMMANDS).map((c) => c.split(' ')[0]), '/exit'];

const REPL_HELP = [
  'Type a message and press Enter; the answer streams below it. Commands:',
  ...Object.entries(COMMANDS).map(([c, h]) => `  ${c.padEnd(12)} ${h}`),
  'Ctrl-C stops an answer. A message that starts with / is written with // (//etc/hosts -> /etc/hosts).',
].join('\n');

const HELP = `usage: ovis chat [--model DIR] [--system TEXT] [options]

A conversation with the model in the terminal. Each line is a message, or a command:
${Object.entries(COMMANDS)
  .map(([c, h]) => `  ${c.padEnd(12)} ${h}`)
  .join('\n')}
Answers stream to stdout; progress and a status line per answer (prompt tokens, how many came
from the KV cache, tokens/s) go to stderr. Each turn reuses the cache of the conversation so far:
only the new message is computed. Ctrl-C stops an answer and returns to the prompt; Ctrl-C at an
empty prompt, or Ctrl-D, quits. With stdin piped, each line is a message or a command.

Without --model, the embedded tiny checkpoint (random weights: its answers are noise) is used.
Decoding is greedy unless sampling is asked for, as in \`ovis run\`.

options:
${formatOptions(OPTIONS)}`;

/** What the REPL needs of a runner: OvisRunner.chat (the contract in src/conversation-types.ts). */
export interface ChatRunner {
  chat(messages: readonly ChatMessage[], opts?: GenerationOptions): AsyncGenerator<ChatEvent, ChatResult, void>;
}

/** An image attached with /image: the decoded pixels (the same object every turn, so the runner's
 *  cache recognises it) and the absolute path (what /save writes). */
interface Attached {
  path: string;
  image: RgbImage;
}

/** A message as the session keeps it: text plus the images that go before it. */
interface Turn {
  role: 'system' | 'user' | 'assistant';
  text: string;
  images: Attached[];
}

/** The JSON that /save writes: ChatMessage with each image as its path. */
export interface SavedConversation {
  format: 'ovis-chat';
  version: 1;
  model: string;
  messages: Array<{ role: Turn['role']; content: string | Array<{ type: 'text'; text: string } | { type: 'image'; path: string }> }>;
}

export interface SessionOptions {
  /** The model as given (for /save). */
  model: string;
  system?: string;
  /** Per-answer generation settings (the signal is the session's). */
  generation?: Omit<GenerationOptions, 'signal'>;
  /** The answers (stdout). */
  out: (text: string) => void;
  /** Messages to the user: errors, notes, the status line (stderr). */
  err: (text: string) => void;
  /** Progress during an answer (a no-op with --quiet). */
  say?: (text: string) => void;
}

/** `/image "my cat.png"` and `/image ~/cat.png` mean what a shell would make of them. */
export function commandPath(arg: string): string {
  let p = arg.trim();
  if (p.length >= 2 && (p[0] === '"' || p[0] === "'") && p.at(-1) === p[0]) p = p.slice(1, -1);
  if (p === '~' || p.startsWith('~/')) p = homedir() + p.slice(1);
  return p;
}

/**
 * The conversation and the commands, without a terminal: `handle(line)` for each line,
 * `interrupt()` for Ctrl-C. Errors a user can cause (a bad image path, a file that cannot be
 * written, a conversation the model refuses) are shown and the session goes on.
 */
export class ChatSession {
  private turns: Turn[] = [];
  private pending: Attached[] = [];
  private answer: AbortController | undefined;
  private readonly say: (text: string) => void;

  constructor(
    private readonly runner: ChatRunner,
    private readonly o: SessionOptions,
  ) {
    this.say = o.say ?? (() => {});
  }

  /** True while an answer is being generated. */
  get busy(): boolean {
    return this.answer !== undefined;
  }

  /** The conversation as sent to the runner: the system message, the turns so far. */
  messages(): ChatMessage[] {
    const system: Turn[] = this.o.system !== undefined ? [{ role: 'system', text: this.o.system, images: [] }] : [];
    return [...system, ...this.turns].map(toMessage);
  }

  /** The conversation as /save writes it. */
  saved(): SavedConversation {
    const system: Turn[] = this.o.system !== undefined ? [{ role: 'system', text: this.o.system, images: [] }] : [];
    return {
      format: 'ovis-chat',
      version: 1,
      model: this.o.model,
      messages: [...system, ...this.turns].map((t) => ({
        role: t.role,
        content: t.images.length
          ? [...t.images.map((a) => ({ type: 'image' as const, path: a.path })), { type: 'text' as const, text: t.text }]
          : t.text,
      })),
    };
  }

  /** One line typed or piped in. Resolves to 'quit' when the user asked to leave. */
  async handle(line: string): Promise<'continue' | 'quit'> {
    const text = line.replace(/\r$/, '');
    if (text.trim() === '') return 'continue';
    if (text.startsWith('//')) {
      await this.ask(text.slice(1));
      return 'continue';
    }
    if (!text.startsWith('/')) {
      await this.ask(text);
      return 'continue';
    }
    const [, name, arg = ''] = /^(\S+)\s*(.*)$/s.exec(text.trim())!;
    switch (name) {
      case '/image':
        await this.attach(arg);
        break;
      case '/reset':
        this.reset();
        break;
      case '/save':
        await this.save(arg);
        break;
      case '/help':
        this.o.err(REPL_HELP + '\n');
        break;
      case '/quit':
      case '/exit':
        return 'quit';
      default: {
        const guess = didYouMean(name, COMMAND_NAMES);
        this.o.err(
          `unknown command '${name}'${guess ? `: did you mean ${guess}?` : ''} (/help lists them; a message that starts with / is written //…)\n`,
        );
      }
    }
    return 'continue';
  }

  /** Ctrl-C: stops the answer being generated ('stopping'); otherwise — at the prompt, or a
   *  second time while an answer stops — the user wants to leave ('quit'). */
  interrupt(): 'stopping' | 'quit' {
    if (this.answer && !this.answer.signal.aborted) {
      this.answer.abort();
      return 'stopping';
    }
    return 'quit';
  }

  private async attach(arg: string): Promise<void> {
    if (arg.trim() === '') {
      this.o.err(
        this.pending.length
          ? `attached: ${this.pending.map((a) => a.path).join(', ')}\n`
          : 'usage: /image PATH (attaches an image to your next message)\n',
      );
      return;
    }
    const path = resolve(commandPath(arg));
    try {
      // decoded now: a missing, unreadable or corrupt file is refused here, not after the message
      const image = await readImageFile(path, { decode: true });
      this.pending.push({ path, image });
      this.o.err(`attached ${path} (${image.width}x${image.height}); ${this.pending.length} image(s) go with your next message\n`);
    } catch (e) {
      this.showError(e);
    }
  }

  private reset(): void {
    const dropped = this.pending.length;
    this.turns = [];
    this.pending = [];
    this.o.err(`new conversation${dropped ? ` (${dropped} attached image(s) dropped)` : ''}\n`);
  }

  private async save(arg: string): Promise<void> {
    if (arg.trim() === '') {
      this.o.err('usage: /save FILE (writes the conversation as JSON)\n');
      return;
    }
    const path = resolve(commandPath(arg));
    try {
      await checkOutputFile('save', path);
      await writeFile(path, JSON.stringify(this.saved(), null, 2) + '\n');
      this.o.err(`saved ${this.turns.length} message(s) to ${path}\n`);
    } catch (e) {
      const fsErr = e as NodeJS.ErrnoException;
      // a write that fails after the check (no space, permissions): still a typed message
      this.showError(
        e instanceof OvisError || typeof fsErr?.code !== 'string' ? e : new IoError(path, `cannot write it: ${fsErr.message}`),
      );
    }
  }

  /** One turn: the history plus this message to the runner, the answer streamed. */
  private async ask(text: string): Promise<void> {
    const user: Turn = { role: 'user', text, images: this.pending };
    this.pending = [];
    const messages = [...this.messages(), toMessage(user)];
    const ac = new AbortController();
    this.answer = ac;
    const tick = throttled(2000, this.say);
    let output = '';
    let result: ChatResult | undefined;
    try {
      for await (const ev of this.runner.chat(messages, { ...this.o.generation, signal: ac.signal })) {
        if (ev.type === 'text') {
          output += ev.text;
          this.o.out(ev.text);
        } else if (ev.type === 'start') this.say(`prompt: ${ev.promptTokens} tokens, ${ev.cachedTokens} from the cache`);
        else if (ev.type === 'progress') tick(() => `${ev.stage}: ${ev.done}/${ev.total}${ev.stage === 'vision' ? ' crops' : ' layers'}`);
        else if (ev.type === 'images') {
          for (const im of ev.images.filter((i) => !i.cached)) {
            this.say(
              `image ${im.index + 1}: ${im.width}x${im.height}, grid ${im.grid[0]}x${im.grid[1]}, ${im.crops} crop(s), ${im.tokens} tokens`,
            );
          }
        } else if (ev.type === 'done') result = ev.result;
      }
    } catch (e) {
      if (output) this.o.out('\n');
      // a runner that throws on abort (instead of returning stopReason 'aborted') is a stop too
      if (!ac.signal.aborted || e instanceof OvisError) this.showError(e);
      this.o.err(
        `the message was not added to the conversation${user.images.length ? ` (its ${user.images.length} image(s) are attached again)` : ''}\n`,
      );
      this.pending = [...user.images, ...this.pending];
      return;
    } finally {
      this.answer = undefined;
    }
    this.o.out('\n');
    if (!result) throw new Error('OvisRunner.chat ended without a done event');
    if (result.stopReason === 'aborted' && result.output === '') {
      this.o.err(
        `stopped before the first token: the message was not added${user.images.length ? ` (its ${user.images.length} image(s) are attached again)` : ''}\n`,
      );
      this.pending = [...user.images, ...this.pending];
      return;
    }
    // a stopped answer stays, cut where it stopped: the model sees what it said (and the cache holds it)
    this.turns.push(user, { role: 'assistant', text: result.output, images: [] });
    this.o.err(statusLine(result) + '\n');
  }

  private showError(e: unknown): void {
    if (!(e instanceof OvisError)) throw e;
    this.o.err(`error [${e.code}]: ${e.message}\n`);
  }
}

/** The line after each answer: where the prompt came from, how fast the answer was. */
export function statusLine(r: ChatResult): string {
  const t = r.timings;
  const why = r.stopReason === 'aborted' ? 'stopped by Ctrl-C' : r.stopReason === 'length' ? 'max-new-tokens reached' : r.stopReason;
  return (
    `[${r.promptTokens} prompt tokens, ${r.cachedTokens} cached · ${r.completionTokens} tokens at ${t.tokensPerSecond.toFixed(1)} tokens/s · ` +
    `first token ${(t.firstTokenMs / 1000).toFixed(2)} s · ${why}]`
  );
}

function toMessage(t: Turn): ChatMessage {
  if (!t.images.length) return { role: t.role, content: t.text };
  // images before the text, as Ovis's runner puts them
  const parts: ContentPart[] = [...t.images.map((a) => ({ type: 'image' as const, image: a.image })), { type: 'text', text: t.text }];
  return { role: t.role, content: parts };
}

export interface ReplIO {
  input: Readable;
  /** Where the prompt and the line editing go (a terminal only). */
  output: Writable;
  /** A terminal: a prompt, line editing, Ctrl-C read as a key. Else lines are read as they come. */
  terminal: boolean;
}

/**
 * Lines from `io.input` to the session, one at a time (lines that arrive during an answer wait
 * their turn). `interrupt` is Ctrl-C: main connects it to SIGINT; on a terminal, readline reads
 * Ctrl-C as a key and calls it too. `done` resolves when the user quits or the input ends.
 */
export function startRepl(session: ChatSession, io: ReplIO): { done: Promise<void>; interrupt: () => void } {
  const rl = createInterface({ input: io.input, output: io.terminal ? io.output : undefined, terminal: io.terminal, crlfDelay: Infinity });
  const queue: string[] = [];
  let eof = false; // the input ended: the lines already queued still run
  let quit = false; // Ctrl-C at the prompt: leave now, queued lines dropped
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  rl.on('line', (l) => {
    queue.push(l);
    poke();
  });
  rl.on('close', () => {
    eof = true;
    poke();
  });
  const prompt = () => {
    if (io.terminal && !eof && !quit) rl.prompt();
  };

  const interrupt = () => {
    if (quit) return;
    // a half-typed line: Ctrl-C clears it, as in a shell
    if (io.terminal && !session.busy && rl.line.length > 0) {
      io.output.write('^C\n');
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      prompt();
      return;
    }
    if (session.interrupt() === 'stopping') return;
    if (io.terminal) io.output.write('\n');
    quit = true;
    poke();
  };
  if (io.terminal) rl.on('SIGINT', interrupt);

  const done = (async () => {
    rl.setPrompt('> ');
    prompt();
    try {
      while (!quit) {
        if (!queue.length && !eof)
          await new Promise<void>((r) => {
            wake = r;
          });
        if (quit) break;
        const line = queue.shift();
        if (line === undefined) break; // EOF and nothing left
        if ((await session.handle(line)) === 'quit') break;
        prompt();
      }
      if (io.terminal && eof && !quit) io.output.write('\n'); // Ctrl-D: the shell's prompt on a line of its own
    } finally {
      rl.close();
    }
  })();
  return { done, interrupt };
}

export async function main(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('chat', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  // every option is checked before the weights are read
  const engine = engineValues(v);
  const maxPartition = intOption('max-partition', v['max-partition'], 9, 1, 9);
  const maxNewTokens = intOption('max-new-tokens', v['max-new-tokens'], v.model ? 512 : 24, 0, 1 << 20);
  const { note, ...sampling } = samplingValues(v);
  const say = progress(v.quiet);
  const model = v.model ?? (await embeddedCheckpoint());
  if (!v.model) say(`no --model: using the embedded tiny checkpoint ${model} (random weights)`);
  if (note) say(note);
  const runner = await OvisRunner.load(model, { ...engine, maxPartition, maxNewTokens, ...sampling, onProgress: say });
  const terminal = !!process.stdin.isTTY && !!process.stdout.isTTY;
  const ignoreEpipe = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  };
  process.stdout.on('error', ignoreEpipe);
  let repl: ReturnType<typeof startRepl> | undefined;
  const onSigint = () => repl?.interrupt();
  process.on('SIGINT', onSigint);
  try {
    // Gemma2's format has no system turn: refused now, not at every message
    if (v.system !== undefined)
      runner.formatter.format([
        { from: 'system', value: v.system },
        { from: 'human', value: '' },
      ]);
    const session = new ChatSession(runner, {
      model,
      system: v.system,
      generation: { maxNewTokens, maxPartition, ...sampling },
      out: (t) => {
        process.stdout.write(t);
      },
      err: (t) => {
        process.stderr.write(t);
      },
      say,
    });
    if (terminal) process.stderr.write(`ovis chat — ${model}. /help lists the commands; Ctrl-C stops an answer, Ctrl-D quits.\n`);
    repl = startRepl(session, { input: process.stdin, output: process.stdout, terminal });
    await repl.done;
  } finally {
    process.off('SIGINT', onSigint);
    process.stdout.off('error', ignoreEpipe);
    runner.dispose();
  }
  return 0;
}
