// A checkpoint folder on disk as a ModelSource (Node, Deno, Bun). Node-only: the shared readers
// load it with a dynamic import when they are given a path, so the browser build never does.
// Each file is opened once, on its first read, and kept open until close() (a shard is read
// tensor by tensor with positional reads; a 5 GB shard is never read whole).

import { type FileHandle, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { IoError } from '../errors.js';
import { describeFsError, fileProblem } from './fs.js';
import type { ModelSource, Probe } from './source.js';

/** Largest single positional read (fs.read takes at most 2^31-1 bytes per call). */
const READ_CHUNK = 1 << 30;

export class FolderSource implements ModelSource {
  readonly label: string;
  bytesRead = 0;
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private closed = false;

  constructor(readonly dir: string) {
    this.label = dir;
  }

  where(name: string): string {
    return join(this.dir, name);
  }

  async probe(name: string): Promise<Probe | undefined> {
    const problem = await fileProblem(this.where(name));
    if (!problem) {
      const fh = await this.handle(name);
      return { size: (await fh.stat()).size };
    }
    return problem.includes('ENOENT') ? undefined : { problem };
  }

  async readInto(name: string, offset: number, dst: Uint8Array): Promise<void> {
    const fh = await this.handle(name);
    let done = 0;
    while (done < dst.length) {
      const len = Math.min(READ_CHUNK, dst.length - done);
      const { bytesRead } = await fh.read(dst, done, len, offset + done);
      if (bytesRead === 0) {
        throw new IoError(
          this.where(name),
          `unexpected end of file at byte ${offset + done} (wanted ${dst.length - done} more bytes)`,
          'the file shrank after it was opened, or is truncated',
        );
      }
      done += bytesRead;
      this.bytesRead += bytesRead;
    }
  }

  private handle(name: string): Promise<FileHandle> {
    if (this.closed) return Promise.reject(new IoError(this.where(name), 'read after close()'));
    let h = this.handles.get(name);
    if (!h) {
      const path = this.where(name);
      h = open(path, 'r').catch((e) => {
        this.handles.delete(name);
        throw new IoError(path, `cannot open: ${describeFsError(e)}`);
      });
      this.handles.set(name, h);
    }
    return h;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(
      all.map((h) =>
        h.then(
          (fh) => fh.close(),
          () => {},
        ),
      ),
    );
  }
}

/** One file by path, as a source and its name in it (SafetensorsFile.open). The source's
 *  `where(name)` is `path` itself (dirname + basename). */
export function fileSource(path: string): { source: FolderSource; name: string } {
  return { source: new FolderSource(dirname(path)), name: basename(path) };
}
