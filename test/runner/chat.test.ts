// Conversations (OvisRunner.chat, src/conversation.ts) on both tiny flavours: a one-turn chat is
// runner.run; a follow-up turn reuses the KV cache and the cached images and still gives exactly
// the tokens of the whole conversation computed from scratch — also for Gemma2, whose sliding
// layers (window 16 in the tiny checkpoint) must keep the rows the next turn attends to — and the
// logits of a reused prefill agree with a full prefill within the f32 logits tolerance.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent, ChatMessage } from '../../src/conversation-types.js';
import { InputError } from '../../src/errors.js';
import { OvisRunner } from '../../src/runner.js';
import { compare } from '../../src/trace/metrics.js';
import { evaluate } from '../../src/trace/tolerances.js';

const FIX = join(__dirname, '..', '..', 'reference', 'fixtures');
const square = new Uint8Array(readFileSync(join(FIX, 'images', 'square.png')));
const wide = new Uint8Array(readFileSync(join(FIX, 'images', 'wide.png')));

async function collect(it: AsyncGenerator<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

for (const flavour of ['llama', 'gemma2'] as const) {
  describe(`chat on tiny ${flavour}`, () => {
    let r: OvisRunner;
    beforeAll(async () => {
      r = await OvisRunner.load(join(FIX, 'tiny', flavour), { threads: 2, maxNewTokens: 10, maxPartition: 4 });
    });
    afterAll(() => r?.dispose());
    const first: ChatMessage = {
      role: 'user',
      content: [
        { type: 'image', image: square },
        { type: 'text', text: 'Describe the image.' },
      ],
    };

    it('one turn with an image = runner.run on the same prompt (ids and text)', async () => {
      r.resetConversation();
      const a = await r.run([square, 'Describe the image.']);
      const events = await collect(r.chat([first]));
      const done = events.at(-1) as Extract<ChatEvent, { type: 'done' }>;
      expect(done.type).toBe('done');
      expect(done.result.ids).toEqual(a.generation.ids);
      expect(done.result.output).toBe(a.output);
      expect(done.result.promptTokens).toBe(a.promptTokens);
      // events in order: images (what the model sees), vision progress, start, text pieces, done
      const kinds = events.map((e) => e.type);
      expect(kinds[0]).toBe('images');
      expect(kinds.indexOf('start')).toBeGreaterThan(kinds.lastIndexOf('progress'));
      const images = (events[0] as Extract<ChatEvent, { type: 'images' }>).images;
      expect(images[0]).toMatchObject({ index: 0, cached: false, crops: images[0].boxes.length });
      expect(
        events
          .filter((e) => e.type === 'text')
          .map((e) => (e as { text: string }).text)
          .join(''),
      ).toBe(done.result.output);
    });

    it('a follow-up turn prefills only the new positions, reuses the image, and equals the conversation from scratch', async () => {
      r.resetConversation();
      const t1 = await r.chatComplete([first]);
      const conv: ChatMessage[] = [
        first,
        { role: 'assistant', content: t1.output },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'And this one?' },
            { type: 'image', image: wide },
          ],
        },
      ];
      const events = await collect(r.chat(conv));
      const t2 = (events.at(-1) as Extract<ChatEvent, { type: 'done' }>).result;
      expect(t2.cachedTokens).toBeGreaterThanOrEqual(t1.promptTokens); // the first prompt at least
      const imgs = (events.find((e) => e.type === 'images') as Extract<ChatEvent, { type: 'images' }>).images;
      expect(imgs.map((i) => i.cached)).toEqual([true, false]); // square: from the visual cache
      r.resetConversation();
      const scratch = await r.chatComplete(conv);
      expect(scratch.cachedTokens).toBe(0);
      expect(t2.ids).toEqual(scratch.ids);
      expect(t2.promptTokens).toBe(scratch.promptTokens);
    });

    it('reused prefill logits agree with a full prefill (f32 logits tolerance), across the sliding window', async () => {
      const m = r.model;
      const prepared = r.prepare({ prompt: 'Describe both.', images: [square, wide] });
      const x = m.embed(prepared.inputIds, { pixelValues: prepared.pixelValues!, n: prepared.n }); // [T, H]
      const [T, H] = x.shape;
      const full = m.llm.newCache(T);
      const want = m.llm.forward(x, full, { logitsRows: 'last' }).logits.data;
      full.dispose();
      // first pass over T-3 positions, cut back to T-20, then prefill the last 20
      const c = m.llm.newCache(T);
      m.llm.forward({ shape: [T - 3, H], data: x.data.subarray(0, (T - 3) * H) }, c, { logitsRows: 'none' });
      expect(c.truncate(T - 20)).toBe(true); // window 16 in tiny gemma2: rows T-35.. are still held
      const got = m.llm.forward({ shape: [20, H], data: x.data.subarray((T - 20) * H) }, c, { logitsRows: 'last' }).logits.data;
      c.dispose();
      const res = evaluate(compare('logits', { shape: [1, got.length], data: got }, { shape: [1, want.length], data: want }));
      expect(res.verdict, JSON.stringify(res.metrics)).toBe('OK');
    });

    it('stop strings, per-call options, AbortSignal; the runner stays usable', async () => {
      r.resetConversation();
      const base = await r.chatComplete([first], { maxNewTokens: 8 });
      const stop = base.output.slice(4, 7);
      const s = await r.chatComplete([first], { maxNewTokens: 8, stop: [stop] });
      expect(s.stopReason).toBe('stop');
      expect(s.output).toBe(base.output.slice(0, base.output.indexOf(stop)));
      const ctl = new AbortController();
      let pieces = 0;
      let result: unknown;
      for await (const e of r.chat([first], { maxNewTokens: 10_000, signal: ctl.signal })) {
        if (e.type === 'text' && ++pieces === 2) ctl.abort();
        if (e.type === 'done') result = e.result;
      }
      expect(result!.stopReason).toBe('aborted');
      expect(result!.completionTokens).toBeLessThanOrEqual(3); // within one decode step of the abort
      const again = await r.chatComplete([first], { maxNewTokens: 8 });
      expect(again.ids).toEqual(base.ids);
    });
  });
}

