"""Tiny GPTQ checkpoints (AutoGPTQ's storage format) made from the tiny Ovis1.6 checkpoints, and f32 dumps of
the model run on their dequantized weights -- the ground truth of the quantized path.

Written from AutoGPTQ's documented packing (auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py, QuantLinear.pack
and its torch forward), not copied from it:
  qweight  int32 [K*bits/32, N]  word r of column n holds k = r*(32/bits) + j in bits [bits*j, bits*j+bits)
                                 (j = 0 in the low bits)
  qzeros   int32 [G, N*bits/32]  word c of group g holds the zero point of column n = c*(32/bits) + j, in the
                                 same bit order, stored as zero - 1 (the classic "gptq" checkpoint_format; the
                                 reader adds the 1 back, so a stored 2^bits - 1 means zero 2^bits)
  scales   fp16 [G, N]
  g_idx    int32 [K]             group of input feature k (k // group_size without act order)
  bias     fp16 [N]              only when the float Linear has one
  dequantized W[n, k] = scales[g, n] * (q[k, n] - zero[g, n]),  g = g_idx[k]     (computed here in f32: exact,
                                 an fp16 scale times an integer of at most 9 bits has at most 20 significant bits)
K = in_features, N = out_features, G = ceil(K / group_size) (group_size -1 = K).

Quantization: round to nearest with per-group scales, the scheme `ovis quantize` implements (src/quant/rtn.ts),
so the TypeScript quantizer is checked bit for bit against these files:
  per group g of columns and output n: lo = min(0, min w), hi = max(0, max w)   (GPTQ's quantizer includes 0)
  sym:  hi = max(-lo, hi); lo = -hi; zero = 2^(bits-1)
  lo == hi (all-zero group): lo, hi = -1, 1
  scale = fp16((hi - lo) / maxq)   f32 division, then rounded to fp16 (nearest even); a scale that rounds to 0
                                   becomes the smallest fp16 subnormal
  asym: zero = clamp(round(-lo / scale), 1, maxq)  (>= 1: a stored zero-1 of -1 would read back as 2^bits)
  q = clamp(round(w / scale) + zero, 0, maxq)     round = half to even (torch.round), divisions in f32
Act order (desc_act): a seeded permutation perm of the K inputs stands in for GPTQ's Hessian order; the groups
are formed along perm and g_idx[k] = invperm[k] // group_size, as GPTQ stores it.

Quantized tensors: every nn.Linear of the LLM's decoder layers (self_attn q/k/v/o_proj, mlp gate/up/down_proj),
exactly what AIDC's OvisGemma2GPTQForCausalLM / OvisLlamaGPTQForCausalLM quantize (inside_layer_modules);
embed_tokens, norms, the vision tower, the visual head and the VTE stay float.

Fixture layout, reference/fixtures/tiny-gptq/<variant>/ (committed; small):
  config.json (+ quantization_config), quantize_config.json, generation_config.json, preprocessor_config.json,
  tokenizer_config.json, tokenizer.source.json, model.safetensors.index.json,
  model-00001-of-00002.safetensors   the GPTQ tensors (qweight, qzeros, scales, g_idx)
  dequantized.safetensors            ground truth: every quantized Linear's weight dequantized to f32 ("....weight")
Shard 2 (model-00002-of-00002.safetensors: every float tensor, bf16, copied from tiny/<flavour>) is NOT committed:
it would duplicate the 8-13 MB token embeddings. `materialize(variant, dir)` here and test/quant/fixture.ts build
the complete directory (same tensors, same bytes). Dumps: reference/fixtures/dumps-gptq/<variant>/<case>__f32.*,
dump.py run on the float tensors + the dequantized weights, f32 compute.

--quant-lm-head ground truth (LM_HEAD): the same run with lm_head = the RTN-quantized (symmetric, groups of
min(128, K)) tied embed_tokens, dequantized, untied -> dumps-gptq/<variant>+lm_head-int<bits>/text_only__f32.*

Usage: python make_gptq.py [--only VARIANT] [--no-dumps]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import zlib

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import dump

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, "fixtures", "tiny")
OUT = os.path.join(HERE, "fixtures", "tiny-gptq")
DUMPS = os.path.join(HERE, "fixtures", "dumps-gptq")
SEED = 20241104
FORMAT_VERSION = 1

# variant: flavour, bits, group_size, sym, desc_act
VARIANTS = {
    "llama-int4-g16": dict(flavour="llama", bits=4, group_size=16, sym=False, desc_act=False),
    "llama-int8-gall": dict(flavour="llama", bits=8, group_size=-1, sym=True, desc_act=False),
    "gemma2-int4-g8-act": dict(flavour="gemma2", bits=4, group_size=8, sym=True, desc_act=True),
}
# case: (images, prompt, max_partition, keep_logits) -- vision stages are not dumped (the vision tower is float)
CASES = {
    "text_only": ([], "What is the capital of France? Answer in one word, then explain in one sentence.", 9, True),
    "square": ([os.path.join(HERE, "fixtures", "images", "square.png")], "Describe the image in detail.", 9, False),
}
# `--quant-lm-head` (src/model/decoder.ts): lm_head RTN-quantized at load, symmetric, groups of
# min(128, hidden_size), no act order, from the (tied) embed_tokens. Ground truth: the variant's dumps
# with lm_head replaced by that dequantized weight (untied), text_only only ->
# dumps-gptq/<variant>+lm_head-int<bits>/.
LM_HEAD = {"llama-int4-g16": 4, "llama-int8-gall": 8}
LM_HEAD_GROUP = 128
LINEARS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


def read_all(ckpt):
    index = json.load(open(os.path.join(ckpt, "model.safetensors.index.json")))["weight_map"]
    out = {}
    for f in sorted(set(index.values())):
        with safe_open(os.path.join(ckpt, f), framework="pt") as fh:
            for k in fh.keys():
                out[k] = fh.get_tensor(k)
    return out


def is_quantized(name):
    return name.startswith("llm.model.layers.") and name.endswith(".weight") and any(
        "." + l + ".weight" in name for l in LINEARS)


# ---------------------------------------------------------------------------------------------
# Round-to-nearest quantization (see the header)
# ---------------------------------------------------------------------------------------------
def rtn(W, bits, group_size, sym, perm):
    """W (N, K) f32 -> q int64 (K, N) in ORIGINAL k order, scales fp16 (G, N), zeros int64 (G, N), g_idx (K,)."""
    N, K = W.shape
    maxq = 2 ** bits - 1
    gs = K if group_size == -1 else group_size
    G = (K + gs - 1) // gs
    Wp = W[:, perm]  # (N, K) in quantization order
    q = torch.zeros(K, N, dtype=torch.int64)
    scales = torch.zeros(G, N, dtype=torch.float16)
    zeros = torch.zeros(G, N, dtype=torch.int64)
    for g in range(G):
        blk = Wp[:, g * gs:(g + 1) * gs]  # (N, gs)
        lo = torch.clamp(blk.min(dim=1).values, max=0.0)
        hi = torch.clamp(blk.max(dim=1).values, min=0.0)
        if sym:
            hi = torch.maximum(-lo, hi)
            lo = -hi
        flat = lo == hi
        lo = torch.where(flat, torch.full_like(lo, -1.0), lo)
        hi = torch.where(flat, torch.full_like(hi, 1.0), hi)
        s = ((hi - lo) / maxq).to(torch.float16)
        s = torch.where(s == 0, torch.full_like(s, 2.0 ** -24), s)
        sf = s.float()
        if sym:
            z = torch.full((N,), 2 ** (bits - 1), dtype=torch.int64)
        else:
            z = torch.clamp(torch.round(-lo / sf).to(torch.int64), 1, maxq)
        qq = torch.clamp(torch.round(blk / sf[:, None]).to(torch.int64) + z[:, None], 0, maxq)  # (N, gs)
        q[perm[g * gs:(g + 1) * gs], :] = qq.t()
        scales[g] = s
        zeros[g] = z
    invperm = torch.argsort(perm)
    g_idx = (invperm // gs).to(torch.int32)
    return q, scales, zeros, g_idx


def pack_rows(q, bits):
    """q (K, N) ints in [0, 2^bits) -> int32 (K*bits/32, N): element k of column n at word k // (32/bits),
    bits [bits*(k % (32/bits)), ...) -- the low bits hold the smallest k."""
    per = 32 // bits
    K, N = q.shape
    assert K % per == 0, f"K={K} is not a multiple of {per}"
    u = q.to(torch.int64).reshape(K // per, per, N)
    word = torch.zeros(K // per, N, dtype=torch.int64)
    for j in range(per):
        word |= u[:, j, :] << (bits * j)
    return torch.from_numpy(word.numpy().astype(np.uint32).view(np.int32))


def pack_cols(z, bits):
    """z (G, N) -> int32 (G, N*bits/32): column n at word n // (32/bits), low bits first."""
    per = 32 // bits
    G, N = z.shape
    assert N % per == 0, f"N={N} is not a multiple of {per}"
    u = z.to(torch.int64).reshape(G, N // per, per)
    word = torch.zeros(G, N // per, dtype=torch.int64)
    for j in range(per):
        word |= (u[:, :, j] & (2 ** bits - 1)) << (bits * j)
    return torch.from_numpy(word.numpy().astype(np.uint32).view(np.int32))


# ---------------------------------------------------------------------------------------------
# Dequantization: reads only the stored tensors (qweight, qzeros, scales, g_idx)
# ---------------------------------------------------------------------------------------------
def dequantize(qweight, qzeros, scales, g_idx, bits):
    """-> W (N, K) f32 = scales[g_idx[k], n] * (q[k, n] - (stored_zero[g, n] + 1))."""
    per = 32 // bits
    maxq = 2 ** bits - 1
    qw = torch.from_numpy(qweight.numpy().view(np.uint32).astype(np.int64))  # (K/per, N)
    qz = torch.from_numpy(qzeros.numpy().view(np.uint32).astype(np.int64))  # (G, N/per)
    shifts = torch.arange(per, dtype=torch.int64) * bits
    q = ((qw[:, None, :] >> shifts[None, :, None]) & maxq).reshape(-1, qw.shape[1])  # (K, N)
    z = (((qz[:, :, None] >> shifts[None, None, :]) & maxq) + 1).reshape(qz.shape[0], -1)  # (G, N)
    g = g_idx.long()
    W = scales.float()[g, :] * (q - z[g, :]).float()  # (K, N), exact in f32
    return W.t().contiguous()


def quantize_linear(name, W, v):
    """One Linear -> its GPTQ tensors {prefix.qweight, .qzeros, .scales, .g_idx} and its dequantized weight."""
    N, K = W.shape
    prefix = name[: -len(".weight")]
    if v["desc_act"]:
        g = torch.Generator()
        g.manual_seed((SEED * 1000003 + zlib.crc32(name.encode())) % (2 ** 63))
        perm = torch.randperm(K, generator=g)
    else:
        perm = torch.arange(K)
    q, scales, zeros, g_idx = rtn(W.float(), v["bits"], v["group_size"], v["sym"], perm)
    t = {
        prefix + ".qweight": pack_rows(q, v["bits"]).contiguous(),
        prefix + ".qzeros": pack_cols(zeros - 1, v["bits"]).contiguous(),
        prefix + ".scales": scales.contiguous(),
        prefix + ".g_idx": g_idx.contiguous(),
    }
    deq = dequantize(t[prefix + ".qweight"], t[prefix + ".qzeros"], t[prefix + ".scales"], g_idx, v["bits"])
    # The packing round-trips: what the reader sees is exactly scale * (q - zero).
    want = (scales.float()[g_idx.long(), :] * (q - zeros[g_idx.long(), :]).float()).t()
    assert torch.equal(deq, want), f"{name}: pack/unpack round trip failed"
    return t, deq


def quantize_config(v):
    """AutoGPTQ's BaseQuantizeConfig.to_dict() fields, as its save_quantized writes quantize_config.json."""
    return dict(bits=v["bits"], group_size=v["group_size"], damp_percent=0.01, desc_act=v["desc_act"],
                static_groups=False, sym=v["sym"], true_sequential=True, model_name_or_path=None,
                model_file_base_name="model", quant_method="gptq", checkpoint_format="gptq")


def make(variant):
    v = VARIANTS[variant]
    src = os.path.join(TINY, v["flavour"])
    out = os.path.join(OUT, variant)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    sd = read_all(src)
    gptq, deq = {}, {}
    for name in sorted(sd):
        if is_quantized(name):
            t, d = quantize_linear(name, sd[name], v)
            gptq.update(t)
            deq[name] = d
    floats = {k: t for k, t in sd.items() if not is_quantized(k)}
    for f in ("generation_config.json", "preprocessor_config.json", "tokenizer_config.json", "tokenizer.source.json"):
        shutil.copy(os.path.join(src, f), out)
    cfg = json.load(open(os.path.join(src, "config.json")))
    qc = quantize_config(v)
    cfg["quantization_config"] = dict(qc)
    dump_json(os.path.join(out, "config.json"), cfg)
    dump_json(os.path.join(out, "quantize_config.json"), qc)
    shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    total = sum(t.numel() * t.element_size() for t in list(gptq.values()) + list(floats.values()))
    wm = {k: shards[0] for k in gptq}
    wm.update({k: shards[1] for k in floats})
    dump_json(os.path.join(out, "model.safetensors.index.json"),
              {"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))})
    save_file(gptq, os.path.join(out, shards[0]), metadata={"format": "pt"})
    save_file(deq, os.path.join(out, "dequantized.safetensors"),
              metadata={"format": "pt", "script": "reference/make_gptq.py", "variant": variant,
                        "format_version": str(FORMAT_VERSION)})
    for f in os.listdir(out):
        os.chmod(os.path.join(out, f), 0o644)
    print(f"[make_gptq] {variant}: {len(deq)} Linears quantized ({v}), "
          f"{os.path.getsize(os.path.join(out, shards[0]))} B of GPTQ tensors -> {out}", file=sys.stderr)
    return floats, deq


def materialize(variant, dest):
    """The complete checkpoint directory of a variant: the committed files + shard 2 (float tensors of tiny)."""
    v = VARIANTS[variant]
    src = os.path.join(OUT, variant)
    for f in os.listdir(src):
        if f != "dequantized.safetensors":
            shutil.copy(os.path.join(src, f), dest)
    sd = read_all(os.path.join(TINY, v["flavour"]))
    floats = {k: t for k, t in sd.items() if not is_quantized(k)}
    save_file(floats, os.path.join(dest, "model-00002-of-00002.safetensors"), metadata={"format": "pt"})


def dump_json(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")


def lm_head_weight(floats, bits):
    """--quant-lm-head's lm_head: the tied embed_tokens RTN-quantized, packed and read back, in f32."""
    W = floats["llm.model.embed_tokens.weight"]
    N, K = W.shape
    q, scales, zeros, g_idx = rtn(W.float(), bits, min(LM_HEAD_GROUP, K), True, torch.arange(K))
    head = dequantize(pack_rows(q, bits), pack_cols(zeros - 1, bits), scales, g_idx, bits)
    assert head.shape == (N, K) and not torch.equal(head, W.float())
    return head


def dumps(variant, floats, deq, lm_head_bits=None):
    """dump.py on the float tensors + dequantized Linear weights (F32 tensors), f32 compute; with
    lm_head_bits, lm_head untied and replaced by lm_head_weight (text_only only)."""
    v = VARIANTS[variant]
    name = variant if lm_head_bits is None else f"{variant}+lm_head-int{lm_head_bits}"
    tmp = tempfile.mkdtemp(prefix="ovis-gptq-deq-")
    try:
        src = os.path.join(TINY, v["flavour"])
        for f in ("config.json", "generation_config.json", "preprocessor_config.json", "tokenizer_config.json",
                  "tokenizer.source.json"):
            shutil.copy(os.path.join(src, f), tmp)
        sd = dict(floats)
        sd.update(deq)
        cases = CASES
        if lm_head_bits is not None:
            sd["llm.lm_head.weight"] = lm_head_weight(floats, lm_head_bits)
            cfg = json.load(open(os.path.join(src, "config.json")))
            cfg["llm_config"]["tie_word_embeddings"] = False
            dump_json(os.path.join(tmp, "config.json"), cfg)
            cases = {"text_only": CASES["text_only"]}
        save_file(sd, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        parts = dump.OvisParts(tmp, "f32")
        if lm_head_bits is not None:
            assert torch.equal(parts.llm.lm_head.weight, sd["llm.lm_head.weight"])
            assert not torch.equal(parts.llm.lm_head.weight, parts.llm.model.embed_tokens.weight)
        parts.ckpt = os.path.join("tiny-gptq", variant) + " (dequantized to f32: make_gptq.py)"
        if lm_head_bits is not None:
            parts.ckpt += f" + lm_head RTN int{lm_head_bits} g{LM_HEAD_GROUP} sym (--quant-lm-head)"
        os.makedirs(os.path.join(DUMPS, name), exist_ok=True)
        for case, (images, prompt, mp, keep_logits) in cases.items():
            tensors, side = dump.run(parts, images, prompt, max_partition=mp, max_new_tokens=20, vision="none",
                                     pixels_same_as=None, case=case, keep_logits=keep_logits)
            side["gptq"] = dict(variant=variant, **v, script="reference/make_gptq.py",
                                weights="float tensors of tiny/" + v["flavour"] + " + every quantized Linear "
                                        "dequantized to f32 (dequantized.safetensors)")
            if lm_head_bits is not None:
                side["gptq"]["lm_head"] = dict(bits=lm_head_bits, group_size=LM_HEAD_GROUP, sym=True,
                                               source="llm.model.embed_tokens.weight (tied), RTN, dequantized")
            prefix = os.path.join(DUMPS, name, f"{case}__f32")
            dump.write(prefix, tensors, side)
            dump.log(f"{variant}/{case}: T={side['num_tokens']} ids={side['generated_ids'][:8]}... "
                     f"margin={side['stats']['generation_top2_margin_min']:.4f} "
                     f"nocache={side['nocache_ids_equal']} hf={side['hf_generate_ids_equal']}")
            if not side["nocache_ids_equal"] or side["hf_generate_ids_equal"] is False:
                sys.exit(f"{prefix}: cached / uncached / HF generate greedy ids disagree")
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=list(VARIANTS), default=None)
    ap.add_argument("--no-dumps", action="store_true")
    ap.add_argument("--materialize", metavar="DIR", help="write the complete checkpoint of --only into DIR and exit")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.materialize:
        os.makedirs(args.materialize, exist_ok=True)
        materialize(args.only, args.materialize)
        return
    for variant in VARIANTS:
        if args.only and variant != args.only:
            continue
        floats, deq = make(variant)
        if not args.no_dumps:
            dumps(variant, floats, deq)
            if variant in LM_HEAD:
                dumps(variant, floats, deq, LM_HEAD[variant])


if __name__ == "__main__":
    main()
