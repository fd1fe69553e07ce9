// `ovis chat`: the REPL through the built CLI with piped stdin on the embedded
// tiny checkpoint — two turns with an /image (the second reuses the KV cache), /save, /reset, a
// bad /image path, SIGINT during a long answer, SIGINT at the prompt, EOF — and the session's
// rules (history, rollback, Ctrl-C) in-process against a scripted runner.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChatRunner, ChatSession, commandPath, type SavedConversation, startRepl } from '../../src/cli/chat.js';
import type { ChatEvent, ChatMessage, ChatResult, GenerationOptions } from '../../src/conversation-types.js';
import { InputError } from '../../src/errors.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const SQUARE = join(ROOT, 'reference', 'fixtures', 'images', 'square.png');
const tmp = mkdtempSync(join(tmpdir(), 'ovis-chat-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `ovis chat` with `lines` piped in, then EOF. */
function chat(lines: string[], ...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'chat', '--backend', 'ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 170_000,
    input: lines.join('\n') + '\n',
  });
}

/** The status lines on stderr: [prompt tokens, cached tokens, stop reason]. */
function statuses(stderr: string): Array<[number, number, string]> {
  return [...stderr.matchAll(/^\[(\d+) prompt tokens, (\d+) cached · .* · ([^·\]]+)\]$/gm)].map((m) => [Number(m[1]), Number(m[2]), m[3]]);
}

