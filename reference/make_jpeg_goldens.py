#!/usr/bin/env python3
"""Goldens for the bit-exact JPEG decoder (src/image/jpeg/): JPEGs and what the REAL Pillow
(libjpeg-turbo) decodes them to, `Image.open(BytesIO(b)).convert('RGB')`.

Files:
  - written by Pillow's encoder: quality 30..100, subsampling 4:4:4 / 4:2:2 / 4:2:0, baseline,
    progressive, optimize, gray (L), odd sizes (1x1, 2x2, 3x5, 17x9, 37x23, 130x97);
  - written by the small baseline encoder below, for what Pillow 11.3 cannot write: restart
    intervals (DRI + RSTn; Pillow 11.3 has no restart option), sampling factors 4:4:0 (1x2),
    4:1:1 (4x1), 3x1, mixed (2x2 / 1x2 / 2x1), gray with 2x2 factors, RGB stored without a
    colour transform (Adobe APP14 transform 0, and component ids 'R','G','B'), Huffman codes
    longer than 9 bits;
  - progressive files cut after scan k of Pillow's scan script (libjpeg-turbo's
    jpeg_simple_progression: 10 scans for YCbCr, 6 for gray), + EOI: the first AC coefficients
    are then incomplete and libjpeg-turbo block-smooths (jdcoefct.c decompress_smooth_data);
    and copies whose last kept scan is cut mid-data (the rows past the cut use the previous
    scan's precision: last_good_iMCU_row);
  - no Huffman tables (Motion-JPEG style): DHT segments stripped from baseline files written
    with Annex K's standard tables (checked table by table, and Pillow must decode the stripped
    file to the original's pixels), all tables, or the AC ones only; a scan naming slot 2, which
    has no standard table (Pillow raises);
  - damaged copies: truncated mid-scan (Pillow raises), an EOI spliced into the scan (libjpeg
    pads with zeros and warns: Pillow returns pixels);
  - the existing fixtures reference/fixtures/image/jpeg/*.jpg and docs/img/example-1280x720.jpg
    (referenced by path, not copied).
Each golden entry: file, mode Pillow opened, size, sha256 of the RGB bytes, a few sample
pixels, or the error Pillow raised. Deterministic: fixed seeds.

Usage: reference/.venv/bin/python reference/make_jpeg_goldens.py
"""
import hashlib
import io
import json
import struct
import sys
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, features

FORMAT_VERSION = 1
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "reference" / "fixtures" / "image" / "jpeg-exact"


