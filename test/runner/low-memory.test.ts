// OvisRunner with lowMemory (`ovis run --low-memory`): the vision half is loaded into a backend
// of its own per query, used, disposed and released before the LLM half is loaded, so the peak
// is the larger half. The answers must be exactly those of the resident runner (the same
// kernels on the same inputs, in another memory), on both tiny flavours, with images (several
// crops, two images) and without; the calls that need both halves together refuse; and
// releaseMemory really returns a disposed backend's memory to the OS under Node.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend } from '../../src/backend/wasm.js';
import { InputError } from '../../src/errors.js';
import { releaseMemory } from '../../src/io/release-memory.js';
import { OvisRunner } from '../../src/runner.js';
import { StageRecorder } from '../../src/trace/recorder.js';

const FIX = join(__dirname, '..', '..', 'reference', 'fixtures');
const square = new Uint8Array(readFileSync(join(FIX, 'images', 'square.png')));
const wide = new Uint8Array(readFileSync(join(FIX, 'images', 'wide.png')));

for (const flavour of ['llama', 'gemma2'] as const) {
  describe(`lowMemory runner on tiny ${flavour}`, () => {
    let resident: OvisRunner;
    const opts = { threads: 2, maxNewTokens: 12, maxPartition: 4 };
    beforeAll(async () => {
      resident = await OvisRunner.load(join(FIX, 'tiny', flavour), opts);
    });
    afterAll(() => resident?.dispose());

    it('answers exactly as the resident runner: two images, then text only, then one image', async () => {
      const low = await OvisRunner.load(join(FIX, 'tiny', flavour), { ...opts, lowMemory: true });
      const progress: string[] = [];
      const lowSay = await OvisRunner.load(join(FIX, 'tiny', flavour), { ...opts, lowMemory: true, onProgress: (m) => progress.push(m) });
      try {
        expect(() => low.model).toThrow(InputError); // nothing loaded before the first query
        for (const q of [[square, wide, 'Compare the two images.'], ['Say something.'], [wide, 'What is this?']]) {
          const a = await resident.run(q);
          const b = await low.run(q);
          expect(b.generation.ids).toEqual(a.generation.ids);
          expect(b.output).toBe(a.output);
          expect(b.promptTokens).toBe(a.promptTokens);
        }
        expect(low.model.vision).toBeUndefined(); // the LLM half only stays
        await lowSay.run([square, 'Describe.']);
        const vision = progress.findIndex((m) => m.includes('loading vision tower'));
        const released = progress.findIndex((m) => m.startsWith('vision half released (resident: '));
        const llm = progress.findIndex((m) => m.startsWith(`loading ${flavour}`));
        expect(vision).toBeGreaterThanOrEqual(0);
        expect(released).toBeGreaterThan(vision);
        expect(llm).toBeGreaterThan(released); // vision, release, then the LLM
      } finally {
        low.dispose();
        lowSay.dispose();
      }
    });

    it('chat and trace, which need both halves at once, refuse with a typed error', async () => {
      const low = await OvisRunner.load(join(FIX, 'tiny', flavour), { ...opts, lowMemory: true });
      try {
        expect(() => low.chat([{ role: 'user', content: 'hi' }])).toThrow(/lowMemory/);
        expect(() => low.trace({ prompt: 'hi' }, { recorder: new StageRecorder(), maxNewTokens: 1 })).toThrow(InputError);
      } finally {
        low.dispose();
      }
    });
  });
}

describe('ovis run --low-memory', () => {
  it('prints the answer of the plain run, after the vision half is released', () => {
    const cli = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
    const img = join(FIX, 'images', 'wide.png');
    const run = (extra: string[]) =>
      spawnSync(process.execPath, [cli, 'run', '--image', img, '--prompt', 'What is this?', '--max-partition', '4', '--json', ...extra], {
        encoding: 'utf8',
        timeout: 170_000,
      });
    const plain = run(['-q']);
    const low = run(['--low-memory']);
    expect(plain.status, plain.stderr).toBe(0);
    expect(low.status, low.stderr).toBe(0);
    expect(JSON.parse(low.stdout).ids).toEqual(JSON.parse(plain.stdout).ids);
    expect(low.stderr).toMatch(/vision half released \(resident: [\d.]+ GB\)/);
  });
});

describe('releaseMemory', () => {
  it("gives a disposed wasm backend's weights back to the OS (Node)", async () => {
    const rss = () => process.memoryUsage().rss;
    const be = await createWasmBackend({ threads: 2 });
    const n = 64 * 2 ** 20; // 128 MB of bf16 per weight, 4 of them
    const w = new Uint16Array(n).fill(0x3f80);
    for (let i = 0; i < 4; i++) be.loadWeight(`w${i}`, 'BF16', [n / 1024, 1024], w);
    const loaded = rss();
    be.dispose();
    expect(await releaseMemory()).toBe(true);
    expect(loaded - rss()).toBeGreaterThan(300e6); // of the 512 MB; without the collections: ~0
  });
});