/** A child process driven line by line: wait for output, send signals, write more. */
function live(...args: string[]) {
  const c = spawn(process.execPath, [CLI, 'chat', '--backend', 'ts', ...args], { cwd: ROOT });
  let out = '';
  let err = '';
  c.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  c.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => c.on('exit', (code, sig) => r([code, sig])));
  const until = async (what: string, f: () => boolean, ms = 120_000) => {
    const t0 = Date.now();
    while (!f()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}\nstdout: ${out.slice(-500)}\nstderr: ${err.slice(-2000)}`);
      if (c.exitCode !== null) throw new Error(`exited (${c.exitCode}) while waiting for ${what}\nstderr: ${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { c, exited, until, out: () => out, err: () => err };
}

describe.skipIf(!existsSync(CLI))('ovis chat (built CLI, piped stdin)', () => {
  it('two turns with an /image: both answers stream, the second reuses the cache; /save, /reset, a bad /image; EOF exits 0', () => {
    const saved = join(tmp, 'two-turns.json');
    const r = chat(
      [
        `/image ${SQUARE}`,
        'What is in this picture?',
        '/image no/such/file.png', // a typed error, and the REPL goes on
        'And what colour is it?',
        `/save ${saved}`,
        '/reset',
        'A new conversation.',
      ],
      '--max-new-tokens',
      '6',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/attached .*square\.png \(300x300\)/);
    expect(r.stderr).toMatch(/error \[INPUT\]: image .*no\/such\/file\.png: cannot read it: no such file \(ENOENT\)/);
    const s = statuses(r.stderr);
    expect(s.length, r.stderr).toBe(3);
    const [first, second, third] = s;
    expect(first[1]).toBe(0); // nothing cached yet
    expect(second[1]).toBeGreaterThanOrEqual(first[0]); // the whole first prompt (image included) came from the cache
    expect(second[0]).toBeGreaterThan(first[0]);
    expect(third[0]).toBeLessThan(first[0]); // after /reset: no image, no history
    expect(r.stderr).toMatch(/new conversation/);
    // /save: both turns, the image as its path, the answers as printed
    const j = JSON.parse(readFileSync(saved, 'utf8')) as SavedConversation;
    expect(j.format).toBe('ovis-chat');
    expect(j.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(j.messages[0].content).toEqual([
      { type: 'image', path: SQUARE },
      { type: 'text', text: 'What is in this picture?' },
    ]);
    expect(j.messages[2].content).toBe('And what colour is it?');
    // stdout holds the answers only, each ended by a newline (noise: random weights)
    const [a1, a2] = [j.messages[1].content, j.messages[3].content] as string[];
    expect(a1.trim().length * a2.trim().length).toBeGreaterThan(0);
    expect(r.stdout.startsWith(`${a1}\n${a2}\n`), r.stdout).toBe(true);
    expect(r.stdout.length).toBeGreaterThan(`${a1}\n${a2}\n`.length + 1); // the third answer
  });

  it('SIGINT during a long answer stops it; the next lines still run; EOF exits 0', async () => {
    const saved = join(tmp, 'stopped.json');
    const p = live('--max-new-tokens', '100000'); // ~50 tokens/s on the ts backend: half an hour
    p.c.stdin.write('Tell me a very long story.\n');
    await p.until('the answer to stream', () => p.out().length > 40);
    p.c.kill('SIGINT');
    await p.until('the status line of the stopped answer', () => /stopped by Ctrl-C/.test(p.err()), 20_000);
    p.c.stdin.write(`/save ${saved}\n`);
    await p.until('/save', () => /saved 2 message/.test(p.err()), 20_000);
    p.c.stdin.end();
    expect(await p.exited).toEqual([0, null]);
    const j = JSON.parse(readFileSync(saved, 'utf8')) as SavedConversation;
    // the stopped answer stays in the conversation, cut where it stopped
    expect(j.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect((j.messages[1].content as string).length).toBeGreaterThan(0);
    expect(p.out().startsWith(j.messages[1].content as string)).toBe(true);
  });

  it('SIGINT at the prompt quits with exit 0 (stdin still open)', async () => {
    const p = live('--max-new-tokens', '2', '-q');
    p.c.stdin.write('Hello.\n');
    await p.until('the first answer', () => statuses(p.err()).length === 1);
    p.c.kill('SIGINT');
    expect(await p.exited).toEqual([0, null]);
  });

  it('/help, an unknown command, --help and a bad option', () => {
    const r = chat(['/help', '/imgae x.png', '/quit', 'never asked'], '-q');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\/image PATH/);
    expect(r.stderr).toMatch(/unknown command '\/imgae': did you mean \/image\?/);
    expect(r.stdout).toBe(''); // /quit: the line after it is never sent
    const h = spawnSync(process.execPath, [CLI, 'chat', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/--system TEXT/);
    expect(h.stdout).toMatch(/--max-new-tokens K[^(]*\(default: 512/);
    const bad = spawnSync(process.execPath, [CLI, 'chat', '--max-new-tokens', '-1'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--max-new-tokens must be an integer/);
    // Gemma2's format has no system turn: refused before the first message, not at every one
    const gemma = chat(['hi'], '-q', '--model', join(ROOT, 'reference', 'fixtures', 'tiny', 'gemma2'), '--system', 'Be brief.');
    expect(gemma.status).toBe(1);
    expect(gemma.stderr).toMatch(/error \[INPUT\]: .*Gemma does not support system prompt/);
    expect(gemma.stdout).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// The session's rules, in-process, against a runner that answers from a script

interface Scripted {
  pieces?: string[];
  forever?: boolean;
  error?: Error;
  stopBeforeFirst?: boolean;
}

function fakeRunner(script: Scripted[]) {
  const calls: Array<{ messages: ChatMessage[]; opts: GenerationOptions }> = [];
  const runner: ChatRunner = {
    async *chat(messages, opts = {}): AsyncGenerator<ChatEvent, ChatResult, void> {
      calls.push({ messages: structuredClone(messages.map((m) => ({ ...m }))), opts });
      const s = script.shift() ?? { pieces: ['ok'] };
      if (s.error) throw s.error;
      const result = (output: string, stopReason: ChatResult['stopReason']): ChatResult => ({
        output,
        ids: [],
        promptTokens: 10 * calls.length,
        completionTokens: output.length,
        cachedTokens: 7,
        stopReason,
        timings: { visionMs: 0, prefillMs: 0, decodeMs: 0, firstTokenMs: 0, totalMs: 0, tokensPerSecond: 12.5 },
      });
      if (s.stopBeforeFirst) {
        while (!opts.signal?.aborted) await new Promise((r) => setTimeout(r, 1));
        const r = result('', 'aborted');
        yield { type: 'done', result: r };
        return r;
      }
      yield { type: 'start', promptTokens: 10, cachedTokens: 7 };
      let output = '';
      for (const p of s.pieces ?? []) {
        output += p;
        yield { type: 'text', text: p };
      }
      while (s.forever && !opts.signal?.aborted) {
        output += '.';
        yield { type: 'text', text: '.' };
        await new Promise((r) => setTimeout(r, 1));
      }
      const r = result(output, s.forever ? 'aborted' : 'eos');
      yield { type: 'done', result: r };
      return r;
    },
  };
  return { runner, calls };
}

function session(script: Scripted[], o: { system?: string } = {}) {
  const { runner, calls } = fakeRunner(script);
  const io = { out: '', err: '' };
  const s = new ChatSession(runner, {
    model: 'fake',
    system: o.system,
    generation: { maxNewTokens: 5 },
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
  });
  return { s, calls, io };
}

describe('ChatSession (scripted runner)', () => {
  it('resends the whole history each turn, images before the text as the same objects', async () => {
    const { s, calls, io } = session([{ pieces: ['A', 'B'] }, { pieces: ['C'] }], { system: 'Be brief.' });
    await s.handle(`/image ${SQUARE}`);
    await s.handle(`/image ${SQUARE}`);
    await s.handle('first');
    await s.handle('second');
    expect(io.out).toBe('AB\nC\n');
    expect(calls[0].opts.maxNewTokens).toBe(5);
    expect(calls[0].opts.signal).toBeInstanceOf(AbortSignal);
    const [sys, u1] = calls[0].messages;
    expect(sys).toEqual({ role: 'system', content: 'Be brief.' });
    expect((u1.content as Array<{ type: string }>).map((p) => p.type)).toEqual(['image', 'image', 'text']);
    const m2 = s.messages();
    expect(m2.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
    expect(m2[2].content).toBe('AB');
    expect(m2[4].content).toBe('C');
    expect(calls[1].messages).toHaveLength(4); // system, user, assistant, the new user message
    expect(io.err).toMatch(/\[20 prompt tokens, 7 cached · 1 tokens at 12\.5 tokens\/s · first token 0\.00 s · eos\]/);
    // the image objects are kept, not re-read: the runner's cache sees the same pixels
    const parts = (m: ChatMessage) => m.content as Array<{ type: string; image?: unknown }>;
    expect(parts(m2[1])[0].image).toBe(parts(s.messages()[1])[0].image);
  });

  it('a refused message is not added and its images are attached again; // escapes a leading slash', async () => {
    const { s, calls, io } = session([{ error: new InputError('too long', 'use /reset') }, { pieces: ['x'] }]);
    await s.handle(`/image ${SQUARE}`);
    await s.handle('first');
    expect(io.err).toMatch(/error \[INPUT\]: too long\nHint: use \/reset/);
    expect(io.err).toMatch(/not added .*its 1 image\(s\) are attached again/);
    expect(s.messages()).toEqual([]);
    await s.handle('//etc/hosts?');
    expect(calls[1].messages).toHaveLength(1);
    expect((calls[1].messages[0].content as Array<{ type: string; text?: string }>).at(-1)).toEqual({ type: 'text', text: '/etc/hosts?' });
  });

  it('Ctrl-C stops the answer (kept, cut where it stopped); before the first token the message is dropped; at the prompt it quits', async () => {
    const { s, io } = session([{ pieces: ['so'], forever: true }, { stopBeforeFirst: true }]);
    const t = s.handle('long');
    await new Promise((r) => setTimeout(r, 20));
    expect(s.busy).toBe(true);
    expect(s.interrupt()).toBe('stopping');
    expect(s.interrupt()).toBe('quit'); // a second Ctrl-C while it stops
    await t;
    expect(s.busy).toBe(false);
    expect(io.err).toMatch(/stopped by Ctrl-C\]/);
    const kept = s.messages();
    expect(kept.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect((kept[1].content as string).startsWith('so.')).toBe(true);
    const t2 = s.handle('again');
    await new Promise((r) => setTimeout(r, 5));
    s.interrupt();
    await t2;
    expect(io.err).toMatch(/stopped before the first token: the message was not added/);
    expect(s.messages()).toHaveLength(2);
    expect(s.interrupt()).toBe('quit');
  });

  it('/save: typed errors for a folder or a missing folder; /reset empties the conversation', async () => {
    const { s, io } = session([{ pieces: ['hi'] }]);
    await s.handle('hello');
    await s.handle(`/save ${tmp}`);
    expect(io.err).toMatch(/error \[IO\]: .*--save: cannot write here: is a directory/);
    await s.handle(`/save ${join(tmp, 'missing', 'x.json')}`);
    expect(io.err).toMatch(/error \[IO\]: .*its folder .* no such file or directory/);
    await s.handle('/save');
    expect(io.err).toMatch(/usage: \/save FILE/);
    await s.handle('/reset');
    expect(s.saved().messages).toEqual([]);
    expect(await s.handle('/exit')).toBe('quit');
  });

  it('startRepl: piped lines run in order, one at a time; EOF ends after the queued lines; an interrupt at the prompt ends at once', async () => {
    const { s, calls } = session([{ pieces: ['1'] }, { pieces: ['2'] }]);
    const input = new PassThrough();
    const repl = startRepl(s, { input, output: new PassThrough(), terminal: false });
    input.end('one\n\ntwo\n');
    await repl.done;
    expect(calls.map((c) => c.messages.length)).toEqual([1, 3]);

    const b = session([]);
    const input2 = new PassThrough();
    const repl2 = startRepl(b.s, { input: input2, output: new PassThrough(), terminal: false });
    repl2.interrupt();
    await repl2.done; // stdin never ended
    expect(b.calls).toEqual([]);
  });

  it('commandPath: quotes and ~ as a shell would', () => {
    expect(commandPath(' "my cat.png" ')).toBe('my cat.png');
    expect(commandPath("'a b.png'")).toBe('a b.png');
    expect(commandPath('~/x.png')).toMatch(/^\/.*\/x\.png$/);
  });
});
