// How much memory a checkpoint needs in the tab, and whether to refuse it before any weight is
// read (only the configs and shard headers have been fetched when this runs).
//
// Need = the weights as stored (bf16 stays bf16 in the wasm weight store)
//      + the KV cache of the longest prompt the model accepts (config multimodal_max_length
//        positions, f32 keys and values for every layer)
//      + the backend's scratch for activations (at most its per-op budget, 512 MiB; less for
//        small models, whose largest activation is far smaller).
// The weights live in wasm32 memories of at most 4 GiB each; the backend starts a new memory
// past 3 GiB, so one tensor larger than 3 GiB cannot be placed at all (refused here).
// What the tab may use is not something a page can read exactly: `navigator.deviceMemory` is
// the device's RAM rounded down to a power of two and capped at 8 (GB); below 8 we refuse what
// exceeds 80% of it. Above, a model larger than the machine's memory fails with the engine's
// out-of-memory error part-way (docs/browser.md: the largest checkpoint measured to load here).

const GiB = 2 ** 30;
export const SCRATCH_MAX = 512 * 2 ** 20;
export const TENSOR_MAX = 3 * GiB;

/** KV cache bytes for `positions` tokens (f32 K and V, every layer). */
export function kvBytes(config, positions = config.multimodal_max_length) {
  const l = config.llm_config;
  return 2 * l.num_hidden_layers * l.num_key_value_heads * l.head_dim * 4 * positions;
}

/** Scratch for activations: the largest of an MLP row block and a layer's attention inputs over
 *  the longest prompt, capped by the backend's per-op budget. */
export function scratchBytes(config) {
  const l = config.llm_config;
  const T = config.multimodal_max_length;
  return Math.min(SCRATCH_MAX, 4 * T * (2 * l.intermediate_size + 4 * l.hidden_size));
}

/** { text, need, refuse? } for a checkpoint's config and tensors (Checkpoint.open's).
 *  `budgetGb`: a limit the user set (the page's ?budget=GB), checked first. */
export function memoryVerdict(config, tensors, { deviceMemoryGb = globalThis.navigator?.deviceMemory, budgetGb } = {}) {
  let weights = 0;
  let largest = 0;
  let largestName = '';
  for (const [name, t] of tensors) {
    weights += t.byteLength;
    if (t.byteLength > largest) {
      largest = t.byteLength;
      largestName = name;
    }
  }
  const kv = kvBytes(config);
  const scratch = scratchBytes(config);
  const need = weights + kv + scratch;
  const gb = (n) => `${(n / 1e9).toFixed(2)} GB`;
  const text = `needs about ${gb(need)}: weights ${gb(weights)} + KV cache ${gb(kv)} (${config.multimodal_max_length} positions) + scratch ${gb(scratch)}`;
  if (largest > TENSOR_MAX) {
    return {
      text,
      need,
      refuse: `${largestName} is ${gb(largest)}: a tensor larger than 3 GiB does not fit one wasm32 memory of the weight store; not loading it`,
    };
  }
  if (typeof budgetGb === 'number' && need > budgetGb * 1e9) {
    return { text, need, refuse: `this model ${text}, over the page's memory budget of ${budgetGb} GB: not loading it` };
  }
  if (typeof deviceMemoryGb === 'number' && deviceMemoryGb < 8 && need > 0.8 * deviceMemoryGb * 1e9) {
    return { text, need, refuse: `this model ${text}, and this device reports ${deviceMemoryGb} GB of RAM: not loading it` };
  }
  return { text, need };
}
