"""Ground-truth dump of one Ovis1.6 inference, computed with the REAL Hugging Face classes.

  transformers (4.57.6)  SiglipImageProcessor   resize (Pillow BICUBIC) / rescale / normalise of each crop
                         SiglipVisionModel      the vision tower, eager attention, output_hidden_states
                         LlamaForCausalLM / Gemma2ForCausalLM   the LLM, eager attention, fed inputs_embeds
                         AutoTokenizer          the Rust `tokenizers` fast tokenizer
  this file              the Ovis1.6 glue, written after AIDC-AI/Ovis commit 831b595 (ovis/model/*):
                         preprocess_image + grid choice, image placeholders, hidden_stride merge with padding,
                         visual head, softmax tokens + 5 zero columns, VTE matmul, merge_multimodal, the
                         Llama3 / Gemma conversation formatters.

Output: OUT.safetensors (activations F32, ids I64; stage names of docs/design.md#stage-names) and OUT.json
(sidecar: provenance, ids, statistics). Stage capture uses forward hooks on the HF modules, so the values
are exactly what the HF modules return.

Modes: f32  = the stored (bf16) weights upcast to f32, f32 compute.
       bf16 = bf16 weights, bf16 compute: how OvisRunner runs Ovis (model built under default dtype bf16, as
              from_pretrained(torch_dtype=bfloat16) does, so fp32 buffers such as RoPE inv_freq stay fp32).

CLI (one case):  python dump.py --checkpoint DIR --image IMG [--image IMG2] --prompt TEXT
                 [--max-partition 9] [--max-new-tokens 20] [--mode f32|bf16] --out PREFIX
Works unchanged on a real release directory (e.g. Ovis1.6-Llama3.2-3B): see reference/README.md.
"""
import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import re
import shutil
import sys
import tempfile

import numpy as np
import PIL
import safetensors
import tokenizers
import torch
import transformers
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, SiglipImageProcessor, SiglipVisionModel

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FIXTURES = os.path.join(HERE, "fixtures")
FORMAT_VERSION = 1
SEED = 0

# Ovis constants (ovis/util/constants.py)
IMAGE_TOKEN = "<image>"
IMAGE_TOKEN_ID = -200
IMAGE_ATOM_ID = -300
IMAGE_INDICATOR_IDS = [-301, -302, -303, -304, -305]


