// Llama 3.1 tokenizer.json (byte-level BPE, Llama-3 split regex, ignore_merges) vs Rust goldens.
import { goldenSuite } from './golden.shared.js';

goldenSuite('llama3_1', { lossless: () => true }); // byte-level: every string round-trips
