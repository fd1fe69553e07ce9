// How much memory a checkpoint needs in the tab, and whether to refuse it before any weight is
// read. The weights are held as stored (bf16 stays bf16) in wasm memories of at most 4 GiB each
// (the backend starts a new one past 3 GiB), so the need is the weights' stored bytes plus the
// activations and KV cache (a few hundred MB at these context lengths: OVERHEAD). What the tab
// may use is not something a page can read exactly: `navigator.deviceMemory` is the device's
// RAM rounded down to a power of two and capped at 8 (GB); below 8 we refuse what exceeds 80% of
// it. Larger models are attempted and fail with the engine's own out-of-memory error if the
// tab's limit is lower (docs/browser.md: the limit measured here).

export const OVERHEAD = 512 * 2 ** 20;

export function memoryVerdict(weightBytes, deviceMemoryGb = self.navigator?.deviceMemory) {
  const need = weightBytes + OVERHEAD;
  const gb = (n) => `${(n / 1e9).toFixed(2)} GB`;
  const text = `needs about ${gb(need)} (weights ${gb(weightBytes)} + ${gb(OVERHEAD)} working memory)`;
  if (typeof deviceMemoryGb === 'number' && deviceMemoryGb < 8 && need > 0.8 * deviceMemoryGb * 1e9) {
    return { text, refuse: `this model ${text}, and this device reports ${deviceMemoryGb} GB of RAM: not loading it` };
  }
  return { text };
}
