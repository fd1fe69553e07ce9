// Small file-system helpers shared by the loaders.

import { stat } from 'node:fs/promises';

/** True when `p` exists. `stat`, not `access`: Deno's node:fs `access` asks for the `sys`
 *  permission (it reads the uid), so `deno run --allow-read` would fail on a plain lookup. */
export async function pathExists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}
