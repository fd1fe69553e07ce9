// Shared by the fuzz harness (run.mjs) and its worker (child.mjs): the target registry and the
// outcome classifier.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

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