def photo(w, h, seed=1, gray=False):
    """Smooth shading, a saturated disc (sharp chroma edge) and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = x / max(w, 1), y / max(h, 1)
    r = 90 + 120 * u + 20 * np.sin(x / 3.0)
    g = 140 + 60 * v - 40 * np.cos(y / 5.0)
    b = 220 - 150 * u * v
    disc = (x - 0.6 * w) ** 2 + (y - 0.45 * h) ** 2 < (0.25 * min(w, h)) ** 2
    r[disc], g[disc], b[disc] = 230, 30, 40
    img = np.stack([r, g, b], -1) + rng.normal(0, 6, (h, w, 3))
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    im = Image.fromarray(img, "RGB")
    return im.convert("L") if gray else im


# ---- a small baseline encoder (restart intervals, any sampling factors, RGB or YCbCr) ----------

ZIGZAG = np.array([0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
                   35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63])
C8 = np.array([[(np.sqrt(0.5) if k == 0 else 1.0) * 0.5 * np.cos((2 * n + 1) * k * np.pi / 16) for n in range(8)] for k in range(8)])
QUANT = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
                  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])


def huff_table(lengths):
    """{symbol: (code, length)} and DHT (counts, symbols) from a list of (symbol, length)."""
    lengths = sorted(lengths, key=lambda s: (s[1], s[0]))
    counts = [0] * 16
    codes, code, prev = {}, 0, lengths[0][1]
    for sym, ln in lengths:
        code <<= ln - prev
        prev = ln
        codes[sym] = (code, ln)
        counts[ln - 1] += 1
        code += 1
    return codes, counts, [s for s, _ in lengths]


DC_TABLE = huff_table([(s, 4) for s in range(12)])
AC_SYMS = [0x00, 0xF0] + [(r << 4) | s for r in range(16) for s in range(1, 11)]
# EOB 2 bits, 0x01 3 bits, 0x11 4 bits, the rest 10 bits: codes longer than the 9-bit lookup
AC_TABLE = huff_table([(s, {0x00: 2, 0x01: 3, 0x11: 4}.get(s, 10)) for s in AC_SYMS])


class Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, code, ln):
        self.acc, self.n = (self.acc << ln) | code, self.n + ln
        while self.n >= 8:
            byte = (self.acc >> (self.n - 8)) & 255
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
            self.n -= 8

    def flush(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)


def magnitude(v):
    s = int(abs(v)).bit_length()
    return s, (v if v >= 0 else v + (1 << s) - 1)


def segment(marker, body):
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + bytes(body)


def std_table(tc):
    """Annex K's luminance table of class tc as huff_table returns it (codes, counts, symbols)."""
    t = STD_HUFF[(tc, 0)]
    counts, syms = list(t[:16]), list(t[16:])
    return huff_table([(s, ln) for ln in range(1, 17) for s in syms[sum(counts[:ln - 1]):sum(counts[:ln])]])


