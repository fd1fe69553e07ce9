// `ovis inspect DIR [--json]` — summarise a checkpoint directory and check that every tensor the
// architecture needs exists with the right shape and dtype. Reads the JSON files and the
// safetensors headers only (never weights), so it is fast on a 20 GB checkpoint.
// Exit code: 0 = the model can run from these files, 1 = it cannot (problems listed).

import { Checkpoint } from '../checkpoint/checkpoint.js';
import {
  COMPONENTS,
  type Component,
  countParameters,
  describeCheck,
  expectedTensors,
  numPatches,
  visualTokensPerCrop,
} from '../config/index.js';
import { DTYPE_BYTES, type DType } from '../dtype.js';
import { UsageError } from '../errors.js';
import { resolveModel } from '../hub/cache.js';
import { formatOptions, type OptionSpecs, parseOptions } from './common.js';

const OPTIONS = {
  json: { type: 'boolean', help: 'print one JSON object instead of text' },
} as const satisfies OptionSpecs;

const HELP = `usage: ovis inspect DIR [--json]

Summarise an Ovis1.6 Hugging Face checkpoint directory (config.json + safetensors):
architecture, parameters per component (vision tower, visual head, VTE, LLM), dtypes, shards,
and missing / unexpected / mis-shaped tensors. Reads headers only, never the weights.

options:
${formatOptions(OPTIONS)}

exit code: 0 if the model can run from these files, 1 if not (or the files are invalid).`;

const LABEL: Record<Component, string> = { vision: 'vision tower', visual_head: 'visual head', vte: 'VTE', llm: 'LLM' };

