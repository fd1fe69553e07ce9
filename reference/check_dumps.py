"""Cheap self-check of the committed fixtures: reload every dump and tiny checkpoint and verify that shapes,
ids and cross-stage identities are consistent. Independent of dump.py's code paths (re-derives placeholders,
crop counts and the merge from the sidecar alone).

Usage: python check_dumps.py   (exit status 1 on any failure; prints one line per dump, then `overall`)
"""
import glob
import hashlib
import json
import os
import re
import sys

import torch
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
ATOM, IND = -300, [-301, -302, -303, -304, -305]
BUDGET_MB = 80


def placeholders(grid):
    ids = [IND[0], ATOM, IND[1]]
    if grid[0] * grid[1] > 1:
        for r in range(grid[0]):
            for c in range(grid[1]):
                ids.append(ATOM)
                if c < grid[1] - 1:
                    ids.append(IND[2])
            if r < grid[0] - 1:
                ids.append(IND[3])
    ids.append(IND[4])
    return ids


def load(path):
    out = {}
    with safe_open(path, framework="pt") as fh:
        meta = fh.metadata()
        for k in fh.keys():
            out[k] = fh.get_tensor(k)
    return out, meta


def check_dump(js):
    errs = []

    def ok(cond, msg):
        if not cond:
            errs.append(msg)

    side = json.load(open(js))
    st_path = js[:-5] + ".safetensors"
    t, meta = load(st_path)
    ok(side["format_version"] == 1 and meta.get("format_version") == "1", "format_version")
    ok(meta.get("flavour") == side["flavour"] and meta.get("mode") == side["mode"], "metadata flavour/mode")
    flavour_dir, base = os.path.basename(os.path.dirname(js)), os.path.basename(js)[:-5]
    ok(flavour_dir == side["flavour"] and base == f"{side['case']}__{side['mode']}", "file name vs sidecar")
    # stage list == tensors
    listed = {s["name"]: s for s in side["stages"]}
    ok(set(listed) == set(t), f"stages listed {sorted(set(listed) ^ set(t))} differ from tensors")
    for name, s in listed.items():
        if name in t:
            ok(list(t[name].shape) == s["shape"], f"{name} shape {list(t[name].shape)} vs sidecar {s['shape']}")
            want = torch.int64 if name in ("input_ids", "generated_ids", "grids", "logits.positions") else torch.float32
            ok(t[name].dtype == want, f"{name} dtype {t[name].dtype}")
    for o in side["omitted"]:
        for n in o["names"]:
            ok(n not in t, f"{n} omitted but present")
        if "same_as" in o:
            ref, _ = load(os.path.join(FIX, o["same_as"]))
            ok(all(n in ref for n in o["names"]), f"same_as {o['same_as']} lacks {o['names']}")
    # provenance
    ok(os.path.isdir(os.path.join(FIX, side["checkpoint"])), "checkpoint dir")
    for im in side["images"]:
        p = os.path.join(FIX, im["path"])
        ok(os.path.exists(p) and hashlib.sha256(open(p, "rb").read()).hexdigest() == im["sha256"], f"sha256 {p}")
    ok(side["nocache_ids_equal"] is True, "nocache ids differ")
    ok(side["hf_generate_ids_equal"] in (True, None), "HF generate ids differ")
    # ids
    ids = t["input_ids"].tolist()
    ok(ids == side["input_ids"], "input_ids tensor vs sidecar")
    ok(t["generated_ids"].tolist() == side["generated_ids"], "generated_ids tensor vs sidecar")
    ok(len(side["generated_ids"]) == side["max_new_tokens"] >= 16, "generated length")
    grids = t["grids"].tolist()
    ok(grids == side["grids"] and len(grids) == len(side["images"]), "grids")
    # placeholder structure re-derived from the grids: each image's run of negative ids
    runs, cur = [], []
    for v in ids + [0]:
        if v < 0:
            cur.append(v)
        elif cur:
            runs.append(cur)
            cur = []
    ok(runs == [placeholders(g) for g in grids], "placeholder runs do not match grids")
    ok(all(v >= 0 or v in [ATOM] + IND for v in ids), "unexpected negative id (IMAGE_TOKEN left?)")
    n_crops = sum(1 if r * c == 1 else r * c + 1 for r, c in grids)
    ok(ids.count(ATOM) == n_crops, "ATOM count vs crops")
    T = len(ids) - n_crops + 196 * n_crops
    ok(side["num_tokens"] == T, f"num_tokens {side['num_tokens']} vs {T}")
    emb = t["inputs_embeds"]
    ok(emb.shape[0] == T, "inputs_embeds rows")
    H = emb.shape[1]
    for name in t:
        if name.startswith("llm.layers.") or name == "llm.norm":
            ok(list(t[name].shape) == [T, H], f"{name} shape")
    # submodule taps: a pre-LN layer's output is (x + self_attn) + mlp, bit for bit in f32 (SigLIP both
    # flavours, Llama; Gemma2 norms both outputs first)
    if side["mode"] == "f32":
        for tower, first, pre_ln in (("vit", "vit.embeddings", True), ("llm", "inputs_embeds", side["flavour"] == "llama")):
            i = 0
            while pre_ln and f"{tower}.layers.{i}" in t and f"{tower}.layers.{i}.self_attn" in t:
                x = t[first] if i == 0 else t[f"{tower}.layers.{i - 1}"]
                y = (x + t[f"{tower}.layers.{i}.self_attn"]) + t[f"{tower}.layers.{i}.mlp"]
                ok(torch.equal(y, t[f"{tower}.layers.{i}"]), f"{tower}.layers.{i} != (x + self_attn) + mlp")
                i += 1
    # merge identities: indicator rows and visual rows sit where the ids say
    ok(list(t["vte.indicators"].shape) == [5, H], "vte.indicators shape")
    if n_crops:
        ve = t["vte.embeds"]
        ok(list(ve.shape) == [n_crops, 196, H], "vte.embeds shape")
        pos, crop = 0, 0
        for v in ids:
            if v == ATOM:
                ok(torch.equal(emb[pos:pos + 196], ve[crop]), f"inputs_embeds at crop {crop} != vte.embeds")
                pos += 196
                crop += 1
            else:
                if v in IND:
                    ok(torch.equal(emb[pos], t["vte.indicators"][IND.index(v)]), f"indicator row at {pos}")
                pos += 1
    if "pixel_values" in t:
        ok(list(t["pixel_values"].shape) == [n_crops, 3, 384, 384], "pixel_values shape")
        pv = t["pixel_values"]
        ok(float(pv.min()) >= -1.0 and float(pv.max()) <= 1.0, "pixel range")
    if "vt.tokens" in t:
        tok = t["vt.tokens"]
        V = tok.shape[2]
        ok(torch.all(tok[..., V - 5:] == 0).item(), "indicator columns not zero")
        ok(torch.allclose(tok[..., :V - 5].double().sum(-1), torch.ones(tok.shape[:2], dtype=torch.float64),
                          atol=2e-2 if side["mode"] == "bf16" else 1e-5), "softmax rows do not sum to 1")
        D4 = t["vt.features"].shape[2]
        D = t["vit.layers.0"].shape[2]
        ok(D4 == 4 * D, "vt.features width")
        # the zero padding of the 27x27 grid: block (r=13, c) has its 2nd row zero, block (r, 13) its 2nd col
        f = t["vt.features"].reshape(n_crops, 14, 14, 2, 2, D)
        ok(torch.all(f[:, 13, :, 1] == 0).item() and torch.all(f[:, :, 13, :, 1] == 0).item(), "padding not zero")
        ok(torch.equal(f[:, :13, :13].permute(0, 1, 3, 2, 4, 5).reshape(n_crops, 26, 26, D),
                       t["vit.layers.%d" % (sum(1 for k in t if re.fullmatch(r"vit\.layers\.\d+", k)) - 1)]
                       .reshape(n_crops, 27, 27, D)[:, :26, :26]), "merge != last vit layer")
    # logits
    if "logits" in t:
        lg, lp = t["logits"], t["logits.positions"].tolist()
        ok(lg.shape[0] == len(lp) and lp[-1] == T - 1, "logits positions")
        ok(int(torch.argmax(lg[-1])) == side["generated_ids"][0], "argmax(logits[T-1]) != first generated id")
    else:
        ok(any("logits" in o["names"] for o in side["omitted"]), "logits missing and not listed as omitted")
    # bf16 dumps: every activation must be a bf16 value (stored upcast, exactly)
    if side["mode"] == "bf16":
        for name, v in t.items():
            if v.dtype == torch.float32 and name != "pixel_values":
                ok(torch.equal(v.to(torch.bfloat16).float(), v), f"{name} not bf16-exact")
    return side, errs, os.path.getsize(st_path)


