// Gemma 3 tokenizer.json (SentencePiece-style BPE: ' ' -> '▁', byte fallback, 6,415 added tokens) vs Rust goldens.
import { goldenSuite } from './golden.shared.js';

// lossless unless the text itself contains '▁' (decoded as a space)
goldenSuite('gemma3', { lossless: (s) => !s.includes('\u2581') });
