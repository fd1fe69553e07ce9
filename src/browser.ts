// ovis-ts for browsers (and any engine without Node's built-ins): the package's API minus what
// needs a file system or a socket — no `ovis serve`, no Hub cache, no file paths. Models come
// from a ModelSource: HttpSource (a base URL, HTTP Range requests) or BlobSource (a folder the
// user picked); images are decoded with decodeImageAsync (PNG inflate by DecompressionStream).
// No module this file reaches imports `node:*` at its top, nor any package: the build loads as
// plain ES modules, with no import map (which module workers would not see anyway);
// test/browser/bundle.test.ts walks the graph of dist/browser.js. Run the model in a Worker: the wasm backend blocks with
// Atomics.wait, which a page's main thread may not do. docs/browser.md.

export { OvisRunner, buildQuery, queryFromInputs } from './runner.js';
export type { RunnerOptions, RunnerInput, ImageInput, Query, Prepared, RunResult, RunnerEvent, TraceResult } from './runner.js';
export type { ChatMessage, ContentPart, GenerationOptions, ChatEvent, ChatResult, ImageSummary } from './conversation-types.js';

export type { ModelSource, Probe } from './io/source.js';
export { HttpSource, type HttpSourceOptions } from './io/http-source.js';
export { BlobSource, filesFromDirectoryHandle, type NamedBlob } from './io/blob-source.js';
export { SafetensorsFile, encodeSafetensors } from './io/safetensors.js';
export type { TensorInfo, TensorEntry } from './io/safetensors.js';
export { Checkpoint } from './checkpoint/checkpoint.js';
export * from './config/index.js';

export { decodeImage, decodeImageAsync, resizeBicubic, chooseGrid, partition, preprocessImage, preprocessImages, buildPlaceholders } from './image/index.js';
export type { RgbImage, Preprocessed, PreprocessOptions } from './image/index.js';

export { Tokenizer } from './tokenizer/index.js';
// Ovis's own conversation formatters; not renderChatTemplate (the tokenizer's HF Jinja template,
// which would pull @huggingface/jinja into the graph: import it from 'ovis-ts' in a bundler).
export { createFormatter } from './chat/formatters.js';

export type { Backend, AttentionOptions, KVArena } from './backend/backend.js';
export { createBackend, type BackendName, type BackendOptions } from './backend/index.js';
export { OvisModel } from './model/ovis.js';
export { generate, generateStream } from './generate/generate.js';

export * from './errors.js';
export * from './constants.js';
export type { Tensor, Weight, HostTensor } from './tensor.js';
export type { DType } from './dtype.js';
