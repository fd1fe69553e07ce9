// ovis-ts public API. The folder tree is the data flow:
//   io (safetensors, checkpoints) -> config -> image -> tokenizer/chat -> model -> generate -> runner.

export type { AttentionOptions, Backend, KVArena } from './backend/backend.js';
export { type BackendName, type BackendOptions, createBackend } from './backend/index.js';
export { createFormatter, renderChatTemplate } from './chat/index.js';
export { Checkpoint } from './checkpoint/checkpoint.js';
export { synthCheckpoint } from './checkpoint/synth.js';
export * from './config/index.js';
export * from './constants.js';
export type { ChatEvent, ChatMessage, ChatResult, ContentPart, GenerationOptions, ImageSummary } from './conversation-types.js';
export type { DType } from './dtype.js';
export * from './errors.js';
export { generate, generateStream } from './generate/generate.js';
export * from './hub/index.js';
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
export { FolderSource } from './io/folder-source.js';
export { HttpSource, type HttpSourceOptions } from './io/http-source.js';
export type { TensorEntry, TensorInfo } from './io/safetensors.js';
export { encodeSafetensors, SafetensorsFile, SafetensorsWriter, writeSafetensors } from './io/safetensors.js';
export type { ModelSource, Probe } from './io/source.js';
export { KVCache } from './model/kv-cache.js';
export { OvisModel } from './model/ovis.js';
export { loadReference, runParity } from './parity.js';
export type { ImageInput, Prepared, Query, RunnerEvent, RunnerInput, RunnerOptions, RunResult, TraceResult } from './runner.js';
export { buildQuery, OvisRunner, queryFromInputs, readImageFile } from './runner.js';
export { createServer, listen, OvisServer } from './server/index.js';
export type { HostTensor, Tensor, Weight } from './tensor.js';
export { Tokenizer } from './tokenizer/index.js';
export { compare } from './trace/metrics.js';
export { StageRecorder } from './trace/recorder.js';
export { makeTap, noTap, type Recorder, type Tap } from './trace/tap.js';
export { formatReport, TOLERANCES, toleranceFor } from './trace/tolerances.js';