function fmtParams(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(3)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K` : `${n}`;
}
function fmtBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} KB`;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseOptions('inspect', argv, OPTIONS, { positionals: true });
  if (parsed.values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (parsed.positionals.length !== 1)
    throw new UsageError(`expected exactly one directory, got ${parsed.positionals.length}`, 'usage: ovis inspect DIR [--json]');
  const dir = parsed.positionals[0];

  const ck = await Checkpoint.open(await resolveModel(dir));
  try {
    const cfg = ck.config;
    const check = ck.check();
    const params = countParameters(ck.tensors);
    const expected = expectedTensors(cfg);
    const ignoredParams = countParameters(expected.filter((e) => e.ignored && ck.tensors.has(e.name)));
    const dtypes: Partial<Record<DType, { tensors: number; bytes: number }>> = {};
    for (const t of ck.tensors.values()) {
      const d = (dtypes[t.dtype] ??= { tensors: 0, bytes: 0 });
      d.tensors++;
      d.bytes += t.byteLength;
    }
    const shards = ck.shards.map((s) => ({ file: s.path.split(/[\\/]/).pop()!, tensors: s.tensors.size, bytes: s.fileSize }));
    const l = cfg.llm_config;
    const vt = cfg.visual_tokenizer_config;
    const v = vt.backbone_config;

    if (parsed.values.json) {
      const out = {
        dir,
        runnable: check.ok,
        config: cfg,
        generation_config: ck.generationConfig,
        preprocessor_config: ck.preprocessorConfig ?? null,
        weights: { kind: ck.weightFiles.kind, shards, total_bytes: shards.reduce((a, s) => a + s.bytes, 0), tensors: ck.tensors.size },
        dtypes,
        parameters: { ...params, ignored: ignoredParams.total },
        check: {
          ok: check.ok,
          missing: check.missing.map((e) => ({ name: e.name, shape: e.shape })),
          unexpected: check.unexpected.map((t) => ({ name: t.name, shape: t.shape, file: t.file })),
          misshaped: check.misshaped,
          wrong_dtype: check.wrongDtype,
          ignored: check.ignored,
        },
      };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return check.ok ? 0 : 1;
    }

    const lines: string[] = [];
    const rope = l.rope_scaling && l.rope_scaling.rope_type === 'llama3' ? `, rope llama3 x${l.rope_scaling.factor}` : '';
    let extra = '';
    if (l.model_type === 'gemma2') {
      const sliding = l.layer_types.filter((x) => x === 'sliding_attention').length;
      extra = `, softcap attn ${l.attn_logit_softcapping} / final ${l.final_logit_softcapping}, window ${l.sliding_window} on ${sliding}/${l.num_hidden_layers} layers, query_pre_attn_scalar ${l.query_pre_attn_scalar}`;
    }
    lines.push(`checkpoint   ${dir}`);
    lines.push(`model        Ovis1.6 · ${cfg.conversation_formatter_class} · multimodal_max_length ${cfg.multimodal_max_length}`);
    lines.push(
      `LLM          ${l.model_type}: ${l.num_hidden_layers} layers, hidden ${l.hidden_size}, mlp ${l.intermediate_size}, heads ${l.num_attention_heads}/${l.num_key_value_heads} x ${l.head_dim}, vocab ${l.vocab_size}, rope_theta ${l.rope_theta}${rope}, rms_norm_eps ${l.rms_norm_eps}, ${l.tie_word_embeddings ? 'tied' : 'separate'} lm_head${extra}`,
    );
    lines.push(
      `vision       ${v.model_type}: ${v.num_hidden_layers} layers, hidden ${v.hidden_size}, mlp ${v.intermediate_size}, heads ${v.num_attention_heads}, image ${v.image_size}, patch ${v.patch_size} -> ${numPatches(v)} patches, layer_norm_eps ${v.layer_norm_eps}`,
    );
    lines.push(
      `visual tok.  hidden_stride ${vt.hidden_stride} -> ${visualTokensPerCrop(vt)} tokens/crop, vocab ${vt.vocab_size} (${vt.vocab_size - 5} + 5 indicators), tokenize ${vt.tokenize_function}`,
    );
    lines.push(
      `generation   eos ${JSON.stringify(ck.generationConfig.eos_token_id)}, bos ${ck.generationConfig.bos_token_id} (${ck.generationConfig.source.split(/[\\/]/).pop()})`,
    );
    lines.push(
      `weights      ${ck.weightFiles.kind === 'index' ? 'index + ' : ''}${shards.length} file(s), ${ck.tensors.size} tensors, ${fmtBytes(shards.reduce((a, s) => a + s.bytes, 0))}`,
    );
    for (const s of shards) lines.push(`               ${s.file}  ${s.tensors} tensors  ${fmtBytes(s.bytes)}`);
    lines.push(
      `dtypes       ${Object.entries(dtypes)
        .map(([d, x]) => `${d} x${x!.tensors} (${fmtBytes(x!.bytes)}, ${DTYPE_BYTES[d as DType]} B/elt)`)
        .join(', ')}`,
    );
    lines.push('parameters');
    for (const c of COMPONENTS) {
      const note =
        c === 'vision' && ignoredParams.total ? `   (incl. ${fmtParams(ignoredParams.total)} unused: post_layernorm + pooling head)` : '';
      lines.push(`  ${LABEL[c].padEnd(13)}${fmtParams(params[c]).padStart(12)}${note}`);
    }
    if (params.other) lines.push(`  ${'other'.padEnd(13)}${fmtParams(params.other).padStart(12)}`);
    lines.push(`  ${'total'.padEnd(13)}${fmtParams(params.total).padStart(12)}`);
    if (check.ok) {
      lines.push(
        `check        OK: all ${expected.filter((e) => !e.ignored).length} required tensors present with the right shapes and dtypes; ${check.ignored.length} stored-but-unused tensors ignored`,
      );
    } else {
      lines.push('check        FAILED: the model cannot run from these files');
      for (const x of describeCheck(check)) lines.push('  ' + x);
    }
    process.stdout.write(lines.join('\n') + '\n');
    return check.ok ? 0 : 1;
  } finally {
    await ck.close();
  }
}
