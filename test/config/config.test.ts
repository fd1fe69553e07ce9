// Typed configs: HF defaults (held to a transformers dump), every numerics key is read,
// unsupported values are rejected with the reason, and all problems are reported at once.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  expectedTensors,
  numPatches,
  type OvisConfig,
  PRESETS,
  parseGenerationConfig,
  parseOvisConfig,
  parsePreprocessorConfig,
  visualTokensPerCrop,
} from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

const HF = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/hf-config-defaults.json', import.meta.url)), 'utf8')) as Record<
  string,
  Record<string, unknown>
>;

const llama3b = (): Record<string, any> => structuredClone(PRESETS['ovis1.6-llama3.2-3b'].files()['config.json']) as Record<string, any>;
const gemma9b = (): Record<string, any> => structuredClone(PRESETS['ovis1.6-gemma2-9b'].files()['config.json']) as Record<string, any>;

function problems(json: unknown, file = 'x/config.json'): string[] {
  try {
    parseOvisConfig(json, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).file).toBe(file);
    expect((e as Error).message.startsWith(file + ':')).toBe(true);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

/** Set a dotted path ("llm_config.rope_scaling.factor") in a JSON object. */
function set(o: Record<string, any>, path: string, v: unknown): Record<string, any> {
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) cur = cur[k];
  if (v === undefined) delete cur[keys[keys.length - 1]];
  else cur[keys[keys.length - 1]] = v;
  return o;
}

describe('the release configs parse to the documented architecture', () => {
  it('Ovis1.6-Llama3.2-3B', () => {
    const c = parseOvisConfig(llama3b(), 'llama/config.json');
    const l = c.llm_config;
    expect(l.model_type).toBe('llama');
    if (l.model_type !== 'llama') return;
    expect([
      l.hidden_size,
      l.intermediate_size,
      l.num_hidden_layers,
      l.num_attention_heads,
      l.num_key_value_heads,
      l.head_dim,
      l.vocab_size,
    ]).toEqual([3072, 8192, 28, 24, 8, 128, 128256]);
    expect(l.rope_theta).toBe(500000);
    expect(l.rope_scaling).toEqual({
      rope_type: 'llama3',
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    });
    expect(l.rms_norm_eps).toBe(1e-5);
    expect(l.tie_word_embeddings).toBe(true);
    expect(l.eos_token_id).toEqual([128001, 128008, 128009]);
    const v = c.visual_tokenizer_config;
    expect([v.vocab_size, v.hidden_stride, v.tokenize_function, v.drop_cls_token, v.depths]).toEqual([65536, 2, 'softmax', false, null]);
    const b = v.backbone_config;
    expect([
      b.hidden_size,
      b.intermediate_size,
      b.num_hidden_layers,
      b.num_attention_heads,
      b.image_size,
      b.patch_size,
      b.layer_norm_eps,
    ]).toEqual([1152, 4304, 27, 16, 384, 14, 1e-6]);
    expect(numPatches(b)).toBe(729);
    expect(visualTokensPerCrop(v)).toBe(196);
    expect(c.conversation_formatter_class).toBe('Llama3ConversationFormatter');
    expect(c.hidden_size).toBe(3072);
    expect(c.multimodal_max_length).toBe(8192);
  });

  it('Ovis1.6-Gemma2-9B', () => {
    const c = parseOvisConfig(gemma9b(), 'gemma/config.json');
    const l = c.llm_config;
    if (l.model_type !== 'gemma2') throw new Error('expected gemma2');
    expect([
      l.hidden_size,
      l.intermediate_size,
      l.num_hidden_layers,
      l.num_attention_heads,
      l.num_key_value_heads,
      l.head_dim,
      l.vocab_size,
    ]).toEqual([3584, 14336, 42, 16, 8, 256, 256000]);
    expect([l.query_pre_attn_scalar, l.attn_logit_softcapping, l.final_logit_softcapping, l.sliding_window]).toEqual([256, 50, 30, 4096]);
    // HF default layer_types: even layer index -> sliding.
    expect(l.layer_types.slice(0, 4)).toEqual(['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention']);
    expect(l.layer_types.length).toBe(42);
    expect(l.hidden_activation).toBe('gelu_pytorch_tanh');
    expect(l.eos_token_id).toEqual([1, 107]);
    expect(c.conversation_formatter_class).toBe('GemmaConversationFormatter');
  });
});

