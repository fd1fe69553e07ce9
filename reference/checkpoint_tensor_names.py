"""Tensor names and shapes of an Ovis1.6 checkpoint, as the PyTorch modules allocate them.

Builds, on the meta device (no memory), the modules Ovis1.6 (AIDC-AI/Ovis @831b595) assembles:
  llm               = AutoModelForCausalLM.from_config(llm_config)   -> prefix "llm."
  visual_tokenizer  .backbone = SiglipVisionModel(backbone_config)   -> "visual_tokenizer.backbone."
                    .head = Sequential(Linear(s*s*D, V-5, bias=False), LayerNorm(V-5))
  vte               = Embedding(V, hidden_size)
and lists state_dict() names/shapes in order, dropping lm_head.weight when it is tied (as
save_pretrained does). Used by test/io to hold src/config/expected-tensors.ts to the HF layout.

usage: python checkpoint_tensor_names.py CONFIGS.json OUT.json
  CONFIGS.json: {"preset-name": <config.json object>, ...}
"""
import json
import sys

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, SiglipVisionConfig, SiglipVisionModel


def names(cfg):
    llm_cfg = dict(cfg["llm_config"])
    llm_cfg = AutoConfig.for_model(llm_cfg.pop("model_type"), **llm_cfg)
    vt = cfg["visual_tokenizer_config"]
    bb = dict(vt["backbone_config"])
    bb.pop("model_type")
    bb_cfg = SiglipVisionConfig(**bb)
    out = []
    with torch.device("meta"):
        llm = AutoModelForCausalLM.from_config(llm_cfg)
        for k, v in llm.state_dict().items():
            if k == "lm_head.weight" and llm_cfg.tie_word_embeddings:
                continue
            out.append(["llm." + k, list(v.shape)])
        backbone = SiglipVisionModel(bb_cfg)
        for k, v in backbone.state_dict().items():
            out.append(["visual_tokenizer.backbone." + k, list(v.shape)])
        s, V, D = vt["hidden_stride"], vt["vocab_size"], bb_cfg.hidden_size
        head = torch.nn.Sequential(torch.nn.Linear(D * s * s, V - 5, bias=False), torch.nn.LayerNorm(V - 5))
        for k, v in head.state_dict().items():
            out.append(["visual_tokenizer.head." + k, list(v.shape)])
        vte = torch.nn.Embedding(V, cfg["hidden_size"])
        out.append(["vte.weight", list(vte.weight.shape)])
    return out


def main():
    configs = json.load(open(sys.argv[1]))
    result = {
        "_provenance": {
            "script": "reference/checkpoint_tensor_names.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "format_version": 1,
        }
    }
    for name, cfg in configs.items():
        result[name] = names(cfg)
    with open(sys.argv[2], "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
