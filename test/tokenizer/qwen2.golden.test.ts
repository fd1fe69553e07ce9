// Qwen2.5 tokenizer.json cut to its first 30,000 tokens (reference/fixtures/tokenizer/qwen2_5_trimmed.json:
// NFC normalizer, Qwen split regex with single digits, byte-level BPE, 22 added tokens) vs Rust goldens.
import { goldenSuite } from './golden.shared.js';

// byte-level, but NFC is applied first: strings already in NFC round-trip
goldenSuite('qwen2_5t', { lossless: (s) => s.normalize('NFC') === s });