describe('chat input errors', () => {
  let r: OvisRunner;
  beforeAll(async () => {
    r = await OvisRunner.load(join(FIX, 'tiny', 'gemma2'), { threads: 1, maxNewTokens: 2 });
  });
  afterAll(() => r?.dispose());
  it('typed errors naming the message', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [[], /messages must be a non-empty array/],
      [[{ role: 'bot', content: 'x' }], /messages\[0\]\.role is "bot"/],
      [
        [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'yo' },
        ],
        /the last message must be the user's/,
      ],
      [
        [
          { role: 'user', content: 'a' },
          { role: 'system', content: 'b' },
          { role: 'user', content: 'c' },
        ],
        /messages\[1\]: a system message may only come first/,
      ],
      [
        [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
        ],
        /Gemma does not support system prompt/,
      ],
      [[{ role: 'user', content: [{ type: 'video' }] }], /messages\[0\]\.content\[0\] must be/],
      [
        [
          { role: 'assistant', content: [{ type: 'image', image: square }] },
          { role: 'user', content: 'x' },
        ],
        /only user messages carry images/,
      ],
    ];
    for (const [m, want] of bad) {
      const e = await r.chatComplete(m as ChatMessage[]).catch((x) => x);
      expect(e, String(want)).toBeInstanceOf(InputError);
      expect(e.message).toMatch(want);
    }
  });
  it('one chat at a time', async () => {
    const a = r.chat([{ role: 'user', content: 'hi' }]);
    await a.next();
    await expect(r.chatComplete([{ role: 'user', content: 'hi' }])).rejects.toThrow(/another chat is running/);
    await a.return(undefined as never);
    expect((await r.chatComplete([{ role: 'user', content: 'hi' }])).completionTokens).toBe(2);
  });
});
