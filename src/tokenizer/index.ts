// Public entry of the tokenizer: a from-scratch Hugging Face tokenizer.json reader.
export { Tokenizer, type EncodeOptions, type DecodeOptions, type DecodeStream } from './tokenizer.js';
export { onigToJs } from './regex.js';
export { toWellFormed } from './unicode.js';
