// Bad requests and bad checkpoints give typed errors that say what is wrong — never a crash,
// a hang or silent garbage: marker/image count mismatch, empty prompt, context longer than
// multimodal_max_length, a mis-shaped tensor, wrong types from JavaScript callers.

import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, InputError } from '../../src/errors.js';
import { SafetensorsFile, type TensorEntry, writeSafetensors } from '../../src/io/safetensors.js';
import { OvisRunner, weightsVsRam } from '../../src/runner.js';

const TINY = join(__dirname, '..', '..', 'reference', 'fixtures', 'tiny', 'llama');
const IMAGES = join(__dirname, '..', '..', 'reference', 'fixtures', 'images');
const image = () => new Uint8Array(readFileSync(join(IMAGES, 'square.png')));

/** A copy of the tiny checkpoint with `edit` applied to its config.json. */
function copyCheckpoint(edit?: (cfg: any) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'ovis-bad-'));
  for (const f of readdirSync(TINY)) copyFileSync(join(TINY, f), join(dir, f));
  if (edit) {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    edit(cfg);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  }
  return dir;
}

describe('runner: bad requests', () => {
  let runner: OvisRunner;
  beforeAll(async () => {
    runner = await OvisRunner.load(TINY, { backend: 'ts', maxNewTokens: 2 });
  });
  afterAll(() => runner?.dispose());

  it('more <image> markers than images', async () => {
    await expect(runner.ask({ prompt: '<image>\n<image>\nCompare.', images: [image()] })).rejects.toThrow(
      /2 <image> marker\(s\) but 1 image\(s\)/,
    );
  });
  it('fewer <image> markers than images', async () => {
    const err = await runner.ask({ prompt: '<image>\nCompare.', images: [image(), image()] }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/1 <image> marker\(s\) but 2 image\(s\)/);
  });
  it('markers but no image', async () => {
    await expect(runner.ask({ prompt: '<image>\nWhat is it?' })).rejects.toBeInstanceOf(InputError);
  });
  it('empty prompt without images', async () => {
    const err = await runner.ask({ prompt: '   ' }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/prompt is empty/);
  });
  it('JavaScript callers passing the wrong types get InputErrors naming the field', async () => {
    const bad: Array<[() => Promise<unknown>, RegExp]> = [
      [() => runner.ask({ prompt: 42 } as never), /query\.prompt must be a string, got number/],
      [() => runner.ask({ prompt: 'hi', images: [null] } as never), /query\.images\[0\] must be an image file's bytes .* got null/],
      [() => runner.ask({ prompt: 'hi', images: 'x' } as never), /query\.images must be an array of images, got string/],
      [() => runner.ask(undefined as never), /the query must be an object \{prompt, images\?\}, got undefined/],
      [() => runner.run(null as never), /run\/stream take an array of strings and images, got null/],
      [() => runner.run([42] as never), /inputs\[0\] must be a string or an image/],
    ];
    for (const [f, want] of bad) {
      const err = await f().catch((e) => e);
      expect(err, String(want)).toBeInstanceOf(InputError);
      expect(err.message).toMatch(want);
    }
    expect(() => runner.tokenizer.decode(null as never)).toThrow(/decode: expected an array of token ids, got null/);
    expect(() => runner.tokenizer.decode([1.5])).toThrow(/decode: ids\[0\] is 1\.5, expected a non-negative integer/);
    expect(() => runner.tokenizer.decode([-3])).toThrow(/ids\[0\] is -3/);
  });
  it('an image that is not an image', async () => {
    await expect(runner.ask({ prompt: 'What?', images: [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])] })).rejects.toThrow(/image 1/);
  });
});

describe('runner: bad checkpoints', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('context longer than multimodal_max_length', async () => {
    const dir = copyCheckpoint((c) => {
      c.multimodal_max_length = 64;
    });
    dirs.push(dir);
    const r = await OvisRunner.load(dir, { backend: 'ts', maxNewTokens: 2 });
    try {
      const err = await r.ask({ prompt: 'What is in this picture?', images: [image()] }).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(/multimodal_max_length/);
      expect(err.message).toMatch(/64/);
    } finally {
      r.dispose();
    }
  });

  it('the context length is checked before the vision tower encodes any crop (minutes of work otherwise)', async () => {
    const dir = copyCheckpoint((c) => {
      c.multimodal_max_length = 300;
    });
    dirs.push(dir);
    const r = await OvisRunner.load(dir, { backend: 'ts', maxNewTokens: 2, maxPartition: 1 });
    try {
      const p = r.prepare({ prompt: 'Compare them.', images: [image(), image(), image()] }); // 3 crops x 196 > 300
      let encoded = 0;
      const err = (() => {
        try {
          r.model.embed(p.inputIds, { pixelValues: p.pixelValues!, n: p.n }, undefined, () => {
            encoded++;
          });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(InputError);
      expect(err!.message).toMatch(/\+ 3 crops x 196 visual tokens\), more than multimodal_max_length 300/);
      expect(encoded).toBe(0);
    } finally {
      r.dispose();
    }
  });

  it('a mis-shaped tensor is named with expected and actual shapes', async () => {
    const dir = copyCheckpoint();
    dirs.push(dir);
    const victim = 'llm.model.layers.0.mlp.up_proj.weight';
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const shard = join(dir, index.weight_map[victim]);
    const f = await SafetensorsFile.open(shard);
    const entries: TensorEntry[] = [];
    let expected: number[] = [];
    for (const [name, info] of f.tensors) {
      const t = await f.read(name);
      if (name === victim) {
        expected = [...info.shape];
        const [rows, cols] = info.shape;
        const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, (rows - 1) * cols * 2);
        entries.push({ name, dtype: info.dtype, shape: [rows - 1, cols], data: bytes });
      } else {
        entries.push({ name, dtype: info.dtype, shape: info.shape, data: t.data });
      }
    }
    await f.close();
    await writeSafetensors(shard, entries, { format: 'pt' });
    const err = await OvisRunner.load(dir, { backend: 'ts' }).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toContain(victim);
    expect(err.message).toContain(`${expected[0] - 1}`);
    expect(err.message).toContain(`${expected[0]}`);
  });

  it('a checkpoint directory without config.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovis-empty-'));
    dirs.push(dir);
    await expect(OvisRunner.load(dir, { backend: 'ts' })).rejects.toThrow(/config\.json/);
  });
});

describe('runner: weights larger than the machine', () => {
  it('warns before loading when the weights exceed 90% of RAM (the OS would kill the process mid-load)', () => {
    expect(weightsVsRam(20.4e9, 16e9)).toMatch(/20\.4 GB.*16\.0 GB of RAM/);
    expect(weightsVsRam(8.3e9, 24e9)).toBeUndefined();
  });
});