def encode(img, sampling, restart=0, rgb_mode=None, qscale=1.0, ids=None, std_huff=False):
    """img: PIL RGB or L. sampling: [(h, v)] per component. rgb_mode: None (YCbCr, JFIF),
    'adobe' (RGB + APP14 transform 0) or 'ids' (RGB, component ids 'R','G','B'). std_huff: Annex
    K's luminance tables (slot 0) instead of the long-code test tables."""
    DC_TABLE, AC_TABLE = (std_table(0), std_table(1)) if std_huff else (globals()["DC_TABLE"], globals()["AC_TABLE"])
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        planes = [a]
    elif rgb_mode:
        planes = [a[..., 0], a[..., 1], a[..., 2]]
    else:
        r, g, b = a[..., 0], a[..., 1], a[..., 2]
        planes = [0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b + 128, 0.5 * r - 0.418688 * g - 0.081312 * b + 128]
    h_img, w_img = planes[0].shape
    maxh, maxv = max(s[0] for s in sampling), max(s[1] for s in sampling)
    n = len(planes)
    single = n == 1
    mx, my = -(-w_img // (8 * maxh)), -(-h_img // (8 * maxv))
    q = np.maximum(1, np.minimum(255, np.rint(QUANT * qscale))).astype(int)
    comps = []
    for p, (h, v) in zip(planes, sampling):
        fx, fy = maxh // h, maxv // v
        pad = np.pad(p, ((0, my * maxv * 8 - h_img), (0, mx * maxh * 8 - w_img)), mode="edge")
        ds = pad.reshape(pad.shape[0] // fy, fy, pad.shape[1] // fx, fx).mean(axis=(1, 3))
        comps.append(ds)
    bits = Bits()
    pred = [0] * n

    def block(ci, by, bx):
        blk = comps[ci][by * 8:by * 8 + 8, bx * 8:bx * 8 + 8] - 128
        coef = np.rint((C8 @ blk @ C8.T).flatten()[ZIGZAG] / q[ZIGZAG]).astype(int)
        d = coef[0] - pred[ci]
        pred[ci] = coef[0]
        s, m = magnitude(d)
        bits.put(*DC_TABLE[0][s])
        if s:
            bits.put(m, s)
        run = 0
        for k in range(1, 64):
            c = coef[k]
            if c == 0:
                run += 1
                continue
            while run > 15:
                bits.put(*AC_TABLE[0][0xF0])
                run -= 16
            s, m = magnitude(c)
            s = min(s, 10)
            bits.put(*AC_TABLE[0][(run << 4) | s])
            bits.put(m & ((1 << s) - 1), s)
            run = 0
        if run:
            bits.put(*AC_TABLE[0][0x00])

    if single:  # one component: MCU = one block over the component's own blocks
        h, v = sampling[0]
        units = [(0, by, bx) for by in range(-(-(h_img * v) // (8 * maxv))) for bx in range(-(-(w_img * h) // (8 * maxh)))]
        mcus = [[u] for u in units]
    else:
        mcus = [[(ci, myi * v + y, mxi * h + x) for ci, (h, v) in enumerate(sampling) for y in range(v) for x in range(h)]
                for myi in range(my) for mxi in range(mx)]
    rst = 0
    for i, mcu in enumerate(mcus):
        if restart and i and i % restart == 0:
            bits.flush()
            bits.out += bytes([0xFF, 0xD0 + rst])
            rst = (rst + 1) & 7
            pred = [0] * n
        for u in mcu:
            block(*u)
    bits.flush()
    ids = ids or ([82, 71, 66] if rgb_mode == "ids" else list(range(1, n + 1)))
    out = b"\xff\xd8"
    if rgb_mode == "adobe":
        out += segment(0xEE, b"Adobe" + bytes([0, 100, 0, 0, 0, 0, 0]))
    elif rgb_mode is None:
        out += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += segment(0xDB, [0] + list(q[ZIGZAG]))
    out += segment(0xC0, [8, h_img >> 8, h_img & 255, w_img >> 8, w_img & 255, n] + sum(([ids[i], (s[0] << 4) | s[1], 0] for i, s in enumerate(sampling)), []))
    for tc, (_, counts, syms) in ((0, DC_TABLE), (1, AC_TABLE)):
        out += segment(0xC4, [tc << 4] + counts + syms)
    if restart:
        out += segment(0xDD, [restart >> 8, restart & 255])
    out += segment(0xDA, [n] + sum(([ids[i], 0x00] for i in range(n)), []) + [0, 63, 0])
    return out + bytes(bits.out) + b"\xff\xd9"


# ---- cases ----------------------------------------------------------------------------------------

def pillow_jpeg(im, **kw):
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


cases = []  # (name, bytes)
SUB = {0: "444", 1: "422", 2: "420"}
for (w, h) in [(1, 1), (2, 2), (3, 5), (17, 9), (37, 23), (130, 97)]:
    for sub in (0, 1, 2):
        for prog in (False, True):
            cases.append((f"pil_{w}x{h}_{SUB[sub]}_q80{'_prog' if prog else ''}.jpg", pillow_jpeg(photo(w, h, w * h), quality=80, subsampling=sub, progressive=prog)))
for q in (30, 50, 95, 100):
    cases.append((f"pil_64x48_420_q{q}_opt.jpg", pillow_jpeg(photo(64, 48, q), quality=q, subsampling=2, optimize=True)))
cases.append(("pil_64x48_422_q90_prog_opt.jpg", pillow_jpeg(photo(64, 48, 7), quality=90, subsampling=1, progressive=True, optimize=True)))
# larger progressive files: scans long enough for entropy.ts's fast paths (every possible byte of
# a block before the next marker), DC first, AC first and AC refinement, with EOB runs
cases.append(("pil_320x240_420_q90_prog.jpg", pillow_jpeg(photo(320, 240, 31), quality=90, subsampling=2, progressive=True)))
cases.append(("pil_320x240_444_q95_prog_opt.jpg", pillow_jpeg(photo(320, 240, 32), quality=95, subsampling=0, progressive=True, optimize=True)))
cases.append(("pil_gray_256x192_prog.jpg", pillow_jpeg(photo(256, 192, 33, gray=True), quality=85, progressive=True)))
for (w, h) in [(1, 1), (37, 23), (64, 48)]:
    for prog in (False, True):
        cases.append((f"pil_gray_{w}x{h}{'_prog' if prog else ''}.jpg", pillow_jpeg(photo(w, h, 3, gray=True), quality=85, progressive=prog)))

own = [
    ("own_420_rst1", [(2, 2), (1, 1), (1, 1)], dict(restart=1)),
    ("own_420_rst3", [(2, 2), (1, 1), (1, 1)], dict(restart=3)),
    ("own_444_rst7", [(1, 1), (1, 1), (1, 1)], dict(restart=7)),
    ("own_440", [(1, 2), (1, 1), (1, 1)], {}),
    ("own_411", [(4, 1), (1, 1), (1, 1)], {}),
    ("own_411_rst2", [(4, 1), (1, 1), (1, 1)], dict(restart=2)),
    ("own_31", [(3, 1), (1, 1), (1, 1)], {}),
    ("own_42_21", [(4, 2), (2, 1), (2, 1)], {}),
    ("own_mixed", [(2, 2), (1, 2), (2, 1)], {}),
    ("own_410", [(4, 2), (1, 1), (1, 1)], {}),
    ("own_adobe_rgb", [(1, 1), (1, 1), (1, 1)], dict(rgb_mode="adobe")),
    ("own_ids_rgb", [(1, 1), (1, 1), (1, 1)], dict(rgb_mode="ids")),
    ("own_q_fine", [(2, 1), (1, 1), (1, 1)], dict(qscale=0.05)),
]
for name, samp, kw in own:
    for (w, h) in [(37, 23), (70, 45)]:
        cases.append((f"{name}_{w}x{h}.jpg", encode(photo(w, h, 11), samp, **kw)))
cases.append(("own_gray_22_37x23.jpg", encode(photo(37, 23, 5, gray=True), [(2, 2)])))
cases.append(("own_gray_rst2_37x23.jpg", encode(photo(37, 23, 5, gray=True), [(1, 1)], restart=2)))
cases.append(("own_2x2_1x1.jpg", encode(photo(2, 2, 9), [(2, 2), (1, 1), (1, 1)])))
cases.append(("own_3x3_h2v1.jpg", encode(photo(3, 3, 9), [(2, 1), (1, 1), (1, 1)])))

# progressive with incomplete coefficients (block smoothing)


def scans_prefix(b, keep):
    """The file up to the end of its `keep`-th scan's entropy data, then EOI."""
    o, n = 2, 0
    while True:
        m, ln = b[o + 1], (b[o + 2] << 8) | b[o + 3]
        o += 2 + ln
        if m == 0xDA:
            n += 1
            while not (b[o] == 0xFF and b[o + 1] != 0 and not 0xD0 <= b[o + 1] <= 0xD7):
                o += 1
            if n == keep:
                return b[:o] + b"\xff\xd9"


def cut_last_scan(b, keep, frac):
    """scans_prefix, with the last scan's entropy data cut at `frac`."""
    c = scans_prefix(b, keep)[:-2]
    i = c.rfind(b"\xff\xda")
    start = i + 2 + ((c[i + 2] << 8) | c[i + 3])
    cut = start + int((len(c) - start) * frac)
    cut -= c[cut - 1] == 0xFF
    return c[:cut] + b"\xff\xd9"


smooth_src = {
    "420_130x97": pillow_jpeg(photo(130, 97, 5), quality=80, subsampling=2, progressive=True),
    "422_37x23": pillow_jpeg(photo(37, 23, 6), quality=90, subsampling=1, progressive=True),
    "444_17x9": pillow_jpeg(photo(17, 9, 7), quality=75, subsampling=0, progressive=True),
    "420_9x40": pillow_jpeg(photo(9, 40, 8), quality=80, subsampling=2, progressive=True),
    "420_1x1": pillow_jpeg(photo(1, 1, 9), quality=80, subsampling=2, progressive=True),
    "gray_37x23": pillow_jpeg(photo(37, 23, 3, gray=True), quality=85, progressive=True),
}
for name, keeps in [("420_130x97", range(1, 10)), ("422_37x23", (1, 2, 6)), ("444_17x9", (1, 3, 9)), ("420_9x40", (1, 2, 5)),
                    ("420_1x1", (1, 2)), ("gray_37x23", (1, 2, 4))]:
    for k in keeps:
        cases.append((f"smooth_{name}_scans{k}.jpg", scans_prefix(smooth_src[name], k)))
for k in (2, 6, 10):
    cases.append((f"smooth_420_130x97_scans{k}_cut.jpg", cut_last_scan(smooth_src["420_130x97"], k, 0.5)))

# no Huffman tables (Motion-JPEG style): DHT segments stripped from Pillow files written with
# the standard tables (optimize=False, baseline); libjpeg-turbo substitutes Annex K's tables
# (jdhuff.c -> jstdhuff.c jpeg_std_huff_table). Only valid when the stripped tables ARE the
# standard ones: checked below, table by table.
STD_HUFF = {  # (class, slot) -> DHT counts + symbols, ITU T.81 Annex K.3
    (0, 0): bytes.fromhex("00010501010101010100000000000000" "000102030405060708090a0b"),
    (0, 1): bytes.fromhex("00030101010101010101010000000000" "000102030405060708090a0b"),
    (1, 0): bytes.fromhex("0002010303020403050504040000017d"
                          "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a"
                          "535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca"
                          "d2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"),
    (1, 1): bytes.fromhex("00020102040403040705040400010277"
                          "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a"
                          "535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca"
                          "d2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa"),
}


def strip_dht(b, drop=lambda tc, th: True):
    """The file without the DHT tables `drop` selects (a segment left empty goes); each dropped
    table must be Annex K's standard table for its slot, or stripping would change the decode."""
    out, o = bytearray(b[:2]), 2
    while True:
        m, ln = b[o + 1], (b[o + 2] << 8) | b[o + 3]
        if m == 0xDA:
            return bytes(out + b[o:])
        body, keep, p = b[o + 4:o + 2 + ln], bytearray(), 0
        if m == 0xC4:
            while p < len(body):
                tc, th, n = body[p] >> 4, body[p] & 15, 17 + sum(body[p + 1:p + 17])
                if drop(tc, th):
                    assert body[p + 1:p + n] == STD_HUFF.get((tc, th)), f"DHT {tc}/{th} is not the standard table"
                else:
                    keep += body[p:p + n]
                p += n
            if keep:
                out += segment(0xC4, keep)
        else:
            out += b[o:o + 2 + ln]
        o += 2 + ln


def set_sos_tables(b, sel):
    """Every scan header's table selectors (Td << 4 | Ta) replaced by `sel`."""
    i = b.index(b"\xff\xda")
    n = b[i + 4]
    return b[:i + 5] + bytes(x if j % 2 == 0 else sel for j, x in enumerate(b[i + 5:i + 5 + 2 * n])) + b[i + 5 + 2 * n:]


def nodht(b, drop=lambda tc, th: True):
    """strip_dht, checked: Pillow decodes the stripped file to the same pixels as the original."""
    s = strip_dht(b, drop)
    assert s != b and Image.open(io.BytesIO(s)).convert("RGB").tobytes() == Image.open(io.BytesIO(b)).convert("RGB").tobytes()
    return s


nodht_420 = nodht(pillow_jpeg(photo(37, 23, 31), quality=80, subsampling=2))
cases.append(("nodht_420_37x23.jpg", nodht_420))
cases.append(("nodht_444_64x48_q95.jpg", nodht(pillow_jpeg(photo(64, 48, 32), quality=95, subsampling=0))))
cases.append(("nodht_gray_37x23.jpg", nodht(pillow_jpeg(photo(37, 23, 33, gray=True), quality=85))))
cases.append(("nodht_ac_only_422_17x9.jpg", nodht(pillow_jpeg(photo(17, 9, 34), quality=80, subsampling=1), lambda tc, th: tc == 1)))
cases.append(("nodht_own_420_rst3_70x45.jpg", nodht(encode(photo(70, 45, 35), [(2, 2), (1, 1), (1, 1)], restart=3, std_huff=True))))
cases.append(("bad_nodht_slot2.jpg", set_sos_tables(nodht_420, 0x22)))  # no standard table for slot 2: Pillow raises
# restart intervals long enough (> 520 bytes) for the decoder's fast block path to run inside
# each interval and hand over to the careful one before each RSTn
cases.append(("own_std_420_rst24_160x120.jpg", encode(photo(160, 120, 36), [(2, 2), (1, 1), (1, 1)], restart=24, std_huff=True, qscale=0.3)))

# damage
base = pillow_jpeg(photo(64, 48, 21), quality=85, subsampling=2)
prog = pillow_jpeg(photo(64, 48, 21), quality=85, subsampling=2, progressive=True)
rst = encode(photo(70, 45, 11), [(2, 2), (1, 1), (1, 1)], restart=3)
cases.append(("bad_truncated_half.jpg", base[: len(base) // 2]))
cases.append(("bad_truncated_prog.jpg", prog[: len(prog) * 2 // 3]))
cases.append(("bad_eoi_midscan.jpg", base[: len(base) * 2 // 3] + b"\xff\xd9"))
cases.append(("bad_eoi_midscan_prog.jpg", prog[: len(prog) * 2 // 3] + b"\xff\xd9"))
cases.append(("bad_eoi_midscan_rst.jpg", rst[: len(rst) * 2 // 3] + b"\xff\xd9"))
flip = bytearray(base)
for i in range(len(flip) // 2, len(flip) // 2 + 40, 7):
    if flip[i] not in (0xFF, 0x00) and flip[i - 1] != 0xFF:
        flip[i] ^= 0x5A
cases.append(("bad_flipped_bits.jpg", bytes(flip)))

existing = sorted((ROOT / "reference/fixtures/image/jpeg").glob("*.jpg")) + [ROOT / "docs/img/example-1280x720.jpg"]


def golden(name, b, path):
    e = {"file": path}
    try:
        im = Image.open(io.BytesIO(b))
        mode = im.mode
        rgb = im.convert("RGB")
        data = rgb.tobytes()
        w, h = rgb.size
        rng = np.random.default_rng(len(data))
        pts = [(0, 0), (w - 1, h - 1)] + [(int(rng.integers(w)), int(rng.integers(h))) for _ in range(6)]
        e.update(mode=mode, size=[w, h], sha256=hashlib.sha256(data).hexdigest(),
                 samples=[[x, y, list(rgb.getpixel((x, y)))] for x, y in pts])
    except Exception as ex:  # noqa: BLE001 — the error is the golden
        e["error"] = f"{type(ex).__name__}: {ex}"
    return e


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for f in OUT.glob("*.jpg"):
        f.unlink()
    entries = []
    for name, b in cases:
        (OUT / name).write_bytes(b)
        entries.append(golden(name, b, f"reference/fixtures/image/jpeg-exact/{name}"))
    for p in existing:
        if p.name == "cmyk.jpg":
            continue
        entries.append(golden(p.name, p.read_bytes(), str(p.relative_to(ROOT))))
    doc = {
        "format_version": FORMAT_VERSION,
        "provenance": {"script": "reference/make_jpeg_goldens.py", "python": sys.version.split()[0], "pillow": PIL.__version__,
                       "libjpeg_turbo": features.version("libjpeg_turbo"), "numpy": np.__version__,
                       "decode": "Image.open(BytesIO(b)).convert('RGB')"},
        "files": entries,
    }
    (OUT / "golden.json").write_text(json.dumps(doc, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{len(entries)} goldens, {sum('error' in e for e in entries)} errors, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
