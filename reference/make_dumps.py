"""All committed reference dumps: reference/fixtures/dumps/<flavour>/<case>__<mode>.{safetensors,json}.

Each (flavour, mode) model is built once and reused for its cases. The case table below is the contract
the TypeScript tests code against; `vision` says which per-crop vision stages a case keeps (fixture size
budget, see reference/README.md):
  full    every stage of docs/design.md#stage-names
  pixels  pixel_values kept, vit.* / vt.* omitted (listed in the sidecar's `omitted`)
  none    pixel_values, vit.*, vt.* omitted; vte.embeds and everything after it kept
pixel_values live only in the llama f32 dumps (others: `same_as`); the [1, vocab] logits row only in the
LOGITS_CASES.

Usage: python make_dumps.py [--only-flavour llama|gemma2] [--only-case NAME] [--mode f32|bf16]
"""
import argparse
import os
import sys
import time

import torch

import dump

HERE = os.path.dirname(os.path.abspath(__file__))
IMG = os.path.join(HERE, "fixtures", "images")
OUT = os.path.join(HERE, "fixtures", "dumps")
TINY = os.path.join(HERE, "fixtures", "tiny")
MAX_NEW_TOKENS = 20


def img(name):
    return os.path.join(IMG, name)


# name: (images, prompt, max_partition, vision)
CASES = {
    "text_only": ([], "What is the capital of France? Answer in one word, then explain in one sentence.", 9, "none"),
    "square": ([img("square.png")], "Describe the image in detail.", 9, "full"),
    "wide": ([img("wide.png")], "What is shown in this panorama?", 9, "none"),
    "tall": ([img("tall.png")], "What is in the picture?", 9, "none"),
    "tiny": ([img("tiny.png")], "What animal is this?", 9, "none"),
    "gray": ([img("gray.png")], "Is this photo in color?", 9, "none"),
    "rgba": ([img("rgba.png")], "Describe the image.", 9, "none"),
    "palette": ([img("palette.png")], "What is on the table?", 9, "none"),
    # JPEG: pixels kept, libjpeg-turbo's decode is not reproducible bit-exactly by other decoders.
    "jpeg": ([img("photo.jpg")], "Describe the photo.", 9, "pixels"),
    # explicit markers: each <image> marks one image, in order
    "two_images": ([img("square.png"), img("tiny.png")],
                   "Compare the first image <image> with the second one <image>. What differs?", 9, "none"),
    "mp1": ([img("large.png")], "Describe the image.", 1, "none"),
    "mp4": ([img("large.png")], "Describe the image.", 4, "none"),
    "mp9": ([img("large.png")], "Describe the image.", 9, "none"),
}
BF16_CASES = ["text_only", "square", "two_images", "mp9"]
LOGITS_CASES = ["text_only", "square", "two_images", "mp9"]  # the others omit the [1, vocab] logits row (budget)


def pixels_same_as(flavour, mode, case, vision):
    """pixel_values are stored once per image set, in the llama f32 dump; other dumps point to it (the tiny
    checkpoints share the preprocessor config, and the pixels do not depend on the compute dtype)."""
    if vision == "none" or (flavour == "llama" and mode == "f32"):
        return None
    return f"dumps/llama/{case}__f32.safetensors"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only-flavour", default=None)
    ap.add_argument("--only-case", default=None)
    ap.add_argument("--mode", default=None, choices=["f32", "bf16"])
    args = ap.parse_args()
    torch.set_num_threads(1)  # fixed: matmul blocking (and so rounding) may depend on the thread count
    for flavour in ("llama", "gemma2"):
        if args.only_flavour and flavour != args.only_flavour:
            continue
        for mode in ("f32", "bf16"):
            if args.mode and mode != args.mode:
                continue
            cases = list(CASES) if mode == "f32" else BF16_CASES
            if args.only_case:
                cases = [c for c in cases if c == args.only_case]
            if not cases:
                continue
            parts = dump.OvisParts(os.path.join(TINY, flavour), mode)
            for case in cases:
                images, prompt, mp, vision = CASES[case]
                t0 = time.time()
                tensors, side = dump.run(parts, images, prompt, max_partition=mp, max_new_tokens=MAX_NEW_TOKENS,
                                         vision=vision, pixels_same_as=pixels_same_as(flavour, mode, case, vision),
                                         case=case, keep_logits=case in LOGITS_CASES)
                prefix = os.path.join(OUT, flavour, f"{case}__{mode}")
                dump.write(prefix, tensors, side)
                dump.log(f"{flavour}/{case}__{mode}: T={side['num_tokens']} grids={side['grids']} "
                         f"nocache={side['nocache_ids_equal']} hf_generate={side['hf_generate_ids_equal']} "
                         f"eos@{side['eos']['first_eos_index']} margin={side['stats']['generation_top2_margin_min']:.4f} "
                         f"{os.path.getsize(prefix + '.safetensors') / 1e6:.2f} MB {time.time() - t0:.1f}s")
                if not side["nocache_ids_equal"] or side["hf_generate_ids_equal"] is False:
                    sys.exit(f"{prefix}: cached / uncached / HF generate greedy ids disagree")


if __name__ == "__main__":
    main()
