// Checkpoint directories: expected tensor names/shapes held to the PyTorch modules, synthetic
// checkpoints (single file and sharded), checkTensors, and index/shard errors.

import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { planShards, shardName, synthCheckpoint } from '../../src/checkpoint/synth.js';
import { checkTensors, countParameters, expectedTensors, PRESETS, parseOvisConfig } from '../../src/config/index.js';
import { bf16ToF32 } from '../../src/dtype.js';
import { CheckpointError, ConfigError, SafetensorsError } from '../../src/errors.js';
import { SafetensorsFile, type TensorEntry, writeSafetensors } from '../../src/io/safetensors.js';

const HF_NAMES = JSON.parse(readFileSync(fileURLToPath(new URL('../io/fixtures/hf-tensor-names.json', import.meta.url)), 'utf8')) as Record<
  string,
  [string, number[]][]
>;

let tmp: string;
let single: string; // micro-llama, one model.safetensors
let sharded: string; // micro-gemma2, several shards + index
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ovis-ck-'));
  single = join(tmp, 'single');
  sharded = join(tmp, 'sharded');
  await synthCheckpoint({ out: single, preset: 'micro-llama', seed: 1 });
  await synthCheckpoint({ out: sharded, preset: 'micro-gemma2', seed: 1, maxShardBytes: 100_000 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('expected tensors match the PyTorch modules (fixture: reference/checkpoint_tensor_names.py)', () => {
  for (const preset of Object.keys(PRESETS)) {
    it(preset, () => {
      const want = HF_NAMES[preset];
      expect(want, `fixture lacks ${preset}: rerun reference/checkpoint_tensor_names.py`).toBeDefined();
      const got = expectedTensors(parseOvisConfig(PRESETS[preset].files()['config.json'], preset));
      const g = new Map(got.map((t) => [t.name, t.shape]));
      const w = new Map(want.map(([n, s]) => [n, s]));
      expect(
        [...g.keys()].filter((n) => !w.has(n)),
        'names we expect that torch does not allocate',
      ).toEqual([]);
      expect(
        [...w.keys()].filter((n) => !g.has(n)),
        'names torch allocates that we do not expect',
      ).toEqual([]);
      for (const [n, s] of w) expect(g.get(n), n).toEqual(s);
    });
  }

  it('the release presets have the release tensor counts and parameter breakdown', () => {
    // 706 / 916 tensors: the file listings of AIDC-AI/Ovis1.6-Llama3.2-3B and -Gemma2-9B.
    const l = expectedTensors(parseOvisConfig(PRESETS['ovis1.6-llama3.2-3b'].files()['config.json'], 'l'));
    const g = expectedTensors(parseOvisConfig(PRESETS['ovis1.6-gemma2-9b'].files()['config.json'], 'g'));
    expect(l.length).toBe(706);
    expect(g.length).toBe(916);
    // Independent arithmetic for Llama 3.2 3B: embed + 28 x (q,o: H*H; k,v: 1024*H; mlp: 3*F*H; 2 norms) + final norm.
    const H = 3072;
    const F = 8192;
    const llm = 128256 * H + 28 * (2 * H * H + 2 * 1024 * H + 3 * F * H + 2 * H) + H;
    // SigLIP so400m: patch conv + pos + 27 x (4 attn (D*D + D) + 2 LN + fc1 + fc2) + post LN + pooling head.
    const D = 1152;
    const Fv = 4304;
    const layer = 4 * (D * D + D) + 4 * D + (Fv * D + Fv) + (D * Fv + D);
    const head = D + (3 * D * D + 3 * D) + (D * D + D) + 2 * D + (Fv * D + Fv) + (D * Fv + D);
    const vision = D * 3 * 14 * 14 + D + 729 * D + 27 * layer + 2 * D + head;
    const p = countParameters(l);
    expect(p).toEqual({
      llm,
      vision,
      visual_head: 65531 * 4 * D + 2 * 65531,
      vte: 65536 * H,
      other: 0,
      total: llm + vision + 65531 * 4 * D + 2 * 65531 + 65536 * H,
    });
    expect(p.llm / 1e9).toBeCloseTo(3.21, 2);
    expect(p.vision / 1e9).toBeCloseTo(0.43, 2);
    expect(p.visual_head / 1e9).toBeCloseTo(0.3, 2);
    expect(p.vte / 1e9).toBeCloseTo(0.2, 2);
  });
});

describe('synthetic checkpoints', () => {
  it('single file: opens, every tensor present, configs parsed', async () => {
    const ck = await Checkpoint.open(single);
    try {
      expect(ck.weightFiles.kind).toBe('single');
      expect(ck.shards.length).toBe(1);
      const r = ck.check();
      expect(r.ok).toBe(true);
      expect(r.ignored.length).toBe(13); // post_layernorm (2) + pooling head (11)
      expect(ck.generationConfig.eos_token_id).toEqual([2]);
      expect(ck.preprocessorConfig!.size.height).toBe(384);
      expect(ck.tokenizerConfig!.tokenizer_class).toBe('PreTrainedTokenizerFast');
      expect(() => ck.assertRunnable()).not.toThrow();
    } finally {
      await ck.close();
    }
  });

  it('sharded: HF shard names, sorted index, tensors across shards, bounded shard size', async () => {
    const files = (await readdir(sharded)).filter((f) => f.endsWith('.safetensors')).sort();
    expect(files.length).toBeGreaterThan(2);
    expect(files[0]).toBe(shardName(1, files.length));
    expect(files[0]).toMatch(/^model-00001-of-0000\d\.safetensors$/);
    const index = JSON.parse(await readFile(join(sharded, 'model.safetensors.index.json'), 'utf8'));
    const keys = Object.keys(index.weight_map);
    expect(keys).toEqual([...keys].sort());
    const ck = await Checkpoint.open(sharded);
    try {
      expect(ck.weightFiles.kind).toBe('index');
      expect(ck.check().ok).toBe(true);
      expect(index.metadata.total_size).toBe([...ck.tensors.values()].reduce((a, t) => a + t.byteLength, 0));
      for (const s of ck.shards) {
        const bytes = [...s.tensors.values()].reduce((a, t) => a + t.byteLength, 0);
        // A shard exceeds the cap only when it holds a single tensor larger than the cap.
        if (s.tensors.size > 1) expect(bytes).toBeLessThanOrEqual(100_000);
      }
    } finally {
      await ck.close();
    }
  });

  it('values: N(0, 0.02) matrices, ones / zeros norms (Gemma2 uses 1+w), zero biases; seeded', async () => {
    const a = await Checkpoint.open(single);
    const g = await Checkpoint.open(sharded);
    try {
      const w = await a.readF32('llm.model.layers.0.mlp.gate_proj.weight');
      let s = 0;
      let s2 = 0;
      for (const x of w) {
        s += x;
        s2 += x * x;
      }
      const mean = s / w.length;
      const std = Math.sqrt(s2 / w.length - mean * mean);
      expect(Math.abs(mean)).toBeLessThan(0.002);
      expect(std).toBeGreaterThan(0.019);
      expect(std).toBeLessThan(0.021);
      expect([...(await a.readF32('llm.model.norm.weight'))].every((x) => x === 1)).toBe(true);
      expect([...(await g.readF32('llm.model.norm.weight'))].every((x) => x === 0)).toBe(true);
      expect([...(await a.readF32('visual_tokenizer.head.1.bias'))].every((x) => x === 0)).toBe(true);
      expect([...(await a.readF32('visual_tokenizer.head.1.weight'))].every((x) => x === 1)).toBe(true);
      // Raw bf16 bits widen to the same values readF32 returns.
      const raw = await a.read('vte.weight');
      const f = await a.readF32('vte.weight');
      expect(bf16ToF32((raw.data as Uint16Array)[5])).toBe(f[5]);
    } finally {
      await a.close();
      await g.close();
    }
  });

  it('is deterministic per seed and independent of sharding; another seed differs', async () => {
    const again = join(tmp, 'again');
    const other = join(tmp, 'other');
    await synthCheckpoint({ out: again, preset: 'micro-llama', seed: 1, maxShardBytes: 50_000 });
    await synthCheckpoint({ out: other, preset: 'micro-llama', seed: 2 });
    const [a, b, c] = await Promise.all([single, again, other].map((d) => Checkpoint.open(d)));
    try {
      const name = 'llm.model.layers.1.self_attn.q_proj.weight';
      const [x, y, z] = await Promise.all([a, b, c].map((k) => k.readF32(name)));
      expect(b.shards.length).toBeGreaterThan(1);
      expect(Buffer.from(x.buffer).equals(Buffer.from(y.buffer))).toBe(true);
      expect(Buffer.from(x.buffer).equals(Buffer.from(z.buffer))).toBe(false);
    } finally {
      await Promise.all([a, b, c].map((k) => k.close()));
    }
  });

  it('f32 synth stores F32', async () => {
    const d = join(tmp, 'f32');
    await synthCheckpoint({ out: d, preset: 'micro-llama', dtype: 'F32' });
    const ck = await Checkpoint.open(d);
    expect(ck.info('vte.weight').dtype).toBe('F32');
    expect(ck.config.torch_dtype).toBe('float32');
    expect(ck.check().ok).toBe(true);
    await ck.close();
  });

  it('planShards starts a new shard only when the next tensor would overflow', () => {
    const t = (name: string, n: number) => ({ name, shape: [n], component: 'llm' as const, init: 'normal' as const });
    const plan = planShards([t('a', 10), t('b', 10), t('c', 100), t('d', 1)], 'F32', 80);
    expect(plan.map((s) => s.map((x) => x.name))).toEqual([['a', 'b'], ['c'], ['d']]);
  });
});

describe('checkTensors reports missing, unexpected, mis-shaped, wrong-dtype and ignored tensors', () => {
  it('on a small synthetic checkpoint', async () => {
    const ck = await Checkpoint.open(single);
    try {
      const tensors = new Map(ck.tensors);
      tensors.delete('llm.model.layers.1.mlp.down_proj.weight');
      tensors.delete('visual_tokenizer.backbone.vision_model.head.probe'); // ignored: absence is fine
      tensors.delete('visual_tokenizer.backbone.vision_model.post_layernorm.weight');
      const q = tensors.get('llm.model.layers.0.self_attn.q_proj.weight')!;
      tensors.set(q.name, { ...q, shape: [64, 32] });
      const v = tensors.get('vte.weight')!;
      tensors.set(v.name, { ...v, dtype: 'I64' });
      tensors.set('llm.lm_head.weight', { ...v, name: 'llm.lm_head.weight', shape: [512, 64] }); // tied: not expected
      const r = checkTensors(ck.config, tensors);
      expect(r.ok).toBe(false);
      expect(r.missing.map((e) => e.name)).toEqual(['llm.model.layers.1.mlp.down_proj.weight']);
      expect(r.missing[0].shape).toEqual([64, 128]);
      expect(r.misshaped).toEqual([{ name: q.name, expected: [64, 64], got: [64, 32], file: q.file }]);
      expect(r.wrongDtype.map((x) => [x.name, x.dtype])).toEqual([['vte.weight', 'I64']]);
      expect(r.unexpected.map((t) => t.name)).toEqual(['llm.lm_head.weight']);
      expect(r.ignored.length).toBe(11);
      expect(r.ignored).not.toContain('visual_tokenizer.backbone.vision_model.head.probe');
      const ck2 = Object.create(ck) as Checkpoint;
      Object.defineProperty(ck2, 'tensors', { value: tensors });
      expect(() => ck2.assertRunnable()).toThrow(
        /missing \(1\):\n {2}llm\.model\.layers\.1\.mlp\.down_proj\.weight \[64,128\][\s\S]*mis-shaped \(1\)[\s\S]*expected \[64,64\], got \[64,32\][\s\S]*wrong dtype \(1[\s\S]*unexpected \(1\)/,
      );
    } finally {
      await ck.close();
    }
  });

  it('untied config expects lm_head; the tied checkpoint then misses it', async () => {
    const ck = await Checkpoint.open(single);
    const cfg = structuredClone(PRESETS['micro-llama'].files()['config.json']) as Record<string, any>;
    cfg.llm_config.tie_word_embeddings = false;
    const r = checkTensors(parseOvisConfig(cfg, 'c.json'), ck.tensors);
    expect(r.missing.map((e) => [e.name, e.shape])).toEqual([['llm.lm_head.weight', [512, 64]]]);
    await ck.close();
  });
});

describe('checkpoint directory errors', () => {
  async function copyOf(src: string, name: string): Promise<string> {
    const d = join(tmp, name);
    await cp(src, d, { recursive: true });
    return d;
  }
  const indexPath = (d: string): string => join(d, 'model.safetensors.index.json');

  it('no config.json / no weights', async () => {
    await expect(Checkpoint.open(join(tmp, 'nowhere'))).rejects.toThrow(/no config\.json/);
    const d = await copyOf(single, 'noweights');
    await unlink(join(d, 'model.safetensors'));
    await expect(Checkpoint.open(d)).rejects.toThrow(CheckpointError);
    await expect(Checkpoint.open(d)).rejects.toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json found/);
  });

  it('missing shard', async () => {
    const d = await copyOf(sharded, 'missing-shard');
    const files = (await readdir(d)).filter((f) => f.startsWith('model-')).sort();
    await unlink(join(d, files[1]));
    await expect(Checkpoint.open(d)).rejects.toThrow(
      new RegExp(`1 shard\\(s\\) named in model\\.safetensors\\.index\\.json do not exist: ${files[1].replace(/\./g, '\\.')}`),
    );
  });

  it('tensor listed twice in the index', async () => {
    const d = await copyOf(sharded, 'dup-index');
    const text = await readFile(indexPath(d), 'utf8');
    // Duplicate the first weight_map entry (JSON.parse would silently keep one).
    const patched = text.replace(/("weight_map": \{\n)(\s*"[^"]+": "[^"]+",\n)/, '$1$2$2');
    expect(patched).not.toBe(text);
    await writeFile(indexPath(d), patched);
    await expect(Checkpoint.open(d)).rejects.toThrow(
      /tensor listed twice in the index: weight_map\.llm\.model\.embed_tokens\.weight|tensor listed twice in the index: weight_map\["/,
    );
  });

  it('index maps a tensor to a shard that lacks it; shard holds a tensor the index omits', async () => {
    const d = await copyOf(sharded, 'wrong-shard');
    const index = JSON.parse(await readFile(indexPath(d), 'utf8'));
    const files = [...new Set(Object.values(index.weight_map) as string[])].sort();
    index.weight_map['vte.weight'] = files[0];
    delete index.weight_map['llm.model.norm.weight'];
    await writeFile(indexPath(d), JSON.stringify(index));
    const err = await Checkpoint.open(d).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toMatch(new RegExp(`index maps "vte\\.weight" to ${files[0].replace(/\./g, '\\.')}, which does not contain it`));
    expect(err.message).toMatch(/contains "llm\.model\.norm\.weight", which the index does not list/);
  });

  it('a tensor stored in two shards; an absent tensor', async () => {
    const d = await copyOf(sharded, 'two-shards');
    const index = JSON.parse(await readFile(indexPath(d), 'utf8'));
    // Add an extra shard that re-stores vte.weight, and list a tensor no shard has.
    const extra: TensorEntry[] = [{ name: 'vte.weight', dtype: 'BF16', shape: [512, 64], data: new Uint16Array(512 * 64) }];
    await writeSafetensors(join(d, 'model-extra.safetensors'), extra);
    index.weight_map['zzz.extra'] = 'model-extra.safetensors';
    await writeFile(indexPath(d), JSON.stringify(index));
    const err = await Checkpoint.open(d).catch((e) => e);
    expect(err.message).toMatch(/index maps "zzz\.extra" to model-extra\.safetensors, which does not contain it/);
    expect(err.message).toMatch(
      /tensor "vte\.weight" is stored twice: in model-0000\d-of-0000\d\.safetensors and in model-extra\.safetensors/,
    );
  });

  it('shard names must stay inside the directory', async () => {
    const d = await copyOf(sharded, 'escape');
    const index = JSON.parse(await readFile(indexPath(d), 'utf8'));
    index.weight_map['vte.weight'] = '../other/model.safetensors';
    await writeFile(indexPath(d), JSON.stringify(index));
    await expect(Checkpoint.open(d)).rejects.toThrow(
      /weight_map\["vte\.weight"\]: expected a \.safetensors file name in the same directory/,
    );
  });

  it('a corrupt shard surfaces the SafetensorsError naming the shard', async () => {
    const d = await copyOf(sharded, 'corrupt-shard');
    const files = (await readdir(d)).filter((f) => f.startsWith('model-')).sort();
    const p = join(d, files[0]);
    const bytes = await readFile(p);
    await writeFile(p, bytes.subarray(0, bytes.length - 3));
    const err = await Checkpoint.open(d).catch((e) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain(files[0]);
    expect(err.message).toMatch(/past the end of the data region/);
  });

  it('invalid config.json names the file and every problem', async () => {
    const d = await copyOf(single, 'badconfig');
    const cfg = JSON.parse(await readFile(join(d, 'config.json'), 'utf8'));
    cfg.llm_config.model_type = 'phi3';
    cfg.visual_tokenizer_config.hidden_stride = 'two';
    await writeFile(join(d, 'config.json'), JSON.stringify(cfg));
    const err = await Checkpoint.open(d).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(join(d, 'config.json'));
    expect(err.problems).toEqual([
      'llm_config.model_type: unknown LLM model_type string "phi3"; expected "llama", "gemma2" or "qwen2"',
      'visual_tokenizer_config.hidden_stride: expected an integer in [1, 64], got string "two"',
    ]);
    await writeFile(join(d, 'config.json'), '{"model_type": "ovis",');
    await expect(Checkpoint.open(d)).rejects.toThrow(/config\.json: 1 problem\(s\):\n {2}- invalid JSON/);
  });

  it('reads go to the right shard', async () => {
    const ck = await Checkpoint.open(sharded);
    try {
      const name = 'visual_tokenizer.head.0.weight';
      const direct = await SafetensorsFile.open(ck.info(name).file);
      const a = await ck.readF32(name);
      const b = await direct.readF32(name);
      await direct.close();
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      await expect(ck.read('nope')).rejects.toThrow(/no tensor named "nope" in the checkpoint/);
    } finally {
      await ck.close();
    }
  });
});
