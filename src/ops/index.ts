// The readable operators of ovis-ts: small pure functions over f32 `Tensor`s and stored-dtype
// `HostWeight`s. Each file's header states its formula, the HF module it mirrors and its
// numerics. The `ts` backend (src/backend/ts.ts) is a thin wrapper over these.

export { gatedAct, geluTanh, geluTanhScalar, silu, siluScalar, softcap } from './activation.js';
export { attention, visible, visibleRange } from './attention.js';
export { add, scale } from './elementwise.js';
export { embedding, linear, matmul } from './linear.js';
export { layerNorm, rmsNorm } from './norm.js';
export { patchEmbed, unfoldPatches } from './patch-embed.js';
export type { Llama3RopeScaling, RopeScaling } from './rope.js';
export { ropeCosSin, ropeInPlace, ropeInvFreq, ropeTables } from './rope.js';
export { softmax, softmaxRow } from './softmax.js';
export { host, widenAll, widenRange, widenRow } from './weights.js';
