"""HF config defaults, as transformers fills them, for partial llm/backbone configs.

For each case, builds the transformers config class from the partial dict (AutoConfig.for_model,
as Ovis does) and records the effective value of every key ovis-ts parses — `head_dim` the way
the modeling code reads it: getattr(config, "head_dim", hidden_size // num_attention_heads).
Held against src/config/ovis-config.ts by test/config.

usage: python config_defaults.py OUT.json
"""
import json
import sys

import transformers
from transformers import AutoConfig

CASES = {
    "llama-minimal": {"model_type": "llama"},
    "llama-derived": {"model_type": "llama", "hidden_size": 3072, "num_attention_heads": 24},
    "llama-legacy-rope-type": {"model_type": "llama", "max_position_embeddings": 131072, "rope_scaling": {
        "type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192}},
    "gemma2-minimal": {"model_type": "gemma2"},
    "gemma2-5-layers": {"model_type": "gemma2", "num_hidden_layers": 5},
    "qwen2-minimal": {"model_type": "qwen2"},
    "qwen2-sliding": {"model_type": "qwen2", "use_sliding_window": True, "num_hidden_layers": 4, "max_window_layers": 2},
    "siglip-minimal": {"model_type": "siglip_vision_model"},
}

KEYS = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling",
        "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id", "attention_bias", "mlp_bias",
        "hidden_act", "hidden_activation", "query_pre_attn_scalar", "attn_logit_softcapping",
        "final_logit_softcapping", "sliding_window", "layer_types", "use_sliding_window", "max_window_layers",
        "num_channels", "image_size", "patch_size", "layer_norm_eps"]


def main():
    out = {"_provenance": {"script": "reference/config_defaults.py", "transformers": transformers.__version__,
                           "format_version": 1}}
    for name, partial in CASES.items():
        d = dict(partial)
        cfg = AutoConfig.for_model(d.pop("model_type"), **d)
        rec = {"input": partial}
        for k in KEYS:
            if hasattr(cfg, k):
                rec[k] = getattr(cfg, k)
        if hasattr(cfg, "num_attention_heads") and name.split("-")[0] != "siglip":
            rec["head_dim"] = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        out[name] = rec
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
