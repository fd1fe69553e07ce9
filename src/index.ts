// ovis-ts public API. The folder tree is the data flow:
//   io (safetensors, checkpoints) -> config -> image -> tokenizer/chat -> model -> generate -> runner.
// Everything the browser build has (browser.ts), plus what needs Node's file system, sockets or
// packages: renderChatTemplate, the Hub cache, folders, writers, the server, the parity driver.

export * from './browser.js';
export { createFormatter, renderChatTemplate } from './chat/index.js';
export { synthCheckpoint } from './checkpoint/synth.js';
export * from './hub/index.js';
export { FolderSource } from './io/folder-source.js';
export { encodeSafetensors, SafetensorsFile, SafetensorsWriter, writeSafetensors } from './io/safetensors.js';
export { KVCache } from './model/kv-cache.js';
export { loadReference, runParity } from './parity.js';
export { buildQuery, OvisRunner, queryFromInputs, readImageFile } from './runner.js';
export { createServer, listen, OvisServer } from './server/index.js';
export { compare } from './trace/metrics.js';
export { StageRecorder } from './trace/recorder.js';
export { makeTap, noTap, type Recorder, type Tap } from './trace/tap.js';
export { formatReport, TOLERANCES, toleranceFor } from './trace/tolerances.js';
