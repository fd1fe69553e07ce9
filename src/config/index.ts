// Typed configs of an Ovis1.6 checkpoint directory, the tensors they imply, and synth presets.
export * from './ovis-config.js';
export * from './generation-config.js';
export * from './expected-tensors.js';
export { PRESETS, presetNames, type Preset, type PresetFiles } from './presets.js';
export { Problems, Fields } from './fields.js';
