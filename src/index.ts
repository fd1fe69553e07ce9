// ovis-ts public API. The folder tree is the data flow:
//   io (safetensors, checkpoints) -> config -> image -> tokenizer/chat -> model -> generate -> runner.

export { OvisRunner, buildQuery, queryFromInputs, readImageFile } from './runner.js';
export { OvisServer, createServer, listen } from './server/index.js';
export type { ChatMessage, ContentPart, GenerationOptions, ChatEvent, ChatResult, ImageSummary } from './conversation-types.js';
export type { RunnerOptions, RunnerInput, ImageInput, Query, Prepared, RunResult, RunnerEvent, TraceResult } from './runner.js';

export { SafetensorsFile, SafetensorsWriter, encodeSafetensors, writeSafetensors } from './io/safetensors.js';
export type { ModelSource, Probe } from './io/source.js';
export { FolderSource } from './io/folder-source.js';
export { HttpSource, type HttpSourceOptions } from './io/http-source.js';
export { BlobSource, filesFromDirectoryHandle, type NamedBlob } from './io/blob-source.js';
export type { TensorInfo, TensorEntry } from './io/safetensors.js';
export { Checkpoint } from './checkpoint/checkpoint.js';
export * from './hub/index.js';
export { synthCheckpoint } from './checkpoint/synth.js';
export * from './config/index.js';

export { decodeImage, decodeImageAsync, resizeBicubic, chooseGrid, partition, preprocessImage, preprocessImages, buildPlaceholders } from './image/index.js';
export type { RgbImage, Preprocessed, PreprocessOptions } from './image/index.js';

export { Tokenizer } from './tokenizer/index.js';
export { createFormatter, renderChatTemplate } from './chat/index.js';

export type { Backend, AttentionOptions, KVArena } from './backend/backend.js';
export { createBackend, type BackendName, type BackendOptions } from './backend/index.js';
export { OvisModel } from './model/ovis.js';
export { generate, generateStream } from './generate/generate.js';
export { KVCache } from './model/kv-cache.js';

export { StageRecorder } from './trace/recorder.js';
export { compare } from './trace/metrics.js';
export { TOLERANCES, toleranceFor, formatReport } from './trace/tolerances.js';
export { loadReference, runParity } from './parity.js';
export { makeTap, noTap, type Recorder, type Tap } from './trace/tap.js';

export * from './errors.js';
export * from './constants.js';
export type { Tensor, Weight, HostTensor } from './tensor.js';
export type { DType } from './dtype.js';