def check_tiny(d):
    errs = []
    cfg = json.load(open(os.path.join(d, "config.json")))
    idx = json.load(open(os.path.join(d, "model.safetensors.index.json")))
    names = {}
    for f in sorted(set(idx["weight_map"].values())):
        with safe_open(os.path.join(d, f), framework="pt") as fh:
            for k in fh.keys():
                if k in names:
                    errs.append(f"{k} twice")
                names[k] = f
                if fh.get_slice(k).get_dtype() != "BF16":
                    errs.append(f"{k} not BF16")
    if names != idx["weight_map"]:
        errs.append("index weight_map != shard contents")
    if len(set(idx["weight_map"].values())) != 2:
        errs.append("expected 2 shards")
    if any(k.startswith("llm.lm_head") for k in names):
        errs.append("lm_head present although tied")
    for must in ("visual_tokenizer.backbone.vision_model.post_layernorm.weight",
                 "visual_tokenizer.backbone.vision_model.head.probe", "visual_tokenizer.head.0.weight",
                 "visual_tokenizer.head.1.bias", "vte.weight", "llm.model.layers.0.self_attn.q_proj.weight",
                 "visual_tokenizer.backbone.vision_model.encoder.layers.0.mlp.fc1.weight"):
        if must not in names:
            errs.append(f"missing {must}")
    if cfg["model_type"] != "ovis" or cfg["visual_tokenizer_config"]["backbone_config"]["model_type"] != \
            "siglip_vision_model":
        errs.append("config nesting")
    return errs