describe('HF defaults match transformers (fixture: reference/config_defaults.py)', () => {
  const vt = (): Record<string, any> => llama3b().visual_tokenizer_config;
  for (const [name, rec] of Object.entries(HF)) {
    if (name.startsWith('_')) continue;
    it(name, () => {
      let parsed: Record<string, unknown>;
      if (name.startsWith('siglip')) {
        const cfg = llama3b();
        cfg.visual_tokenizer_config.backbone_config = rec.input;
        parsed = parseOvisConfig(cfg, 'c.json').visual_tokenizer_config.backbone_config as unknown as Record<string, unknown>;
      } else {
        const cfg = { ...llama3b(), llm_config: rec.input, hidden_size: rec.hidden_size, visual_tokenizer_config: vt() };
        parsed = parseOvisConfig(cfg, 'c.json').llm_config as unknown as Record<string, unknown>;
      }
      for (const [k, want] of Object.entries(rec)) {
        if (k === 'input' || !(k in parsed)) continue;
        const got = parsed[k];
        if (k === 'eos_token_id') expect(got, k).toEqual(want === null ? [] : Array.isArray(want) ? want : [want]);
        else if (k === 'rope_scaling' && want) {
          const { type: _legacy, ...w } = want as Record<string, unknown>;
          expect(got, k).toEqual(w);
        } else expect(got, k).toEqual(want);
      }
      // Every parsed numerics key is covered by the fixture (none silently unchecked).
      const checked = Object.keys(parsed).filter((k) => k in rec);
      expect(checked.length).toBeGreaterThanOrEqual(name.startsWith('siglip') ? 9 : 15);
    });
  }
});

