// ovis-ts for browsers (and any engine without Node's built-ins): the package's API minus what
// needs a file system or a socket — no `ovis serve`, no Hub cache, no file paths. Models come
// from a ModelSource: HttpSource (a base URL, HTTP Range requests) or BlobSource (a folder the
// user picked); images are decoded with decodeImageAsync (PNG inflate by DecompressionStream).
// No module this file reaches imports `node:*` at its top, nor any package: the build loads as
// plain ES modules, with no import map (which module workers would not see anyway);
// test/browser/bundle.test.ts walks the graph of dist/browser.js. Run the model in a Worker: the wasm backend blocks with
// Atomics.wait, which a page's main thread may not do. docs/browser.md.

export type { AttentionOptions, Backend, KVArena } from './backend/backend.js';
export { type BackendName, type BackendOptions, createBackend } from './backend/index.js';
// Ovis's own conversation formatters; not renderChatTemplate (the tokenizer's HF Jinja template,
// which would pull @huggingface/jinja into the graph: import it from 'ovis-ts' in a bundler).
export { createFormatter } from './chat/formatters.js';
export { Checkpoint } from './checkpoint/checkpoint.js';
export * from './config/index.js';
export * from './constants.js';
export type { ChatEvent, ChatMessage, ChatResult, ContentPart, GenerationOptions, ImageSummary } from './conversation-types.js';
export type { DType } from './dtype.js';
export * from './errors.js';
export { generate, generateStream } from './generate/generate.js';
// where a browser fetches libwebp's wasm from (default: beside the package; docs/browser.md §7)
export { loadWebpWasm } from './image/decode-webp.js';
export type { Preprocessed, PreprocessOptions, RgbImage } from './image/index.js';
export {
  buildPlaceholders,
  chooseGrid,
  decodeImage,
  decodeImageAsync,
  partition,
  preprocessImage,
  preprocessImages,
  resizeBicubic,
} from './image/index.js';
export { BlobSource, filesFromDirectoryHandle, type NamedBlob } from './io/blob-source.js';
export { HttpSource, type HttpSourceOptions } from './io/http-source.js';
export type { TensorEntry, TensorInfo } from './io/safetensors.js';
export { encodeSafetensors, SafetensorsFile } from './io/safetensors.js';
export type { ModelSource, Probe } from './io/source.js';
export { OvisModel } from './model/ovis.js';
export type { ImageInput, Prepared, Query, RunnerEvent, RunnerInput, RunnerOptions, RunResult, TraceResult } from './runner.js';
export { buildQuery, OvisRunner, queryFromInputs } from './runner.js';
export type { HostTensor, Tensor, Weight } from './tensor.js';
export { Tokenizer } from './tokenizer/index.js';