def main():
    failures = 0
    for d in sorted(glob.glob(os.path.join(FIX, "tiny", "*"))):
        errs = check_tiny(d)
        print(f"{'OK    ' if not errs else 'NOT OK'} tiny/{os.path.basename(d)} {'; '.join(errs)}")
        failures += bool(errs)
    total = 0
    files = sorted(glob.glob(os.path.join(FIX, "dumps", "*", "*.json")))
    for js in files:
        side, errs, size = check_dump(js)
        total += size
        print(f"{'OK    ' if not errs else 'NOT OK'} {os.path.relpath(js, FIX)[:-5]:34s} T={side['num_tokens']:5d} "
              f"crops={sum(1 if r * c == 1 else r * c + 1 for r, c in side['grids']):2d} {size / 1e6:6.2f} MB"
              + ("" if not errs else "  " + "; ".join(errs[:5])))
        failures += bool(errs)
    du = 0
    for root, _, fs in os.walk(FIX):
        du += sum(os.path.getsize(os.path.join(root, f)) for f in fs)
    print(f"dumps: {len(files)} files, {total / 1e6:.1f} MB; reference/fixtures total {du / 1e6:.1f} MB "
          f"(budget {BUDGET_MB} MB)")
    if du > BUDGET_MB * 1e6:
        print("NOT OK budget exceeded")
        failures += 1
    print(f"overall: {'okay' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
