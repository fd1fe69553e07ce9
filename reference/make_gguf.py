"""An Ovis checkpoint's LLM as a GGUF file, for llama.cpp speed comparisons (not parity).

    reference/.venv/bin/pip install gguf   # from the wheel mirror; not in requirements.txt
    reference/.venv/bin/python reference/make_gguf.py --model DIR --type q4_0|q8_0|f16 --out FILE.gguf

Writes the `llm.*` tensors of a Llama-family Ovis1.6 checkpoint (e.g. the synthetic 3B from
`ovis synth --preset ovis1.6-llama3.2-3b`) with llama.cpp's tensor names and Llama metadata,
every 2-D weight in the chosen type (token_embd included, as llama.cpp's own Q4_0/Q8_0 files
do; with tied embeddings there is no output.weight), norms in F32, plus the tokenizer.json's
BPE vocabulary. Q/K are not permuted to llama.cpp's rotary layout and llama3 rope scaling is
not written: the logits are not those of the checkpoint, the shapes and the work per token
are — which is what bench/llamacpp.mjs times.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

try:
    import gguf
except ImportError as e:  # pragma: no cover
    raise SystemExit("make_gguf.py needs the gguf package: reference/.venv/bin/pip install gguf") from e

TYPES = {"q4_0": gguf.GGMLQuantizationType.Q4_0, "q8_0": gguf.GGMLQuantizationType.Q8_0, "f16": gguf.GGMLQuantizationType.F16}
LAYER = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}


def gguf_name(hf: str) -> str:
    n = hf.removeprefix("llm.")
    if n == "model.embed_tokens.weight":
        return "token_embd.weight"
    if n == "model.norm.weight":
        return "output_norm.weight"
    if n == "lm_head.weight":
        return "output.weight"
    parts = n.split(".")  # model.layers.{i}.{module}.{sub}.weight
    return f"blk.{parts[2]}.{LAYER['.'.join(parts[3:-1])]}.weight"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--type", choices=TYPES, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    d = Path(a.model)
    cfg = json.loads((d / "config.json").read_text())["llm_config"]
    assert cfg["model_type"] == "llama", "Llama-family checkpoints only"
    qtype = TYPES[a.type]
    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("ovis-ts synthetic LLM (speed comparison)")
    w.add_context_length(4096)
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_dimension_count(cfg["hidden_size"] // cfg["num_attention_heads"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type({"q4_0": 2, "q8_0": 7, "f16": 1}[a.type])

    tok = json.loads((d / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    added = {t["content"]: t["id"] for t in tok.get("added_tokens", [])}
    n = cfg["vocab_size"]
    tokens = [f"[PAD{i}]" for i in range(n)]
    types = [gguf.TokenType.UNUSED] * n
    for s, i in vocab.items():
        if i < n:
            tokens[i], types[i] = s, gguf.TokenType.NORMAL
    for s, i in added.items():
        if i < n:
            tokens[i], types[i] = s, gguf.TokenType.CONTROL
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(128000)
    w.add_eos_token_id(128009)

    index = json.loads((d / "model.safetensors.index.json").read_text())["weight_map"]
    names = sorted(k for k in index if k.startswith("llm."))
    for f in sorted({index[k] for k in names}):
        with safe_open(str(d / f), "pt") as st:
            for k in names:
                if index[k] != f:
                    continue
                t = st.get_tensor(k).to(torch.float32).numpy()
                if t.ndim == 1:
                    w.add_tensor(gguf_name(k), t)
                elif qtype == gguf.GGMLQuantizationType.F16:
                    w.add_tensor(gguf_name(k), t.astype(np.float16))
                else:
                    w.add_tensor(gguf_name(k), gguf.quants.quantize(t, qtype), raw_dtype=qtype)
                print(k, "->", gguf_name(k), t.shape, flush=True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print("wrote", a.out)


if __name__ == "__main__":
    main()
