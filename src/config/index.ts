// Typed configs of an Ovis1.6 checkpoint directory, the tensors they imply, and synth presets.

export * from './expected-tensors.js';
export { Fields, Problems } from './fields.js';
export * from './generation-config.js';
export * from './ovis-config.js';
export { PRESETS, type Preset, type PresetFiles, presetNames } from './presets.js';
