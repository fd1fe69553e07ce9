// bench/browser.mjs's side in the tab: a module worker that runs one measurement of
// bench/browser-work.mjs with the browser build (dist/browser.js) and posts the result.
// Message in: { kind: 'gemm' | 'tiny' | 'load' | 'memoryCeiling', opts }; out: { ok, result } | { ok: false, error }.
import * as api from '../dist/browser.js';
import { gemm, load, memoryCeiling, tiny } from './browser-work.mjs';

const WORK = { gemm, tiny, load, memoryCeiling };

self.onmessage = async (e) => {
  const { kind, opts } = e.data;
  try {
    self.postMessage({ ok: true, result: await WORK[kind](api, opts) });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err?.stack ?? err) });
  }
};