describe('each numerics key is read (change it -> the parsed value changes)', () => {
  type Case = [string, unknown, (c: OvisConfig) => unknown, unknown];
  const get = (c: OvisConfig, k: string): unknown => (c.llm_config as unknown as Record<string, unknown>)[k];
  const llamaCases: Case[] = [
    ['llm_config.rope_theta', 10000.0, (c) => get(c, 'rope_theta'), 10000],
    ['llm_config.rope_scaling', null, (c) => get(c, 'rope_scaling'), null],
    ['llm_config.rope_scaling.factor', 8.0, (c) => (get(c, 'rope_scaling') as any).factor, 8],
    ['llm_config.rope_scaling.low_freq_factor', 2.0, (c) => (get(c, 'rope_scaling') as any).low_freq_factor, 2],
    ['llm_config.rope_scaling.high_freq_factor', 8.0, (c) => (get(c, 'rope_scaling') as any).high_freq_factor, 8],
    [
      'llm_config.rope_scaling.original_max_position_embeddings',
      4096,
      (c) => (get(c, 'rope_scaling') as any).original_max_position_embeddings,
      4096,
    ],
    ['llm_config.rms_norm_eps', 1e-6, (c) => get(c, 'rms_norm_eps'), 1e-6],
    ['llm_config.head_dim', 64, (c) => get(c, 'head_dim'), 64],
    ['llm_config.num_key_value_heads', 24, (c) => get(c, 'num_key_value_heads'), 24],
    ['llm_config.tie_word_embeddings', false, (c) => get(c, 'tie_word_embeddings'), false],
    ['llm_config.attention_bias', true, (c) => get(c, 'attention_bias'), true],
    ['llm_config.mlp_bias', true, (c) => get(c, 'mlp_bias'), true],
    ['llm_config.max_position_embeddings', 4096, (c) => get(c, 'max_position_embeddings'), 4096],
    ['visual_tokenizer_config.hidden_stride', 3, (c) => c.visual_tokenizer_config.hidden_stride, 3],
    ['visual_tokenizer_config.vocab_size', 1024, (c) => c.visual_tokenizer_config.vocab_size, 1024],
    ['visual_tokenizer_config.depths', [27], (c) => c.visual_tokenizer_config.depths, [27]],
    ['visual_tokenizer_config.depths', '27', (c) => c.visual_tokenizer_config.depths, [27]],
    ['visual_tokenizer_config.backbone_config.layer_norm_eps', 1e-5, (c) => c.visual_tokenizer_config.backbone_config.layer_norm_eps, 1e-5],
    ['visual_tokenizer_config.backbone_config.image_size', 224, (c) => c.visual_tokenizer_config.backbone_config.image_size, 224],
    ['visual_tokenizer_config.backbone_config.patch_size', 16, (c) => c.visual_tokenizer_config.backbone_config.patch_size, 16],
    [
      'visual_tokenizer_config.backbone_config.vision_use_head',
      false,
      (c) => c.visual_tokenizer_config.backbone_config.vision_use_head,
      false,
    ],
    ['multimodal_max_length', 4096, (c) => c.multimodal_max_length, 4096],
    ['conversation_formatter_class', 'QwenConversationFormatter', (c) => c.conversation_formatter_class, 'QwenConversationFormatter'],
  ];
  const gemmaCases: Case[] = [
    ['llm_config.query_pre_attn_scalar', 224, (c) => get(c, 'query_pre_attn_scalar'), 224],
    ['llm_config.attn_logit_softcapping', null, (c) => get(c, 'attn_logit_softcapping'), null],
    ['llm_config.attn_logit_softcapping', 40.0, (c) => get(c, 'attn_logit_softcapping'), 40],
    ['llm_config.final_logit_softcapping', null, (c) => get(c, 'final_logit_softcapping'), null],
    ['llm_config.final_logit_softcapping', 20.0, (c) => get(c, 'final_logit_softcapping'), 20],
    ['llm_config.sliding_window', 1024, (c) => get(c, 'sliding_window'), 1024],
    [
      'llm_config.layer_types',
      Array(42).fill('full_attention'),
      (c) => (get(c, 'layer_types') as string[]).every((x) => x === 'full_attention'),
      true,
    ],
    ['llm_config.rms_norm_eps', 1e-5, (c) => get(c, 'rms_norm_eps'), 1e-5],
    ['llm_config.head_dim', 128, (c) => get(c, 'head_dim'), 128],
    ['llm_config.tie_word_embeddings', false, (c) => get(c, 'tie_word_embeddings'), false],
    ['llm_config.rope_theta', 20000.0, (c) => get(c, 'rope_theta'), 20000],
  ];
  for (const [base, cases] of [
    [llama3b, llamaCases],
    [gemma9b, gemmaCases],
  ] as const) {
    for (const [path, value, read, want] of cases) {
      it(`${base === llama3b ? 'llama' : 'gemma2'}: ${path} = ${JSON.stringify(value)}`, () => {
        const before = read(parseOvisConfig(base(), 'c.json'));
        const after = read(parseOvisConfig(set(base(), path, value), 'c.json'));
        expect(after).toEqual(want);
        expect(after).not.toEqual(before);
      });
    }
  }

  it('legacy rope_scaling "type" key is honoured (HF copies it to rope_type)', () => {
    const c = llama3b();
    const rs = c.llm_config.rope_scaling;
    rs.type = rs.rope_type;
    delete rs.rope_type;
    expect((parseOvisConfig(c, 'c.json').llm_config.rope_scaling as any).rope_type).toBe('llama3');
  });

  it('vision_use_head false removes the pooling-head tensors; hidden_stride changes the head shape', () => {
    const n = expectedTensors(parseOvisConfig(llama3b(), 'c.json')).length;
    const c = parseOvisConfig(set(llama3b(), 'visual_tokenizer_config.backbone_config.vision_use_head', false), 'c.json');
    expect(expectedTensors(c).length).toBe(n - 11);
    const s3 = expectedTensors(parseOvisConfig(set(llama3b(), 'visual_tokenizer_config.hidden_stride', 3), 'c.json'));
    expect(s3.find((t) => t.name === 'visual_tokenizer.head.0.weight')!.shape).toEqual([65531, 9 * 1152]);
  });

  it('drop_cls_token true loads like false (Ovis SiglipVisualTokenizerConfig resets it)', () => {
    expect(
      parseOvisConfig(set(llama3b(), 'visual_tokenizer_config.drop_cls_token', true), 'c.json').visual_tokenizer_config.drop_cls_token,
    ).toBe(false);
  });
});

