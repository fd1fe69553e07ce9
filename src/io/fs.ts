// Small file-system helpers shared by the loaders and the CLI: existence, "is this a file we can
// read", and Node's errno codes in words. Every path a user names goes through fileProblem()
// before it is opened: a directory gives EISDIR only at read time, and opening a FIFO or a
// character device blocks forever (or reads without end), so those are refused by kind first.

import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** True when `p` exists. `stat`, not `access`: Deno's node:fs `access` asks for the `sys`
 *  permission (it reads the uid), so `deno run --allow-read` would fail on a plain lookup. */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Node's errno codes in words, for messages ("no such file or directory (ENOENT)"). */
export function describeFsError(e: unknown): string {
  const code = (e as { code?: string })?.code;
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EISDIR: 'is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EEXIST: 'already exists',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
    EMFILE: 'too many open files',
    ENAMETOOLONG: 'the name is too long',
    ELOOP: 'too many symbolic links',
  };
  if (code && Object.hasOwn(words, code)) return `${words[code]} (${code})`;
  return code ? `${(e as Error).message} (${code})` : String((e as Error)?.message ?? e);
}

/** Why `p` cannot be read as a regular file (missing, a directory, a FIFO/socket/device), or
 *  undefined when it can. Follows symlinks, so a link to a FIFO is refused too. */
export async function fileProblem(p: string): Promise<string | undefined> {
  let st: Stats;
  try {
    st = await stat(p);
  } catch (e) {
    return describeFsError(e);
  }
  if (st.isDirectory()) return 'is a directory, expected a file';
  if (!st.isFile()) return 'is not a regular file (a FIFO, socket or device): refused, reading it could block or never end';
  return undefined;
}

/** Why a file cannot be created at `p` (its folder is missing or not a folder, or `p` is a
 *  directory), or undefined. Checked before long work, so a typo in --out fails at once. */
export async function outputProblem(p: string): Promise<string | undefined> {
  const target = await stat(p).catch(() => undefined);
  if (target?.isDirectory()) return 'is a directory, expected a file name';
  if (target && !target.isFile()) return 'is not a regular file (a FIFO, socket or device)';
  const dir = dirname(resolve(p));
  const parent = await stat(dir).catch((e) => e as Error);
  if (parent instanceof Error) return `its folder ${dir}: ${describeFsError(parent)}`;
  if (!parent.isDirectory()) return `its folder ${dir} is not a directory`;
  return undefined;
}