def log(*a):
    print("[dump]", *a, file=sys.stderr, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rel_to_fixtures(path):
    p = os.path.relpath(os.path.abspath(path), FIXTURES)
    return p if not p.startswith("..") else os.path.abspath(path)


# ---------------------------------------------------------------------------------------------
# Checkpoint loading (config nesting as OvisConfig / BaseVisualTokenizerConfig)
# ---------------------------------------------------------------------------------------------
def sub_config(d):
    """AutoConfig.for_model(model_type, **rest) -- what Ovis's config classes do with nested dicts."""
    d = dict(d)
    model_type = d.pop("model_type")
    return AutoConfig.for_model(model_type, **d)


@contextlib.contextmanager
def default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def read_weights(ckpt):
    index_path = os.path.join(ckpt, "model.safetensors.index.json")
    if os.path.exists(index_path):
        weight_map = json.load(open(index_path))["weight_map"]
        files = sorted(set(weight_map.values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for f in files:
        with safe_open(os.path.join(ckpt, f), framework="pt") as fh:
            for k in fh.keys():
                out[k] = fh.get_tensor(k)
    return out


def load_tokenizer(ckpt):
    if os.path.exists(os.path.join(ckpt, "tokenizer.json")):
        return AutoTokenizer.from_pretrained(ckpt), os.path.join(ckpt, "tokenizer.json")
    src = json.load(open(os.path.join(ckpt, "tokenizer.source.json")))
    tok_json = os.path.join(REPO, "node_modules", src["npm"], src["file"])
    if not os.path.exists(tok_json):
        sys.exit(f"{tok_json} not found (from {ckpt}/tokenizer.source.json). Hint: run `npm ci` at the repo root.")
    tmp = tempfile.mkdtemp(prefix="ovis-tok-")
    os.symlink(tok_json, os.path.join(tmp, "tokenizer.json"))
    shutil.copy(os.path.join(ckpt, "tokenizer_config.json"), tmp)
    tok = AutoTokenizer.from_pretrained(tmp)
    return tok, tok_json


class OvisParts:
    """The pieces of an Ovis1.6 model, built from the HF classes and loaded strictly."""

    def __init__(self, ckpt, mode):
        self.ckpt = ckpt
        self.mode = mode
        self.dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[mode]
        cfg = json.load(open(os.path.join(ckpt, "config.json")))
        assert cfg["model_type"] == "ovis", cfg["model_type"]
        self.cfg = cfg
        self.llm_config = sub_config(cfg["llm_config"])
        vt = dict(cfg["visual_tokenizer_config"])
        self.vt_cfg = vt
        assert vt["model_type"] == "siglip_visual_tokenizer", vt["model_type"]
        assert vt.get("tokenize_function", "softmax") == "softmax", "only softmax tokenize is dumped"
        self.backbone_config = sub_config(vt["backbone_config"])
        if vt.get("depths"):  # SiglipVisualTokenizerConfig: depths[0] overrides num_hidden_layers
            self.backbone_config.num_hidden_layers = vt["depths"][0]
        self.hidden_stride = vt.get("hidden_stride", 1)
        self.visual_vocab = vt["vocab_size"]
        self.flavour = self.llm_config.model_type
        self.formatter_class = cfg["conversation_formatter_class"]
        gen = json.load(open(os.path.join(ckpt, "generation_config.json")))
        eos = gen.get("eos_token_id")
        self.eos_ids = eos if isinstance(eos, list) else ([eos] if eos is not None else [])
        self.processor = SiglipImageProcessor.from_pretrained(ckpt)
        self.tokenizer, self.tokenizer_path = load_tokenizer(ckpt)

        log(f"building {self.flavour} in {mode} from {ckpt}")
        sd = read_weights(ckpt)
        from transformers.modeling_utils import no_init_weights
        # Built under the compute dtype as from_pretrained(torch_dtype=...) does: parameters take the dtype,
        # buffers computed explicitly in fp32 (rotary inv_freq) stay fp32.
        with default_dtype(self.dtype), no_init_weights():
            # torch_dtype explicitly: _from_config would otherwise take config.torch_dtype (bfloat16)
            self.llm = AutoModelForCausalLM.from_config(self.llm_config, attn_implementation="eager",
                                                        dtype=self.dtype)
            self.vit = SiglipVisionModel._from_config(self.backbone_config, attn_implementation="eager",
                                                      dtype=self.dtype)
            d4 = self.backbone_config.hidden_size * self.hidden_stride ** 2
            self.head = torch.nn.Sequential(torch.nn.Linear(d4, self.visual_vocab - 5, bias=False),
                                            torch.nn.LayerNorm(self.visual_vocab - 5))
            self.vte = torch.nn.Embedding(self.visual_vocab, self.llm_config.hidden_size)

        def take(prefix):
            return {k[len(prefix):]: v.to(self.dtype) for k, v in sd.items() if k.startswith(prefix)}

        used = set()
        for prefix, module in (("llm.", self.llm), ("visual_tokenizer.backbone.", self.vit),
                               ("visual_tokenizer.head.", self.head), ("vte.", self.vte)):
            part = take(prefix)
            used |= {prefix + k for k in part}
            missing, unexpected = module.load_state_dict(part, strict=False)
            if prefix == "llm." and self.llm_config.tie_word_embeddings:
                missing = [m for m in missing if m != "lm_head.weight"]
            if missing or unexpected:
                sys.exit(f"{ckpt}: {prefix}* missing {missing} unexpected {unexpected}")
        if self.llm_config.tie_word_embeddings:
            self.llm.tie_weights()
            assert self.llm.lm_head.weight.data_ptr() == self.llm.model.embed_tokens.weight.data_ptr()
        extra = sorted(set(sd) - used)
        if extra:
            sys.exit(f"{ckpt}: tensors not used by Ovis: {extra[:10]}")
        for m in (self.llm, self.vit, self.head, self.vte):
            m.eval()
            for n_, p_ in m.named_parameters():
                assert p_.dtype == self.dtype, f"{n_} is {p_.dtype}, expected {self.dtype}"
        self.buffer_dtypes = {n: str(b.dtype) for n, b in self.llm.named_buffers()}

    # -----------------------------------------------------------------------------------------
    # Image -> crops (BaseVisualTokenizer.preprocess_image)
    # -----------------------------------------------------------------------------------------
    def preprocess_image(self, image, max_partition=9, covering_threshold=0.9):
        side = self.processor.size["height"]
        assert side == self.processor.size["width"]

        def partition(img, grid):
            w, h = img.size
            row_height, col_width = h // grid[0], w // grid[1]
            boxes = []
            for row in range(grid[0]):
                for col in range(grid[1]):
                    left, upper = col * col_width, row * row_height
                    right = w if col == grid[1] - 1 else (col + 1) * col_width
                    lower = h if row == grid[0] - 1 else (row + 1) * row_height
                    boxes.append((left, upper, right, lower))
            return boxes

        def covering_area(left, upper, right, lower):
            w, h = right - left, lower - upper
            w, h = max(w, h), min(w, h)
            if w > side:
                h = h / w * side
                w = side
            return w * h

        def best_grid(img):
            area = img.size[0] * img.size[1]
            cands = [(i, j) for i in range(1, max_partition + 1) for j in range(1, max_partition + 1)
                     if i * j <= max_partition]
            all_grids, good = [], []
            for g in cands:
                ratio = sum(covering_area(*b) for b in partition(img, g)) / area
                all_grids.append((g, ratio))
                if ratio > covering_threshold:
                    good.append((g, ratio))
            if good:  # fewest cells, then larger ratio (sorted() is stable)
                return sorted(good, key=lambda x: (x[0][0] * x[0][1], -x[1]))[0][0]
            return sorted(all_grids, key=lambda x: (-x[1], x[0][0] * x[0][1]))[0][0]

        def one(img):
            w, h = img.size
            if w == h:
                nw = nh = side
            elif w > h:
                nw, nh = side, int(h / w * side)
            else:
                nh, nw = side, int(w / h * side)
            pv = self.processor.preprocess(img, size=dict(height=nh, width=nw), return_tensors="pt")["pixel_values"]
            square = torch.zeros([1, 3, side, side], dtype=pv.dtype)
            nh, nw = pv.shape[2:]
            if nh == nw:
                square[:, :, :, :] = pv
            elif nh > nw:
                o = (side - nw) // 2
                square[:, :, :, o:o + nw] = pv
            else:
                o = (side - nh) // 2
                square[:, :, o:o + nh, :] = pv
            return square

        if image.mode != "RGB":
            image = image.convert("RGB")
        grid = best_grid(image)
        crops = [image.crop(b) for b in partition(image, grid)]
        if len(crops) > 1:
            crops.insert(0, image)  # global view first
        pixel_values = torch.cat([one(c) for c in crops], dim=0)  # [n, 3, 384, 384] f32
        return pixel_values, self.placeholders(grid), grid

    @staticmethod
    def placeholders(grid):
        ids = [IMAGE_INDICATOR_IDS[0], IMAGE_ATOM_ID, IMAGE_INDICATOR_IDS[1]]
        if grid[0] * grid[1] > 1:
            for r in range(grid[0]):
                for c in range(grid[1]):
                    ids.append(IMAGE_ATOM_ID)
                    if c < grid[1] - 1:
                        ids.append(IMAGE_INDICATOR_IDS[2])
                if r < grid[0] - 1:
                    ids.append(IMAGE_INDICATOR_IDS[3])
        ids.append(IMAGE_INDICATOR_IDS[4])
        return ids

    # -----------------------------------------------------------------------------------------
    # Conversation formatters (ovis/model/conversation_formatter.py), one human turn + open reply
    # -----------------------------------------------------------------------------------------
    def tokenize_with_image_symbol(self, text):
        chunks = [self.tokenizer(c, add_special_tokens=False).input_ids for c in text.split(IMAGE_TOKEN)]
        ids = []
        for i, c in enumerate(chunks):
            ids.extend(c)
            if i < len(chunks) - 1:
                ids.append(IMAGE_TOKEN_ID)
        return ids

    def format_query(self, query):
        if self.formatter_class == "Llama3ConversationFormatter":
            roles = {"system": "<|start_header_id|>system<|end_header_id|>\n\n",
                     "human": "<|start_header_id|>user<|end_header_id|>\n\n",
                     "gpt": "<|start_header_id|>assistant<|end_header_id|>\n\n"}
            end, bos = "<|eot_id|>", "<|begin_of_text|>"
            convs = [("system", "You are a helpful and honest multimodal assistant."), ("human", query), ("gpt", "")]
        elif self.formatter_class == "GemmaConversationFormatter":
            roles = {"human": "<start_of_turn>user\n", "gpt": "<start_of_turn>model\n"}
            end, bos = "<end_of_turn>\n", "<bos>"
            convs = [("human", query), ("gpt", "")]
        else:
            sys.exit(f"unsupported conversation_formatter_class {self.formatter_class}")
        prompt = bos
        ids = list(self.tokenizer(bos, add_special_tokens=False).input_ids)
        for i, (frm, msg) in enumerate(convs):
            text = roles[frm] + msg.strip()
            if i < len(convs) - 1:  # generation_preface '' leaves the reply open
                text += end
            prompt += text
            ids.extend(self.tokenize_with_image_symbol(text))
        assert self.tokenize_with_image_symbol(prompt) == ids, "chunked tokenization differs from whole prompt"
        return prompt, ids


# ---------------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.values = {}
        self.handles = []

    def hook(self, module, name):
        def fn(_m, _inp, out):
            t = out[0] if isinstance(out, (tuple, list)) else out
            self.values[name] = t.detach().clone()
        self.handles.append(module.register_forward_hook(fn))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def entropy_stats(p):  # p [..., K] probabilities
    p64 = p.double()
    ent = -(p64 * torch.log(p64.clamp_min(1e-300))).sum(-1)
    return dict(mean=float(ent.mean()), min=float(ent.min()), max=float(ent.max()),
                uniform=math.log(p.shape[-1]), max_prob_mean=float(p64.max(-1).values.mean()))


def top2_margin(row):
    v = torch.topk(row.double(), 2).values
    return float(v[0] - v[1])


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------
def build_query(prompt, n_images):
    if IMAGE_TOKEN in prompt:
        n = prompt.count(IMAGE_TOKEN)
        if n != n_images:
            sys.exit(f"prompt has {n} {IMAGE_TOKEN} markers but {n_images} images were given")
        return prompt
    return (IMAGE_TOKEN + "\n") * n_images + prompt  # OvisRunner.preprocess


def run(parts, image_paths, user_prompt, max_partition=9, max_new_tokens=20, vision="full",
        pixels_same_as=None, case=None, check_hf_generate=True, keep_logits=True):
    torch.manual_seed(SEED)
    P = parts
    dt = P.dtype
    stages, omitted = {}, []
    query = build_query(user_prompt, len(image_paths))
    prompt, raw_ids = P.format_query(query)

    # placeholders (Ovis.preprocess_inputs)
    input_ids, pixel_values, grids = [], [], []
    img_pos = [i for i, v in enumerate(raw_ids) if v == IMAGE_TOKEN_ID]
    last = -1
    for i, pos in enumerate(img_pos):
        head = 0 if i == 0 else img_pos[i - 1] + 1
        input_ids.extend(raw_ids[head:pos])
        img = Image.open(image_paths[i])
        pv, ph, grid = P.preprocess_image(img, max_partition=max_partition)
        input_ids.extend(ph)
        pixel_values.append(pv)
        grids.append(list(grid))
        last = pos
    input_ids.extend(raw_ids[last + 1:])
    ids_t = torch.tensor(input_ids, dtype=torch.long)  # [T]

    V = P.visual_vocab
    with torch.no_grad():
        indicators = P.vte(torch.arange(V - 5, V, dtype=torch.long))  # [5, H]
        stages["vte.indicators"] = indicators
        visual_embeds = None
        if pixel_values:
            pv = torch.cat(pixel_values, 0)  # [n, 3, 384, 384] f32 (processor output)
            stages["pixel_values"] = pv
            rec = Recorder()
            vm = P.vit.vision_model
            rec.hook(vm.embeddings, "vit.embeddings")
            for i, layer in enumerate(vm.encoder.layers):
                rec.hook(layer, f"vit.layers.{i}")
                rec.hook(layer.self_attn, f"vit.layers.{i}.self_attn")  # out_proj output (tuple[0])
                rec.hook(layer.mlp, f"vit.layers.{i}.mlp")  # fc2 output
            out = P.vit(pv.to(dt), output_hidden_states=True, return_dict=True)
            rec.remove()
            stages.update(rec.values)
            features = out.hidden_states[-1]  # [n, 729, D]: last layer, BEFORE post_layernorm
            nl = len(vm.encoder.layers)
            assert torch.equal(features, rec.values[f"vit.layers.{nl - 1}"])
            assert torch.equal(out.hidden_states[0], rec.values["vit.embeddings"])
            # hidden_stride merge (BaseVisualTokenizer.encode): pad 27 -> 28, 2x2 blocks in (row, col) order
            s = P.hidden_stride
            n, l, d = features.shape
            side = int(l ** 0.5)
            assert side * side == l
            x = features.reshape(n, side, side, d)
            pl = (s - side % s) % s
            x = torch.nn.functional.pad(x, (0, 0, 0, pl, 0, pl), "constant", 0)
            side += pl
            x = x.reshape(n, side // s, s, side // s, s, d).permute(0, 1, 3, 2, 4, 5).flatten(3)
            x = x.reshape(n, -1, s * s * d)  # [n, 196, 4D]
            stages["vt.features"] = x
            head_linear = P.head[0](x)  # [n, 196, V-5]
            logits_v = P.head[1](head_linear)  # [n, 196, V-5]
            tokens = torch.softmax(logits_v, dim=-1)
            tokens = torch.cat([tokens, torch.zeros(n, tokens.shape[1], 5, dtype=tokens.dtype)], dim=2)  # [n,196,V]
            stages["vt.head_linear"], stages["vt.logits"], stages["vt.tokens"] = head_linear, logits_v, tokens
            visual_embeds = torch.matmul(tokens, P.vte.weight).to(dt)  # [n, 196, H]
            stages["vte.embeds"] = visual_embeds

        # merge_multimodal
        text_embed = P.llm.get_input_embeddings()(torch.masked_fill(ids_t, ids_t < 0, 0))  # [T0, H]
        for i, ind in enumerate(IMAGE_INDICATOR_IDS):
            text_embed[ids_t == ind] = indicators[i]
        atoms = torch.where(ids_t == IMAGE_ATOM_ID)[0].tolist()
        parts_ = []
        prev = -1
        for k, a in enumerate(atoms):
            parts_.append(text_embed[prev + 1:a])
            parts_.append(visual_embeds[k])
            prev = a
        parts_.append(text_embed[prev + 1:])
        inputs_embeds = torch.cat(parts_, 0)  # [T, H]
        T = inputs_embeds.shape[0]
        stages["inputs_embeds"] = inputs_embeds

        # LLM prompt forward, no cache: per-layer stages by hooks (NOT output_hidden_states, whose last entry
        # is post-norm)
        rec = Recorder()
        for i, layer in enumerate(P.llm.model.layers):
            rec.hook(layer, f"llm.layers.{i}")
            rec.hook(layer.self_attn, f"llm.layers.{i}.self_attn")  # o_proj output (tuple[0]), before residual/post-norm
            rec.hook(layer.mlp, f"llm.layers.{i}.mlp")  # down_proj output
        rec.hook(P.llm.model.norm, "llm.norm")
        # logits_to_keep=1: the LM head only on the last position (as HF generate does); a full [T, vocab]
        # matrix would be T x 0.5-1 MB for nothing.
        out = P.llm(inputs_embeds=inputs_embeds[None], use_cache=False, return_dict=True, logits_to_keep=1)
        rec.remove()
        for k, v in rec.values.items():
            stages[k] = v[0]
        logits_last = out.logits[0, -1]  # [vocab]
        positions = [T - 1]
        stages["logits"] = logits_last[None]  # [1, vocab]
        stages["logits.positions"] = torch.tensor(positions, dtype=torch.long)

        # greedy with KV cache (eos ignored: fixed length)
        embed = P.llm.get_input_embeddings()
        out = P.llm(inputs_embeds=inputs_embeds[None], use_cache=True, return_dict=True, logits_to_keep=1)
        assert torch.equal(out.logits[0, -1], logits_last), "prefill with cache differs from no-cache forward"
        cache = out.past_key_values
        gen, margins = [], []
        row = out.logits[0, -1]
        for step in range(max_new_tokens):
            nxt = int(torch.argmax(row))
            gen.append(nxt)
            margins.append(top2_margin(row))
            if step == max_new_tokens - 1:
                break
            out = P.llm(input_ids=torch.tensor([[nxt]]), past_key_values=cache, use_cache=True, return_dict=True,
                        logits_to_keep=1)
            cache = out.past_key_values
            row = out.logits[0, -1]
        cache_type = type(cache).__name__
        # greedy without cache: full recompute of prompt + generated prefix each step
        nocache = []
        for step in range(max_new_tokens):
            emb = inputs_embeds if not nocache else torch.cat(
                [inputs_embeds, embed(torch.tensor(nocache, dtype=torch.long))], 0)
            o = P.llm(inputs_embeds=emb[None], use_cache=False, return_dict=True, logits_to_keep=1)
            nocache.append(int(torch.argmax(o.logits[0, -1])))
        nocache_equal = nocache == gen
        if not nocache_equal:
            log(f"WARNING: cache {gen} != nocache {nocache}")
        hf_equal = None
        hf_ids = None
        if check_hf_generate:
            # transformers' own generate (for Gemma2 its default `hybrid` cache, as Ovis uses), eos disabled
            gc = transformers.GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=None,
                                               pad_token_id=0, bos_token_id=None)
            P.llm.generation_config.eos_token_id = None
            res = P.llm.generate(inputs_embeds=inputs_embeds[None], attention_mask=torch.ones(1, T, dtype=torch.long),
                                 generation_config=gc)
            hf_ids = res[0].tolist()[-max_new_tokens:]
            hf_equal = hf_ids == gen
            if not hf_equal:
                log(f"WARNING: HF generate {hf_ids} != loop {gen}")

    first_eos = next((i for i, t in enumerate(gen) if t in P.eos_ids), None)

    # -------- omissions (fixture budget) --------
    vision_internal = [k for k in stages if k.startswith("vit.") or k.startswith("vt.")]
    if vision in ("pixels", "none"):
        for k in vision_internal:
            del stages[k]
        if vision_internal:
            omitted.append(dict(names=sorted(vision_internal, key=stage_order),
                                reason="fixture size budget: per-crop vision internals are kept for the `square` "
                                       "case only; vte.embeds (which depends on all of them) is kept here"))
    if "pixel_values" in stages and (vision == "none" or pixels_same_as):
        pv_ = stages.pop("pixel_values")
        o = dict(names=["pixel_values"])
        if pixels_same_as:
            with safe_open(os.path.join(FIXTURES, pixels_same_as), framework="pt") as fh:
                assert torch.equal(fh.get_tensor("pixel_values"), pv_.float()), f"pixel_values != {pixels_same_as}"
            o["reason"] = ("identical (verified when dumping) to the pixel_values of the referenced dump: same "
                           "images, same preprocessing")
            o["same_as"] = pixels_same_as
        else:
            o["reason"] = ("fixture size budget: PNG decode + preprocessing is bit-exact (Pillow), reproduce it "
                           "from the image file(s)")
        omitted.append(o)

    if not keep_logits:
        del stages["logits"], stages["logits.positions"]
        omitted.append(dict(names=["logits", "logits.positions"],
                            reason="fixture size budget (a row is vocab x 4 bytes = 0.5 / 1 MB): logits rows are kept "
                                   "for text_only, square, two_images and mp9; here the row is lm_head(llm.norm[T-1]) "
                                   "(Gemma2: then the final softcap), and generated_ids[0] is its argmax"))

    tensors = {}
    for k, v in stages.items():
        tensors[k] = v.contiguous() if v.dtype == torch.long else v.float().contiguous()
    tensors["input_ids"] = ids_t
    tensors["generated_ids"] = torch.tensor(gen, dtype=torch.long)
    tensors["grids"] = torch.tensor(grids, dtype=torch.long).reshape(-1, 2)

    stats = {}
    if pixel_values:
        stats["visual_token_entropy"] = entropy_stats(tokens[..., :V - 5].float())
    lr = logits_last.double()
    stats["logits_last"] = dict(std=float(lr.std()), min=float(lr.min()), max=float(lr.max()),
                                top2_margin=top2_margin(lr))
    stats["generation_top2_margin_min"] = min(margins)
    stats["generation_top2_margins"] = margins
    # bf16 logits are coarse: exact ties happen; torch.argmax returns the lowest index among them
    stats["generation_argmax_ties"] = sum(1 for m in margins if m == 0.0)
    for k in ("inputs_embeds", "llm.norm"):
        stats[k + ".absmax"] = float(stages[k].float().abs().max())
    if P.flavour == "gemma2":
        stats["gemma2_normalizer"] = float(torch.tensor(P.llm_config.hidden_size ** 0.5, dtype=dt))

    sidecar = dict(
        format_version=FORMAT_VERSION,
        case=case,
        checkpoint=rel_to_fixtures(P.ckpt),
        flavour=P.flavour,
        mode=P.mode,
        weights_note="bf16 checkpoint upcast to f32, f32 compute" if P.mode == "f32" else "bf16 weights, bf16 compute",
        user_prompt=user_prompt,
        query=query,
        images=[dict(path=rel_to_fixtures(p), sha256=sha256_file(p)) for p in image_paths],
        max_partition=max_partition,
        max_new_tokens=max_new_tokens,
        prompt=prompt,
        input_ids=input_ids,
        num_tokens=T,
        grids=grids,
        generated_ids=gen,
        generated_text=P.tokenizer.decode(gen, skip_special_tokens=True),
        nocache_ids_equal=nocache_equal,
        hf_generate_ids_equal=hf_equal,
        kv_cache_class=cache_type,
        eos=dict(ids=P.eos_ids, source="generation_config.json", first_eos_index=first_eos,
                 note="eos ignored: fixed-length greedy continuation; first_eos_index is where HF would stop "
                      "(the eos token itself included)"),
        stages=[dict(name=k, shape=list(tensors[k].shape), dtype=str(tensors[k].dtype).replace("torch.", ""))
                for k in sorted(tensors, key=stage_order)],
        omitted=omitted,
        notes=dict(
            inputs_embeds=("as passed to the LLM (merge_multimodal output); for Gemma2 BEFORE the model's internal "
                           "* sqrt(hidden_size), computed as a tensor of the model dtype"),
            pixel_values="processor output (f32); in bf16 mode cast to bf16 at the vision tower input",
            vit_layers="vit.layers.{i} = output of encoder layer i (forward hook); the last one is what Ovis uses, "
                       "before post_layernorm",
            llm_layers="llm.layers.{i} = decoder layer i output (forward hook); llm.norm = final norm output",
            submodules=("vit.layers.{i}.self_attn / .mlp, llm.layers.{i}.self_attn / .mlp = the submodule's output "
                        "(forward hook; attention: tuple[0], after out_proj/o_proj), before the residual add "
                        "(Gemma2: before post_attention_layernorm / post_feedforward_layernorm)"),
            logits=("rows of the LM-head output (after Gemma2 final softcapping) at logits.positions, from the "
                    "no-cache prompt forward"),
            dtype="activations stored as F32 (bf16 values upcast exactly in bf16 mode); ids as I64",
        ),
        stats=stats,
        versions=dict(python=platform.python_version(), torch=torch.__version__,
                      transformers=transformers.__version__, tokenizers=tokenizers.__version__,
                      pillow=PIL.__version__, safetensors=safetensors.__version__, numpy=np.__version__),
        tokenizer=rel_to_fixtures(P.tokenizer_path) if P.tokenizer_path.startswith(FIXTURES) else
        os.path.relpath(P.tokenizer_path, REPO),
        script="reference/dump.py",
        seed=SEED,
        torch_threads=torch.get_num_threads(),
    )
    return tensors, sidecar


def stage_order(name):
    order = ["pixel_values", "vit.embeddings", "vit.layers.", "vt.features", "vt.head_linear", "vt.logits",
             "vt.tokens", "vte.embeds", "vte.indicators", "inputs_embeds", "llm.layers.", "llm.norm", "logits",
             "logits.positions", "input_ids", "generated_ids", "grids"]
    for i, p in enumerate(order):
        if name == p or (p.endswith(".") and name.startswith(p)):
            if not p.endswith("."):
                return (i, 0)
            layer, _, module = name[len(p):].partition(".")  # within a layer: self_attn, mlp, output
            return (i, 3 * int(layer) + {"self_attn": 0, "mlp": 1, "": 2}[module])
    return (len(order), 0)


def canonicalize_header(path):
    """safetensors (Rust) writes `__metadata__` in HashMap order, which changes from run to run. Rewrite the
    header with sorted metadata keys (tensor entries keep their order; offsets are relative to the data
    section, so only the header length changes; padded with spaces to a multiple of 8 as the writer does)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as fh:
        fh.write(len(hb).to_bytes(8, "little") + hb + raw[8 + n:])


def write(prefix, tensors, sidecar):
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    meta = {"format_version": str(FORMAT_VERSION), "flavour": sidecar["flavour"], "mode": sidecar["mode"],
            "case": str(sidecar["case"]), "sidecar": os.path.basename(prefix) + ".json"}
    save_file(tensors, prefix + ".safetensors", metadata=meta)
    canonicalize_header(prefix + ".safetensors")
    os.chmod(prefix + ".safetensors", 0o644)
    txt = json.dumps(sidecar, indent=1)
    # one line per list of numbers (ids, shapes, margins) keeps the sidecar readable
    txt = re.sub(r"\[\s+([-0-9.e+,\s]+?)\s+\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
                 txt)
    with open(prefix + ".json", "w") as fh:
        fh.write(txt + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--image", action="append", default=[])
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--max-partition", type=int, default=9)
    ap.add_argument("--max-new-tokens", type=int, default=20)
    ap.add_argument("--mode", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--vision", choices=["full", "pixels", "none"], default="full",
                    help="which per-crop vision stages to keep (full = all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-hf-generate", action="store_true")
    ap.add_argument("--out", required=True, help="output prefix: writes PREFIX.safetensors and PREFIX.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    parts = OvisParts(args.checkpoint, args.mode)
    tensors, side = run(parts, args.image, args.prompt, args.max_partition, args.max_new_tokens, args.vision,
                        case=os.path.basename(args.out), check_hf_generate=not args.no_hf_generate)
    write(args.out, tensors, side)
    log(f"wrote {args.out}.safetensors: T={side['num_tokens']} grids={side['grids']} gen={side['generated_ids']} "
        f"nocache_equal={side['nocache_ids_equal']} hf_generate_equal={side['hf_generate_ids_equal']}")


if __name__ == "__main__":
    main()