describe('unsupported and invalid values are rejected with file, JSON path and expectation', () => {
  it('unknown LLM model_type', () => {
    const p = problems(set(llama3b(), 'llm_config.model_type', 'mistral'));
    expect(p).toEqual(['llm_config.model_type: unknown LLM model_type string "mistral"; expected "llama", "gemma2" or "qwen2"']);
  });

  it('unknown top-level, visual tokenizer and backbone model_type', () => {
    expect(problems(set(llama3b(), 'model_type', 'llava'))).toEqual(['model_type: expected "ovis", got string "llava"']);
    expect(problems(set(llama3b(), 'visual_tokenizer_config.model_type', 'clip_visual_tokenizer'))[0]).toMatch(
      /^visual_tokenizer_config\.model_type: unknown visual tokenizer model_type string "clip_visual_tokenizer"; expected "siglip_visual_tokenizer"/,
    );
    expect(problems(set(llama3b(), 'visual_tokenizer_config.backbone_config.model_type', 'clip_vision_model'))[0]).toMatch(
      /^visual_tokenizer_config\.backbone_config\.model_type: unknown backbone model_type string "clip_vision_model"; expected "siglip_vision_model"/,
    );
  });

  it('unsupported numerics: tokenize_function, rope types, activations, depths', () => {
    expect(problems(set(llama3b(), 'visual_tokenizer_config.tokenize_function', 'gumbel_argmax'))[0]).toMatch(
      /^visual_tokenizer_config\.tokenize_function: "gumbel_argmax" is not supported by ovis-ts: .*training-time/,
    );
    expect(problems(set(llama3b(), 'visual_tokenizer_config.tokenize_function', 'argmax'))[0]).toMatch(
      /tokenize_function: expected one of "softmax", got string "argmax"/,
    );
    expect(problems(set(llama3b(), 'llm_config.rope_scaling.rope_type', 'yarn'))[0]).toMatch(
      /^llm_config\.rope_scaling\.rope_type: "yarn" is not supported by ovis-ts: YaRN/,
    );
    expect(problems(set(llama3b(), 'llm_config.hidden_act', 'gelu'))[0]).toMatch(/^llm_config\.hidden_act: "gelu" is not supported/);
    expect(problems(set(gemma9b(), 'llm_config.hidden_activation', 'gelu'))[0]).toMatch(
      /^llm_config\.hidden_activation: "gelu" is not supported/,
    );
    expect(problems(set(llama3b(), 'visual_tokenizer_config.backbone_config.hidden_act', 'quick_gelu'))[0]).toMatch(
      /backbone_config\.hidden_act: expected one of "gelu_pytorch_tanh"/,
    );
    expect(problems(set(llama3b(), 'visual_tokenizer_config.depths', [26]))[0]).toMatch(
      /^visual_tokenizer_config\.depths: \[26\] disagrees with backbone_config\.num_hidden_layers \(27\)/,
    );
    expect(problems(set(llama3b(), 'visual_tokenizer_config.depths', [27, 27]))[0]).toMatch(/requires exactly one depth, got 2/);
  });

  it('rope_scaling llama3 needs all four keys and high > low', () => {
    const c = llama3b();
    delete c.llm_config.rope_scaling.factor;
    c.llm_config.rope_scaling.high_freq_factor = 0.5;
    expect(problems(c)).toEqual([
      'llm_config.rope_scaling.factor: missing (required; expected a number >= 1)',
      'llm_config.rope_scaling.high_freq_factor: must be greater than low_freq_factor (1), got 0.5',
    ]);
  });

  it('wrong types and missing required fields are all reported at once', () => {
    const c = llama3b();
    c.llm_config.hidden_size = '3072';
    c.llm_config.rms_norm_eps = -1;
    c.llm_config.tie_word_embeddings = 'yes';
    c.visual_tokenizer_config.hidden_stride = 0;
    c.visual_tokenizer_config.backbone_config.num_hidden_layers = 2.5;
    delete c.conversation_formatter_class;
    delete c.hidden_size;
    const p = problems(c);
    expect(p).toEqual([
      'llm_config.hidden_size: expected an integer in [1, 65536], got string "3072"',
      'llm_config.rms_norm_eps: expected a number > 0, got integer -1',
      'llm_config.tie_word_embeddings: expected true or false, got string "yes"',
      'visual_tokenizer_config.backbone_config.num_hidden_layers: expected an integer in [1, 1024], got number 2.5',
      'visual_tokenizer_config.hidden_stride: expected an integer in [1, 64], got integer 0',
      'hidden_size: missing (required; expected an integer in [1, 65536])',
      'conversation_formatter_class: missing (required; expected one of "Llama3ConversationFormatter", "GemmaConversationFormatter", "QwenConversationFormatter")',
    ]);
  });

  it('missing sub-configs, non-object root, inconsistent sizes', () => {
    const c = llama3b();
    delete c.llm_config;
    c.visual_tokenizer_config = [];
    expect(problems(c)).toEqual([
      'llm_config: missing (required; expected an object)',
      'visual_tokenizer_config: expected an object, got array',
    ]);
    expect(problems([1])).toEqual(['expected a JSON object at the top level, got array']);
    expect(problems(set(llama3b(), 'hidden_size', 4096))).toEqual([
      'hidden_size: 4096 differs from llm_config.hidden_size 3072 (Ovis asserts they are equal)',
    ]);
    expect(problems(set(llama3b(), 'llm_config.num_key_value_heads', 7))[0]).toMatch(
      /num_attention_heads \(24\) must be a multiple of num_key_value_heads \(7\)/,
    );
    expect(problems(set(gemma9b(), 'llm_config.layer_types', ['full_attention']))[0]).toMatch(
      /^llm_config\.layer_types: has 1 entries, num_hidden_layers is 42/,
    );
    expect(problems(set(gemma9b(), 'llm_config.layer_types', Array(42).fill('local')))[0]).toMatch(
      /^llm_config\.layer_types\[0\]: expected one of "full_attention", "sliding_attention", got string "local"/,
    );
  });
});

