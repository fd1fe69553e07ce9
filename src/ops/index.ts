// The readable operators of ovis-ts: small pure functions over f32 `Tensor`s and stored-dtype
// `HostWeight`s. Each file's header states its formula, the HF module it mirrors and its
// numerics. The `ts` backend (src/backend/ts.ts) is a thin wrapper over these.

export { linear, matmul, embedding } from './linear.js';
export { layerNorm, rmsNorm } from './norm.js';
export { geluTanh, silu, gatedAct, softcap, geluTanhScalar, siluScalar } from './activation.js';
export { add, scale } from './elementwise.js';
export { softmax, softmaxRow } from './softmax.js';
export { ropeInvFreq, ropeCosSin, ropeTables, ropeInPlace } from './rope.js';
export type { RopeScaling, Llama3RopeScaling } from './rope.js';
export { attention, visible, visibleRange } from './attention.js';
export { unfoldPatches, patchEmbed } from './patch-embed.js';
export { host, widenRow, widenRange, widenAll } from './weights.js';
