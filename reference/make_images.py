"""Derive the fixture images in reference/fixtures/images/ from real photographs.

Source: the sample images bundled in the scikit-image 0.26.0 wheel (skimage/data/), read
straight out of the wheel file (a zip) from the local pip mirror; licences in IMAGES.md.
Every step is a fixed Pillow operation (crop, LANCZOS downscale, quantize, fixed alpha ramp),
so the output bytes are identical on every run with the same Pillow/zlib/libjpeg build.

Usage: python make_images.py [--wheel PATH] [--out DIR]
"""
import argparse
import glob
import hashlib
import io
import json
import os
import sys
import zipfile

import numpy as np
from PIL import Image, PngImagePlugin

HERE = os.path.dirname(os.path.abspath(__file__))
WHEEL_GLOBS = [
    "/opt/pypi/files/scikit_image-0.26.0-*.whl",
    "/opt/pypi-more/files/scikit_image-0.26.0-*.whl",
    "/opt/wheels/scikit_image-0.26.0-*.whl",
    "/tmp/skimg/scikit_image-0.26.0-*.whl",
]


def find_wheel():
    for g in WHEEL_GLOBS:
        hits = sorted(glob.glob(g))
        if hits:
            return hits[0]
    sys.exit("scikit-image 0.26.0 wheel not found. Hint: pip download --no-deps -d /tmp/skimg "
             "scikit-image==0.26.0 (local mirror), or pass --wheel PATH")


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def strip(img):
    """Drop every ancillary chunk carried over from the source (ICC profile, gamma, text)."""
    if img.mode == "P":
        clean = Image.frombytes("P", img.size, img.tobytes())
        clean.putpalette(img.getpalette())
        return clean
    return Image.frombytes(img.mode, img.size, img.tobytes())


def save_png(img, path):
    # No metadata chunks (no dates, no text) and a fixed zlib level: byte-stable output.
    img.save(path, format="PNG", optimize=False, compress_level=9, pnginfo=PngImagePlugin.PngInfo())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", default=None)
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "images"))
    args = ap.parse_args()
    wheel = args.wheel or find_wheel()
    os.makedirs(args.out, exist_ok=True)
    zf = zipfile.ZipFile(wheel)

    sources = {}

    def src(name):
        data = zf.read("skimage/data/" + name)
        sources[name] = sha256_bytes(data)
        im = Image.open(io.BytesIO(data))
        im.load()
        return im

    astronaut = src("astronaut.png").convert("RGB")  # 512x512 RGB
    coffee = src("coffee.png").convert("RGB")  # 600x400 RGB
    chelsea = src("chelsea.png").convert("RGB")  # 451x300 RGB
    rocket = src("rocket.jpg").convert("RGB")  # 640x427 RGB
    camera = src("camera.png").convert("L")  # 512x512 L
    retina = src("retina.jpg").convert("RGB")  # 1411x1411 RGB

    out = {}
    L = Image.Resampling.LANCZOS

    # square: 300x300 RGB -> one crop at any max_partition.
    out["square.png"] = (astronaut.resize((300, 300), L), "astronaut.png resized 512x512 -> 300x300 (LANCZOS)")
    # wide: 600x150 panorama strip -> grid (1,2) at max_partition 4/9 (3 crops).
    out["wide.png"] = (coffee.crop((0, 140, 600, 290)), "coffee.png crop box (0,140,600,290)")
    # tall: 160x560 -> grid (2,1) (3 crops). Column around the rocket, upscaled 1.31x.
    out["tall.png"] = (rocket.crop((290, 0, 412, 427)).resize((160, 560), L),
                       "rocket.jpg crop box (290,0,412,427) resized -> 160x560 (LANCZOS)")
    # tiny: 50x37 (< 64 px both sides) -> upscaled to 384 by the processor.
    out["tiny.png"] = (chelsea.crop((23, 0, 428, 300)).resize((50, 37), L),
                       "chelsea.png crop box (23,0,428,300) resized -> 50x37 (LANCZOS)")
    # gray: mode L, 280x210.
    out["gray.png"] = (camera.resize((280, 280), L).crop((0, 35, 280, 245)),
                       "camera.png (L) resized -> 280x280 (LANCZOS), crop box (0,35,280,245)")
    # rgba: 240x160 RGBA, alpha is a fixed diagonal ramp 0..255 plus a fully transparent corner,
    # so "alpha dropped, not composited" is visible in the pixels.
    base = chelsea.resize((240, 160), L)
    yy, xx = np.mgrid[0:160, 0:240]
    alpha = ((xx + yy) * 255 // (239 + 159)).astype(np.uint8)
    alpha[:40, :60] = 0
    rgba = Image.fromarray(np.dstack([np.asarray(base), alpha]))  # RGBA from a uint8 HxWx4 array
    out["rgba.png"] = (rgba, "chelsea.png resized -> 240x160 (LANCZOS), alpha = diagonal ramp (x+y)*255//398, "
                              "top-left 60x40 alpha 0")
    # palette: mode P, 64 colours (median cut, no dither), palette index 0 marked transparent (tRNS).
    pal = coffee.resize((210, 140), L).quantize(colors=64, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    pal.info["transparency"] = 0
    out["palette.png"] = (pal, "coffee.png resized -> 210x140 (LANCZOS), quantize(64, MEDIANCUT, no dither), "
                               "tRNS: index 0 transparent")
    # large: 901x860 -> grid (3,3) at max_partition 9 (10 crops, the maximum; the last column is
    # 301 px and the last row 288 px wide: partition remainders), (2,2) at 4 (5 crops), (1,1) at 1.
    # The fundus photo's black surround keeps the PNG small.
    out["large.png"] = (retina.resize((901, 860), L), "retina.jpg resized 1411x1411 -> 901x860 (LANCZOS)")

    for name, (img, how) in out.items():
        img = strip(img)
        out[name] = (img, how)
        path = os.path.join(args.out, name)
        if name == "palette.png":
            img.save(path, format="PNG", optimize=False, compress_level=9, transparency=0)
        else:
            save_png(img, path)

    # photo: baseline JPEG (not progressive), quality 85, 4:2:0 chroma subsampling, odd width.
    jpg = strip(chelsea.resize((357, 238), L))
    jpath = os.path.join(args.out, "photo.jpg")
    jpg.save(jpath, format="JPEG", quality=85, subsampling="4:2:0", progressive=False, optimize=False)
    out["photo.jpg"] = (jpg, "chelsea.png resized -> 357x238 (LANCZOS), JPEG baseline q85 4:2:0")

    manifest = {"wheel": os.path.basename(wheel), "wheel_sha256": sha256_bytes(open(wheel, "rb").read()),
                "sources": sources, "pillow": Image.__version__ if hasattr(Image, "__version__") else None,
                "images": {}}
    import PIL
    manifest["pillow"] = PIL.__version__
    for name, (_, how) in sorted(out.items()):
        path = os.path.join(args.out, name)
        im = Image.open(path)
        manifest["images"][name] = {"size": list(im.size), "mode": im.mode, "format": im.format,
                                    "bytes": os.path.getsize(path),
                                    "sha256": sha256_bytes(open(path, "rb").read()), "how": how}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    for name, m in sorted(manifest["images"].items()):
        print(f"{name:12s} {m['mode']:5s} {m['size'][0]}x{m['size'][1]} {m['bytes']:8d} B {m['sha256'][:16]}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
