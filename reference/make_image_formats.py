#!/usr/bin/env python3
"""Goldens for BMP / GIF / WebP decoding (src/image/decode-{bmp,gif,webp}.ts) from the REAL
Pillow: every file is opened with `Image.open(BytesIO(b)).convert('RGB')` and its bytes (or
the error Pillow raised) recorded.

Files come from Pillow's own encoders where it has one (BMP 1/L/P/RGB/RGBA, GIF incl. its
interlaced output, WebP lossy/lossless/alpha/animated), and from hand-written bytes (struct)
for what Pillow cannot write: OS/2 and V4/V5 headers, RLE8/RLE4 with delta / EOL / odd runs,
16-bit 565/555 bitfields, 32-bit alpha masks, short palettes and out-of-range indices, GIF
local palettes, frames offset inside (or past) the logical screen, transparency, grayscale
palettes, LZW code sizes 1..8 and 12, clear codes, a full 4096-entry table with deferred
clear, early end codes, truncation, garbage codes. Deterministic: fixed seeds, no dates.

Writes reference/fixtures/image-formats/:
  *.bmp *.gif *.webp   the inputs
  golden.json          format_version, provenance, one entry per file: mode Pillow opened,
                       size, sha256 of the RGB bytes and (when small) the bytes in base64,
                       a few sample pixels, or Pillow's error ("ExcType: message")

Usage: reference/.venv/bin/python reference/make_image_formats.py
"""
import base64
import hashlib
import io
import json
import os
import random
import re
import struct
import sys
from pathlib import Path

import PIL
from PIL import Image, features

FORMAT_VERSION = 1
OUT = Path(__file__).resolve().parent / "fixtures" / "image-formats"
RAW_LIMIT = 3 * 48 * 48  # store the RGB bytes themselves up to this size

cases = []  # (name, bytes, note)


def add(name, data, note=""):
    cases.append((name, bytes(data), note))


def pattern(w, h, seed, n=256):
    """Deterministic index / value pattern with both smooth and noisy parts."""
    r = random.Random(seed)
    return [((x * 7 + y * 13) % n) if (x + y) % 3 else r.randrange(n) for y in range(h) for x in range(w)]