describe('generation_config.json and preprocessor_config.json', () => {
  it('eos_token_id: a number or a list, normalised to a list; defaults from HF GenerationConfig', () => {
    expect(parseGenerationConfig({ eos_token_id: 107 }, 'g.json').eos_token_id).toEqual([107]);
    const g = parseGenerationConfig({ eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 }, 'g.json');
    expect(g.eos_token_id).toEqual([128001, 128008, 128009]);
    expect([g.do_sample, g.temperature, g.top_p, g.top_k, g.repetition_penalty, g.max_length]).toEqual([true, 0.6, 0.9, 50, 1.0, 20]);
    // Ids absent from the file fall back to llm_config (HF from_model_config).
    expect(parseGenerationConfig({}, 'g.json', { bos_token_id: 2, eos_token_id: [1], pad_token_id: 0 }).eos_token_id).toEqual([1]);
  });

  it('bad generation values are reported together', () => {
    expect(() => parseGenerationConfig({ eos_token_id: 'x', top_p: 2, do_sample: 1 }, 'g.json')).toThrow(ConfigError);
    try {
      parseGenerationConfig({ eos_token_id: 'x', top_p: 2, do_sample: 1 }, 'g.json');
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([
        'eos_token_id: expected a token id or a list of token ids, got string "x"',
        'do_sample: expected true or false, got integer 1',
        'top_p: expected a number in [0, 1], got 2',
      ]);
    }
  });

  it('preprocessor: the release file parses; Ovis asserts are enforced', () => {
    const pp = PRESETS['ovis1.6-llama3.2-3b'].files()['preprocessor_config.json'];
    const c = parsePreprocessorConfig(pp, 'p.json');
    expect(c.size).toEqual({ height: 384, width: 384 });
    expect([c.resample, c.rescale_factor, c.image_mean, c.image_std]).toEqual([3, 1 / 255, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]);
    // values the pixel normalisation would not apply are refused, not parsed and ignored
    expect(() => parsePreprocessorConfig({ ...pp, image_mean: [0.4, 0.5, 0.6] }, 'p.json')).toThrow(
      /image_mean: only SigLIP's \[0\.5, 0\.5, 0\.5\] is implemented, got \[0\.4, 0\.5, 0\.6\]/,
    );
    expect(() => parsePreprocessorConfig({ ...pp, image_std: 0.25 }, 'p.json')).toThrow(/image_std: only SigLIP's/);
    expect(() => parsePreprocessorConfig({ ...pp, rescale_factor: 1 / 256 }, 'p.json')).toThrow(/rescale_factor: only SigLIP's 1\/255/);
    expect(parsePreprocessorConfig({ ...pp, image_mean: 0.5 }, 'p.json').image_mean).toEqual([0.5, 0.5, 0.5]);
    // prototype keys are not "unsupported values" with a reason taken from Object.prototype
    expect(() => parseOvisConfig({ ...llama3b(), conversation_formatter_class: 'constructor' }, 'c.json')).toThrow(
      /conversation_formatter_class: expected one of .*, got string "constructor"/,
    );
    expect(() =>
      parsePreprocessorConfig({ ...pp, resample: 2, do_center_crop: true, size: { height: 384, width: 380 } }, 'p.json'),
    ).toThrow(
      /size: Ovis needs a square crop side, got height 384 width 380[\s\S]*do_center_crop: must be false[\s\S]*resample: only 3 \(PIL BICUBIC\)/,
    );
  });
});

describe('sizes read from config.json are bounded before anything is built from them (config/limits.ts)', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'llm_config.num_hidden_layers',
      100_000_000,
      /llm_config\.num_hidden_layers: expected an integer in \[1, 1024\], got integer 100000000/,
    ],
    [
      'visual_tokenizer_config.backbone_config.num_hidden_layers',
      100_000_000,
      /backbone_config\.num_hidden_layers: expected an integer in \[1, 1024\]/,
    ],
    ['llm_config.vocab_size', 1e12, /llm_config\.vocab_size: expected an integer in \[1, 4194304\]/],
    ['llm_config.hidden_size', 1 << 20, /llm_config\.hidden_size: expected an integer in \[1, 65536\]/],
    ['llm_config.num_attention_heads', 1e7, /num_attention_heads: expected an integer in \[1, 1024\]/],
    ['llm_config.num_key_value_heads', 1e7, /num_key_value_heads: expected an integer in \[1, 1024\]/],
    ['llm_config.head_dim', 1e6, /head_dim: expected an integer in \[1, 4096\]/],
    ['llm_config.intermediate_size', 1e9, /intermediate_size: expected an integer in \[1, 524288\]/],
    ['visual_tokenizer_config.vocab_size', 1e9, /visual_tokenizer_config\.vocab_size: expected an integer in \[6, 1048576\]/],
    ['visual_tokenizer_config.hidden_stride', 1e6, /hidden_stride: expected an integer in \[1, 64\]/],
    ['visual_tokenizer_config.backbone_config.image_size', 1e6, /image_size: expected an integer in \[1, 8192\]/],
    ['multimodal_max_length', 1e12, /multimodal_max_length: expected an integer in \[1, 16777216\]/],
  ];
  for (const [path, value, want] of cases) {
    it(`${path} = ${value}`, () => {
      const c = path.startsWith('llm_config.head_dim') || path.includes('key_value') ? gemma9b() : llama3b();
      let o: Record<string, any> = c;
      const keys = path.split('.');
      for (const k of keys.slice(0, -1)) o = o[k];
      o[keys.at(-1)!] = value;
      expect(problems(c).join('\n')).toMatch(want);
    });
  }

  it('a Gemma2 layer_types list longer than any supported depth is refused without walking it', () => {
    const c = gemma9b();
    c.llm_config.layer_types = new Array(2_000_000).fill('full_attention');
    // this message comes from the length check before the walk (the walk reports "num_hidden_layers is N")
    expect(problems(c).join('\n')).toMatch(/llm_config\.layer_types: has 2000000 entries; at most 1024 layers are supported/);
  });

  it('the real checkpoints are inside every bound', () => {
    expect(() => parseOvisConfig(llama3b(), 'llama')).not.toThrow();
    expect(() => parseOvisConfig(gemma9b(), 'gemma')).not.toThrow();
  });
});
