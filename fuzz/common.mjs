// Shared by the fuzz harness (run.mjs) and its worker (child.mjs): the target registry and the
// outcome classifier.

import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * How much longer than on an idle machine an honest case may take right now: on cores shared with
 * other processes (load average above the core count) a case runs about load/cores times slower
 * (a tiny-model `ovis run` took 13.5 s wall for 4.8 s of CPU at load 11 on 2 cores). Watchdogs
 * multiply their budget by this, at most 4x, so a HANG still means a hang, not a busy machine.
 */
export function contentionFactor() {
  return Math.min(4, Math.max(1, loadavg()[0] / availableParallelism()));
}

/** Target name -> module (fuzz/targets/*.mjs). Each exports name, setup, generate, run. */
export const TARGET_FILES = {
  safetensors: 'safetensors.mjs',
  checkpoint: 'checkpoint.mjs',
  config: 'config.mjs',
  'image-png': 'image.mjs',
  'image-jpeg': 'image.mjs',
  'image-bmp': 'image.mjs',
  'image-gif': 'image.mjs',
  'image-webp': 'image.mjs',
  tokenizer: 'tokenizer.mjs',
  chat: 'chat.mjs',
  cli: 'cli.mjs',
  server: 'server.mjs',
};

export async function loadTarget(name) {
  const file = TARGET_FILES[name];
  if (!file) throw new Error(`unknown target '${name}' (targets: ${Object.keys(TARGET_FILES).join(', ')})`);
  const mod = await import(`./targets/${file}`);
  return mod.forTarget ? mod.forTarget(name) : mod;
}

/** The top frames of a stack, without the message line(s). */
export function stackTop(e, n = 4) {
  const s = typeof e?.stack === 'string' ? e.stack : '';
  return s
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, n)
    .map((l) => l.trim())
    .join(' | ');
}

/** A thrown value -> typed (an OvisError with a code: the expected rejection) or untyped (a bug). */
export function classifyError(e, lib) {
  if (e instanceof lib.OvisError && typeof e.code === 'string' && e.code) {
    return { outcome: 'typed', code: e.code, message: String(e.message).split('\n')[0].slice(0, 300) };
  }
  const name = e?.constructor?.name ?? typeof e;
  return {
    outcome: 'untyped',
    code: name,
    message: `${name}: ${String(e?.message ?? e)
      .split('\n')[0]
      .slice(0, 300)}`,
    stack: stackTop(e),
  };
}
