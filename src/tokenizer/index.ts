// Public entry of the tokenizer: a from-scratch Hugging Face tokenizer.json reader.

export { onigToJs } from './regex.js';
export { type DecodeOptions, type DecodeStream, type EncodeOptions, Tokenizer } from './tokenizer.js';
export { toWellFormed } from './unicode.js';