def rgb_image(w, h, seed):
    r = random.Random(seed)
    im = Image.new("RGB", (w, h))
    im.putdata([((x * 255) // max(1, w - 1), (y * 255) // max(1, h - 1), r.randrange(256)) for y in range(h) for x in range(w)])
    return im


def rgba_image(w, h, seed):
    r = random.Random(seed)
    im = Image.new("RGBA", (w, h))
    im.putdata([((x * 37) % 256, (y * 59) % 256, r.randrange(256), (x * 255) // max(1, w - 1) if y % 2 else r.randrange(256))
                for y in range(h) for x in range(w)])
    return im


def pil_bytes(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, format=fmt, **kw)
    return b.getvalue()


# ---------------------------------------------------------------------------------------- BMP

def bmp(w, h, bits, pal=b"", pix=b"", comp=0, hs=40, colors=0, off=None, masks=None, extra=b"", top_down=False):
    """A BMP with an INFO-family header of `hs` bytes (masks inside it when hs >= 52)."""
    hh = -h if top_down else h
    hdr = struct.pack("<IiiHHIIiiII", hs, w, hh, 1, bits, comp, len(pix), 2835, 2835, colors, 0)
    if hs > 40:
        m = list(masks or [0, 0, 0, 0]) + [0] * 4
        tail = struct.pack("<IIII", *m[:4])[: hs - 40]
        hdr += tail + b"\0" * (hs - 40 - len(tail))
    body = hdr + extra + pal
    o = 14 + len(body) if off is None else off
    return b"BM" + struct.pack("<IHHI", 14 + len(body) + len(pix), 0, 0, o) + body + pix


def bmp_core(w, h, bits, pal, pix, off=None):
    """OS/2 v1 / BITMAPCOREHEADER: 12-byte header, u16 sizes, 3-byte palette entries."""
    hdr = struct.pack("<IHHHH", 12, w, h, 1, bits)
    body = hdr + pal
    o = 14 + len(body) if off is None else off
    return b"BM" + struct.pack("<IHHI", 14 + len(body) + len(pix), 0, 0, o) + body + pix


def rows(w, h, bits, vals):
    """Pack per-pixel values (indices or 16/24/32-bit words) into padded BMP rows, bottom row first."""
    stride = ((w * bits + 31) >> 3) & ~3
    out = b""
    for y in range(h):
        row = vals[y * w:(y + 1) * w]
        if bits in (1, 4):
            acc, n, rb = 0, 0, bytearray()
            for v in row:
                acc = (acc << bits) | (v & ((1 << bits) - 1)); n += bits
                if n == 8:
                    rb.append(acc); acc, n = 0, 0
            if n:
                rb.append(acc << (8 - n))
        elif bits == 8:
            rb = bytearray(v & 255 for v in row)
        else:
            rb = bytearray(b"".join(struct.pack("<I", v)[: bits // 8] for v in row))
        out += bytes(rb) + b"\0" * (stride - len(rb))
    return out


def palette(n, seed, entry=4):
    r = random.Random(seed)
    return b"".join(bytes([r.randrange(256), r.randrange(256), r.randrange(256)] + [0] * (entry - 3)) for _ in range(n))


def gray_palette(n, entry=4, two=False):
    vals = [0, 255] if two else list(range(n))
    return b"".join(bytes([v, v, v] + [0] * (entry - 3)) for v in vals)


def make_bmp():
    # Pillow's own BMP writer
    add("bmp/pil_rgb_24.bmp", pil_bytes(rgb_image(13, 7, 1), "BMP"))
    add("bmp/pil_p_8.bmp", pil_bytes(rgb_image(11, 9, 2).quantize(37), "BMP"))
    add("bmp/pil_l_8.bmp", pil_bytes(rgb_image(10, 6, 3).convert("L"), "BMP"))
    add("bmp/pil_1.bmp", pil_bytes(rgb_image(19, 5, 4).convert("1"), "BMP"))
    add("bmp/pil_rgba_32.bmp", pil_bytes(rgba_image(9, 8, 5), "BMP"))
    add("bmp/pil_large_rgb.bmp", pil_bytes(rgb_image(97, 61, 6), "BMP"))

    # palettes: 1/4/8 bit, full, short (colors < 2^bits), out-of-range indices
    w, h = 13, 5
    add("bmp/p1_color.bmp", bmp(w, h, 1, palette(2, 10), rows(w, h, 1, pattern(w, h, 1, 2))))
    add("bmp/p1_bw_mode1.bmp", bmp(w, h, 1, gray_palette(2, two=True), rows(w, h, 1, pattern(w, h, 2, 2))))
    add("bmp/p1_wb_inverted.bmp", bmp(w, h, 1, bytes([255, 255, 255, 0, 0, 0, 0, 0]), rows(w, h, 1, pattern(w, h, 3, 2))))
    add("bmp/p4_full.bmp", bmp(w, h, 4, palette(16, 11), rows(w, h, 4, pattern(w, h, 4, 16))))
    add("bmp/p4_short5_oob.bmp", bmp(w, h, 4, palette(5, 12), rows(w, h, 4, pattern(w, h, 5, 16)), colors=5))
    add("bmp/p8_full.bmp", bmp(w, h, 8, palette(256, 13), rows(w, h, 8, pattern(w, h, 6))))
    add("bmp/p8_short20_oob.bmp", bmp(w, h, 8, palette(20, 14), rows(w, h, 8, pattern(w, h, 7)), colors=20))
    add("bmp/p8_gray_L.bmp", bmp(w, h, 8, gray_palette(256), rows(w, h, 8, pattern(w, h, 8))))
    add("bmp/p8_gray_short_L.bmp", bmp(w, h, 8, gray_palette(100), rows(w, h, 8, pattern(w, h, 9)), colors=100))
    add("bmp/p8_two_bw_mode1_quirk.bmp", bmp(w, h, 8, gray_palette(2, two=True), rows(w, h, 8, pattern(w, h, 10)), colors=2))
    add("bmp/p4_gray_L_w1_quirk.bmp", bmp(1, 3, 4, gray_palette(16), rows(1, 3, 4, [3, 9, 15])))
    add("bmp/p4_gray_L_w13_error.bmp", bmp(w, h, 4, gray_palette(16), rows(w, h, 4, pattern(w, h, 11, 16))))
    add("bmp/p8_colors300_error.bmp", bmp(w, h, 8, palette(300, 15), rows(w, h, 8, pattern(w, h, 12)), colors=300))
    add("bmp/p8_offset_skips_palette.bmp", bmp(w, h, 8, palette(256, 16), rows(w, h, 8, pattern(w, h, 13)), off=14 + 40))
    add("bmp/p8_offset_zero.bmp", bmp(w, h, 8, palette(256, 17), rows(w, h, 8, pattern(w, h, 14)), off=0))
    add("bmp/p8_topdown.bmp", bmp(w, h, 8, palette(256, 18), rows(w, h, 8, pattern(w, h, 15)), top_down=True))
    add("bmp/p8_v5.bmp", bmp(w, h, 8, palette(256, 19), rows(w, h, 8, pattern(w, h, 16)), hs=124))
    add("bmp/p8_os2v2_64.bmp", bmp(w, h, 8, palette(256, 20), rows(w, h, 8, pattern(w, h, 17)), hs=64))
    # OS/2 v1 (BITMAPCOREHEADER)
    add("bmp/core_p1.bmp", bmp_core(w, h, 1, palette(2, 21, 3), rows(w, h, 1, pattern(w, h, 18, 2))))
    add("bmp/core_p4.bmp", bmp_core(w, h, 4, palette(16, 22, 3), rows(w, h, 4, pattern(w, h, 19, 16))))
    add("bmp/core_p8.bmp", bmp_core(w, h, 8, palette(256, 23, 3), rows(w, h, 8, pattern(w, h, 20))))
    add("bmp/core_p8_offset_quirk.bmp", bmp_core(w, h, 8, palette(256, 24, 3) + b"\0" * 256, rows(w, h, 8, pattern(w, h, 21)), off=14 + 12))
    add("bmp/core_rgb24.bmp", bmp_core(w, h, 24, b"", rows(w, h, 24, [v * 2654435761 & 0xFFFFFF for v in range(w * h)])))

    # 16 / 24 / 32 bit
    r = random.Random(30)
    v16 = [r.randrange(65536) for _ in range(w * h)]
    v32 = [r.randrange(1 << 32) for _ in range(w * h)]
    add("bmp/rgb16_555.bmp", bmp(w, h, 16, b"", rows(w, h, 16, v16)))
    add("bmp/rgb16_all_values.bmp", bmp(256, 256, 16, b"", rows(256, 256, 16, list(range(65536)))))
    add("bmp/rgb16_565_bitfields40.bmp", bmp(w, h, 16, b"", rows(w, h, 16, v16), comp=3, extra=struct.pack("<III", 0xF800, 0x7E0, 0x1F)))
    add("bmp/rgb16_555_bitfields_v4.bmp", bmp(w, h, 16, b"", rows(w, h, 16, v16), comp=3, hs=108, masks=[0x7C00, 0x3E0, 0x1F, 0]))
    add("bmp/rgb16_565_v5.bmp", bmp(w, h, 16, b"", rows(w, h, 16, v16), comp=3, hs=124, masks=[0xF800, 0x7E0, 0x1F, 0]))
    add("bmp/rgb16_444_error.bmp", bmp(w, h, 16, b"", rows(w, h, 16, v16), comp=3, hs=124, masks=[0xF00, 0xF0, 0xF, 0xF000]))
    add("bmp/rgb24_topdown.bmp", bmp(w, h, 24, b"", rows(w, h, 24, v32), top_down=True))
    add("bmp/rgb24_bitfields_v5.bmp", bmp(w, h, 24, b"", rows(w, h, 24, v32), comp=3, hs=124, masks=[0xFF0000, 0xFF00, 0xFF, 0]))
    add("bmp/rgb32_raw.bmp", bmp(w, h, 32, b"", rows(w, h, 32, v32)))
    add("bmp/rgb32_raw_v5_alpha_ignored.bmp", bmp(w, h, 32, b"", rows(w, h, 32, v32), hs=124, masks=[0xFF0000, 0xFF00, 0xFF, 0xFF000000]))
    for name, m in [("bgra", [0xFF0000, 0xFF00, 0xFF, 0xFF000000]), ("rgba", [0xFF, 0xFF00, 0xFF0000, 0xFF000000]),
                    ("abgr", [0xFF000000, 0xFF0000, 0xFF00, 0xFF]), ("xbgr", [0xFF000000, 0xFF0000, 0xFF00, 0]),
                    ("bgxr", [0xFF000000, 0xFF00, 0xFF, 0]), ("bgar", [0xFF000000, 0xFF00, 0xFF, 0xFF0000]),
                    ("zero", [0, 0, 0, 0]), ("odd_error", [0x3FF00000, 0xFFC00, 0x3FF, 0])]:
        add(f"bmp/rgb32_bitfields_{name}.bmp", bmp(w, h, 32, b"", rows(w, h, 32, v32), comp=3, hs=124, masks=m))
    add("bmp/rgb32_bitfields40_bgrx.bmp", bmp(w, h, 32, b"", rows(w, h, 32, v32), comp=3, extra=struct.pack("<III", 0xFF0000, 0xFF00, 0xFF)))
    add("bmp/rgb32_bitfields52_xbgr.bmp", bmp(w, h, 32, b"", rows(w, h, 32, v32), comp=3, hs=52, masks=[0xFF000000, 0xFF0000, 0xFF00, 0]))

    # RLE8 / RLE4 (hand-written streams: EOL, delta, EOB, absolute runs with padding, clipping)
    pal16, pal256 = palette(16, 40), palette(256, 41)
    rle8 = bytes([3, 5, 0, 3, 7, 8, 9, 0, 2, 1, 0, 0,          # run, absolute(3)+pad, run, EOL
                  0, 2, 9, 9, 1, 1, 4, 200, 0, 0,               # delta (Pillow: 4 bytes, uses the last 2), run, EOL
                  9, 17, 0, 0,                                   # run past the row end: clipped
                  0, 5, 1, 2, 3, 4, 5, 0, 3, 6, 0, 0,           # absolute 5 + pad, run
                  0, 12, *range(30, 42), 0, 0,                   # absolute run spilling into the next row
                  2, 250, 0, 1])                                  # run, end of bitmap
    add("bmp/rle8.bmp", bmp(8, 7, 8, pal256, rle8, comp=1))
    add("bmp/rle8_topdown.bmp", bmp(8, 7, 8, pal256, rle8, comp=1, top_down=True))
    add("bmp/rle8_gray_L.bmp", bmp(8, 7, 8, gray_palette(256), rle8, comp=1))
    add("bmp/rle8_short_palette.bmp", bmp(8, 7, 8, palette(10, 42), rle8, comp=1, colors=10))
    add("bmp/rle8_odd_offset.bmp", bmp(8, 7, 8, pal256 + b"\0", rle8, comp=1, off=14 + 40 + 1024 + 1))
    rle8_full = b"".join(bytes([8, (y * 31) & 255, 0, 0]) for y in range(6)) + bytes([0, 1])
    add("bmp/rle8_rows.bmp", bmp(8, 6, 8, pal256, rle8_full, comp=1))
    rle4 = bytes([5, 0x3A, 0, 0,                      # run of alternating 3,A; EOL
                  0, 3, 0x12, 0x30, 2, 0x45, 0, 0,    # absolute 3 (odd: Pillow keeps 2), run
                  0, 4, 0x67, 0x89, 3, 0xBC, 0, 0,    # absolute 4, run
                  0, 2, 1, 2, 3, 0xDE, 0, 0,          # delta (4 bytes), run
                  12, 0xF1, 0, 0,                     # clipped run
                  0, 6, 0x12, 0x34, 0x56, 0, 0, 1])   # absolute 6 + pad, EOB
    add("bmp/rle4.bmp", bmp(7, 6, 4, pal16, rle4, comp=2))
    add("bmp/rle4_topdown.bmp", bmp(7, 6, 4, pal16, rle4, comp=2, top_down=True))
    add("bmp/rle4_short_palette.bmp", bmp(7, 6, 4, palette(6, 43), rle4, comp=2, colors=6))
    add("bmp/rle8_early_eob_error.bmp", bmp(8, 7, 8, pal256, bytes([3, 5, 0, 0, 0, 1]), comp=1))
    add("bmp/rle8_truncated_error.bmp", bmp(8, 7, 8, pal256, rle8[:30], comp=1))
    add("bmp/rle8_delta_cut_error.bmp", bmp(8, 7, 8, pal256, bytes([3, 5, 0, 2, 1, 1]), comp=1))
    add("bmp/rle8_on_24bit_error.bmp", bmp(8, 7, 24, b"", rle8, comp=1))
    add("bmp/rle8_mode1_error.bmp", bmp(8, 7, 8, gray_palette(2, two=True), rle8, comp=1, colors=2))
    add("bmp/rle8_huge_delta.bmp", bmp(8, 7, 8, pal256, bytes([2, 3, 0, 2, 0, 0, 255, 255, 4, 4]), comp=1))

    # refusals
    add("bmp/header20_error.bmp", b"BM" + struct.pack("<IHHI", 60, 0, 0, 34) + struct.pack("<I", 20) + b"\0" * 16 + b"\0" * 26)
    add("bmp/bits2_error.bmp", bmp(w, h, 2, palette(4, 50), rows(w, h, 8, pattern(w, h, 30, 4))))
    add("bmp/jpeg_compression_error.bmp", bmp(w, h, 24, b"", b"\xff\xd8\xff" + b"\0" * 40, comp=4))
    add("bmp/truncated_pixels_error.bmp", bmp(w, h, 24, b"", rows(w, h, 24, v32))[:-40])
    add("bmp/truncated_last_row_padding.bmp", bmp(w, h, 8, pal256, rows(w, h, 8, pattern(w, h, 31)))[:-3])
    add("bmp/zero_width_error.bmp", bmp(0, 5, 24, b"", b"\0" * 16))
    add("bmp/truncated_header_error.bmp", bmp(w, h, 24, b"", b"")[:30])


# ---------------------------------------------------------------------------------------- GIF

class LZW:
    """GIF LZW encoder. It simulates the decoder's table to know each code's width, so it can
    also write the odd streams real encoders produce (clears at any point, a full table kept
    without a clear, an early end code)."""

    def __init__(self, min_size):
        self.m = min_size
        self.clear, self.end = 1 << min_size, (1 << min_size) + 1
        self.bits = []

    def put(self, code, size):
        for i in range(size):
            self.bits.append((code >> i) & 1)

    def encode(self, idx, clear_every=None, clear_on_full=True, early_end=None, final_clear=False):
        m, clear, end = self.m, self.clear, self.end
        cs, dnext, first = m + 1, clear + 2, True  # decoder view: code size, next entry, first after clear
        table, enext = {}, clear + 2

        def emit(c):
            nonlocal cs, dnext, first
            self.put(c, cs)
            if c == clear:
                cs, dnext, first = m + 1, clear + 2, True
                return
            if first:
                first = False
                return
            if dnext < 4096:
                if dnext == (1 << cs) - 1 and cs < 12:
                    cs += 1
                dnext += 1

        def reset():
            nonlocal table, enext
            emit(clear)
            table, enext = {}, clear + 2

        reset()
        w = None
        count = 0
        for k in idx[: early_end if early_end is not None else len(idx)]:
            if w is None:
                w = k
                continue
            if (w, k) in table:
                w = table[(w, k)]
                continue
            emit(w)
            count += 1
            if enext < 4096:
                table[(w, k)] = enext
                enext += 1
            elif clear_on_full:
                reset()
            if clear_every and count % clear_every == 0:
                reset()
            w = k
        if w is not None:
            emit(w)
        if final_clear:
            emit(clear)
        emit(end)
        out = bytearray()
        for i in range(0, len(self.bits), 8):
            byte = 0
            for j, b in enumerate(self.bits[i:i + 8]):
                byte |= b << j
            out.append(byte)
        return bytes(out)


def sub_blocks(data, size=255):
    out = b""
    for i in range(0, len(data), size):
        out += bytes([len(data[i:i + size])]) + data[i:i + size]
    return out + b"\0"


def interlace_order(h):
    return [y for start, step in [(0, 8), (4, 8), (2, 4), (1, 2)] for y in range(start, h, step)]


def gif(sw, sh, frames, gpal=None, bg=0, version=b"GIF89a", pre=b"", trailer=b";"):
    """frames: dicts with x, y, w, h, idx, min_size, lpal, interlace, trans, lzw (kwargs), raw (LZW bytes)."""
    flags = 0
    if gpal is not None:
        n = max(1, (len(gpal) // 3 - 1).bit_length())
        flags = 0x80 | 0x70 | (n - 1)
        gpal = gpal + b"\0" * (3 * (1 << n) - len(gpal))
    out = version + struct.pack("<HHBBB", sw, sh, flags, bg, 0) + (gpal or b"") + pre
    for f in frames:
        if f.get("trans") is not None or f.get("gce"):
            out += b"!\xf9\x04" + struct.pack("<BHB", 1 if f.get("trans") is not None else 0, 10, f.get("trans") or 0) + b"\0"
        lf = 0
        lpal = f.get("lpal")
        if lpal is not None:
            n = max(1, (len(lpal) // 3 - 1).bit_length())
            lf = 0x80 | (n - 1)
            lpal = lpal + b"\0" * (3 * (1 << n) - len(lpal))
        if f.get("interlace"):
            lf |= 0x40
        out += b"," + struct.pack("<HHHHB", f["x"], f["y"], f["w"], f["h"], lf) + (lpal or b"")
        m = f.get("min_size", 8)
        if "raw" in f:
            data = f["raw"]
        else:
            idx = f["idx"]
            if f.get("interlace"):
                idx = [v for y in interlace_order(f["h"]) for v in idx[y * f["w"]:(y + 1) * f["w"]]]
            data = LZW(m).encode(idx, **f.get("lzw", {}))
        out += bytes([m]) + sub_blocks(data, f.get("block", 255))
    return out + trailer


def rgb_pal(n, seed):
    r = random.Random(seed)
    return bytes(r.randrange(256) for _ in range(3 * n))


def make_gif():
    # Pillow's own GIF writer (interlaced by default from 16x16 up)
    add("gif/pil_p_small.gif", pil_bytes(rgb_image(11, 7, 60).quantize(50), "GIF"))
    add("gif/pil_p_interlaced.gif", pil_bytes(rgb_image(37, 29, 61).quantize(200), "GIF"))
    add("gif/pil_l.gif", pil_bytes(rgb_image(21, 18, 62).convert("L"), "GIF"))
    add("gif/pil_1.gif", pil_bytes(rgb_image(23, 17, 63).convert("1"), "GIF"))
    add("gif/pil_rgb_optimized.gif", pil_bytes(rgb_image(30, 20, 64), "GIF", optimize=True))
    add("gif/pil_transparency.gif", pil_bytes(rgb_image(20, 20, 65).quantize(16), "GIF", transparency=3))
    frames = [rgb_image(24, 16, 66 + i).quantize(32) for i in range(3)]
    add("gif/pil_animated.gif", pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0))
    add("gif/pil_large.gif", pil_bytes(rgb_image(120, 90, 69).quantize(256), "GIF"))

    w, h = 13, 9
    idx = pattern(w, h, 70, 16)
    p16 = rgb_pal(16, 71)
    add("gif/global_palette.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4)], gpal=p16))
    add("gif/local_overrides_global.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, lpal=rgb_pal(16, 72))], gpal=p16))
    add("gif/local_only.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, lpal=rgb_pal(16, 73))]))
    add("gif/no_palette_L.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=pattern(w, h, 74), min_size=8)]))
    gray16 = bytes(v for i in range(16) for v in (i, i, i))
    add("gif/gray_identity_global_L.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4)], gpal=gray16))
    add("gif/gray_identity_local_L.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, lpal=gray16)], gpal=p16))
    add("gif/gray_ramp_not_identity.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4)], gpal=bytes(v for i in range(16) for v in (i * 17,) * 3)))
    add("gif/index_past_palette.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=pattern(w, h, 75), min_size=8)], gpal=rgb_pal(4, 76)))
    add("gif/index_past_palette_L.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=pattern(w, h, 77), min_size=8)], gpal=gray16[:12]))
    # frame geometry
    fi = pattern(5, 4, 78, 16)
    add("gif/frame_offset_inside.gif", gif(w, h, [dict(x=3, y=2, w=5, h=4, idx=fi, min_size=4)], gpal=p16, bg=7))
    add("gif/frame_offset_transparency.gif", gif(w, h, [dict(x=3, y=2, w=5, h=4, idx=fi, min_size=4, trans=9)], gpal=p16, bg=7))
    add("gif/frame_offset_transparency_L.gif", gif(w, h, [dict(x=3, y=2, w=5, h=4, idx=fi, min_size=4, trans=9)]))
    add("gif/frame_past_screen.gif", gif(6, 4, [dict(x=4, y=3, w=5, h=4, idx=fi, min_size=4)], gpal=p16))
    add("gif/screen_zero_frame_sets_size.gif", gif(0, 0, [dict(x=0, y=0, w=5, h=4, idx=fi, min_size=4)], gpal=p16))
    add("gif/transparency_full_frame.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, trans=idx[0])], gpal=p16))
    add("gif/zero_width_frame_error.gif", gif(w, h, [dict(x=0, y=0, w=0, h=h, raw=b"", min_size=4)], gpal=p16))
    # interlacing at every small height
    for ih in [1, 2, 3, 4, 5, 8, 9, 17]:
        ii = pattern(6, ih, 80 + ih, 16)
        add(f"gif/interlaced_h{ih}.gif", gif(6, ih, [dict(x=0, y=0, w=6, h=ih, idx=ii, min_size=4, interlace=True)], gpal=p16))
    add("gif/interlaced_offset_transparency.gif", gif(w, h, [dict(x=2, y=1, w=7, h=6, idx=pattern(7, 6, 90, 16), min_size=4, interlace=True, trans=2)], gpal=p16))
    # LZW: every code size, clears, full table, sub-block sizes
    for m in [1, 2, 3, 4, 5, 6, 7, 8]:
        n = min(256, 1 << max(m, 1))
        add(f"gif/lzw_code_size_{m}.gif", gif(17, 11, [dict(x=0, y=0, w=17, h=11, idx=pattern(17, 11, 100 + m, 1 << m), min_size=m)], gpal=rgb_pal(n, 110 + m)))
    add("gif/lzw_min_size_2_palette_256.gif", gif(17, 11, [dict(x=0, y=0, w=17, h=11, idx=pattern(17, 11, 120, 4), min_size=2)], gpal=rgb_pal(256, 121)))
    add("gif/lzw_clear_every_5.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, lzw=dict(clear_every=5))], gpal=p16))
    add("gif/lzw_clear_then_clear.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, lzw=dict(clear_every=1))], gpal=p16))
    big_w, big_h = 96, 80
    noisy = [random.Random(130).randrange(256) for _ in range(big_w * big_h)]
    add("gif/lzw_full_table_deferred_clear.gif", gif(big_w, big_h, [dict(x=0, y=0, w=big_w, h=big_h, idx=noisy, min_size=8, lzw=dict(clear_on_full=False))], gpal=rgb_pal(256, 131)))
    add("gif/lzw_full_table_clear.gif", gif(big_w, big_h, [dict(x=0, y=0, w=big_w, h=big_h, idx=noisy, min_size=8)], gpal=rgb_pal(256, 131)))
    add("gif/lzw_blocks_of_1.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, block=1)], gpal=p16))
    add("gif/lzw_final_clear.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, lzw=dict(final_clear=True))], gpal=p16))
    add("gif/lzw_code_size_12.gif", gif(5, 3, [dict(x=0, y=0, w=5, h=3, idx=[1, 2, 3] * 5, min_size=12)], gpal=p16))
    add("gif/lzw_code_size_13_error.gif", gif(5, 3, [dict(x=0, y=0, w=5, h=3, raw=b"\0\0\0", min_size=13)], gpal=p16))
    add("gif/lzw_code_size_0.gif", gif(5, 3, [dict(x=0, y=0, w=5, h=3, idx=[0] * 15, min_size=0)], gpal=p16))
    add("gif/lzw_early_end_error.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4, lzw=dict(early_end=40))], gpal=p16))
    good = gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4)], gpal=p16)
    add("gif/truncated_mid_lzw_error.gif", good[: len(good) - 20])
    add("gif/truncated_no_trailer.gif", good[:-1])
    add("gif/truncated_no_terminator.gif", good[:-2])
    add("gif/lzw_garbage_error.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, raw=bytes([0x10, 0xff, 0xff, 0xff, 0xff, 0xff] * 4), min_size=4)], gpal=p16))
    add("gif/lzw_first_code_too_big_error.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, raw=bytes([0x10 | 0xe0, 0xff, 0x0f]), min_size=4)], gpal=p16))
    add("gif/lzw_overlong.gif", gif(4, 2, [dict(x=0, y=0, w=4, h=2, idx=pattern(4, 2, 140, 16) * 5, min_size=4)], gpal=p16))
    # extensions and stray bytes before the image
    ext = b"!\xfe\x05hello\x03abc\x00" + b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00" + b"!\x01\x0c" + b"\0" * 12 + b"\x00" + b"\x07\x08"
    add("gif/extensions_and_junk.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4)], gpal=p16, pre=ext))
    add("gif/gif87a.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4)], gpal=p16, version=b"GIF87a"))
    add("gif/no_image_error.gif", gif(w, h, [], gpal=p16))
    add("gif/bad_version_error.gif", gif(w, h, [dict(x=0, y=0, w=w, h=h, idx=idx, min_size=4)], gpal=p16, version=b"GIF88a"))
    add("gif/truncated_header_error.gif", good[:10])
    add("gif/truncated_palette.gif", good[:13 + 20])


# --------------------------------------------------------------------------------------- WebP

def riff_chunks(b):
    assert b[:4] == b"RIFF" and b[8:12] == b"WEBP"
    o, out = 12, []
    while o + 8 <= len(b):
        t, n = b[o:o + 4], struct.unpack("<I", b[o + 4:o + 8])[0]
        out.append((t, b[o + 8:o + 8 + n]))
        o += 8 + n + (n & 1)
    return out


def riff(chunks):
    body = b"WEBP" + b"".join(t + struct.pack("<I", len(d)) + d + (b"\0" if len(d) & 1 else b"") for t, d in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def u24(v):
    return struct.pack("<I", v)[:3]


def make_webp():
    im = rgb_image(64, 48, 200)
    add("webp/lossy_q80.webp", pil_bytes(im, "WEBP", quality=80))
    add("webp/lossy_q100.webp", pil_bytes(im, "WEBP", quality=100))
    add("webp/lossy_odd_size.webp", pil_bytes(rgb_image(37, 23, 201), "WEBP", quality=75))
    add("webp/lossless.webp", pil_bytes(im, "WEBP", lossless=True))
    a = rgba_image(40, 30, 202)
    add("webp/lossy_alpha.webp", pil_bytes(a, "WEBP", quality=80))
    add("webp/lossless_alpha.webp", pil_bytes(a, "WEBP", lossless=True, exact=True))
    add("webp/lossless_alpha_not_exact.webp", pil_bytes(a, "WEBP", lossless=True))
    fr = [rgb_image(32, 24, 203 + i) for i in range(3)]
    add("webp/animated.webp", pil_bytes(fr[0], "WEBP", save_all=True, append_images=fr[1:], duration=40, loop=0, quality=80))
    # first frame smaller than the canvas and offset (hand-muxed from a Pillow-encoded frame)
    for name, src in [("animated_offset_lossy", pil_bytes(rgb_image(20, 12, 210), "WEBP", quality=80)),
                      ("animated_offset_lossless_alpha", pil_bytes(rgba_image(20, 12, 211), "WEBP", lossless=True, exact=True))]:
        payload = b"".join(t + struct.pack("<I", len(d)) + d + (b"\0" if len(d) & 1 else b"")
                           for t, d in riff_chunks(src) if t in (b"ALPH", b"VP8 ", b"VP8L"))
        anmf = u24(4 // 2) + u24(6 // 2) + u24(20 - 1) + u24(12 - 1) + u24(50) + bytes([0])
        vp8x = bytes([0x10 | 0x02]) + b"\0\0\0" + u24(30 - 1) + u24(22 - 1)
        anim = struct.pack("<IH", 0xFF336699, 0)
        add(f"webp/{name}.webp", riff([(b"VP8X", vp8x), (b"ANIM", anim), (b"ANMF", anmf + payload)]))
    add("webp/large_lossy.webp", pil_bytes(rgb_image(300, 200, 220), "WEBP", quality=90))
    good = pil_bytes(im, "WEBP", quality=80)
    add("webp/truncated_error.webp", good[: len(good) // 2])


def describe(data):
    try:
        im = Image.open(io.BytesIO(data))
        mode = im.mode
        rgb = im.convert("RGB")
    except Exception as e:  # Pillow's refusal is the expected result
        # drop "<_io.BytesIO object at 0x...>" so the file is byte-stable
        return {"error": re.sub(r" object at 0x[0-9a-f]+", " object", f"{type(e).__name__}: {e}")}
    raw = rgb.tobytes()
    w, h = rgb.size
    r = random.Random(w * 1000003 + h)
    pts = sorted({(0, 0), (w - 1, h - 1), (w // 2, h // 2)} | {(r.randrange(w), r.randrange(h)) for _ in range(5)})
    d = {"mode": mode, "width": w, "height": h, "rgb_sha256": hashlib.sha256(raw).hexdigest(),
         "samples": [[x, y, *rgb.getpixel((x, y))] for x, y in pts]}
    if len(raw) <= RAW_LIMIT:
        d["rgb_b64"] = base64.b64encode(raw).decode()
    return d


def main():
    if not features.check("webp"):
        sys.exit("this Pillow has no WebP support")
    make_bmp()
    make_gif()
    make_webp()
    OUT.mkdir(parents=True, exist_ok=True)
    for sub in ("bmp", "gif", "webp"):
        (OUT / sub).mkdir(exist_ok=True)
        for f in (OUT / sub).iterdir():
            f.unlink()
    entries = []
    for name, data, note in cases:
        (OUT / name).write_bytes(data)
        e = {"file": name, "file_sha256": hashlib.sha256(data).hexdigest(), **describe(data)}
        if note:
            e["note"] = note
        entries.append(e)
    golden = {
        "format_version": FORMAT_VERSION,
        "provenance": {"script": "reference/make_image_formats.py", "pillow": PIL.__version__,
                       "libwebp": features.version("webp"), "python": sys.version.split()[0],
                       "rule": "Image.open(BytesIO(bytes)).convert('RGB'); errors are 'ExcType: message'"},
        "cases": entries,
    }
    (OUT / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    errs = sum(1 for e in entries if "error" in e)
    print(f"wrote {len(entries)} cases ({errs} Pillow errors) to {OUT}, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
