// A checkpoint from files the user picked in a browser: `<input type=file webkitdirectory>`
// (File objects whose webkitRelativePath is "folder/config.json"), a drop, or the File System
// Access API (`showDirectoryPicker()`: see filesFromDirectoryHandle). Tensors are read with
// Blob.slice(...).stream(), chunk by chunk into their destination: a shard is never held whole.

import { IoError } from '../errors.js';
import { type ModelSource, type Probe, streamInto } from './source.js';

/** The little of File that is used (a Blob with a name; webkitRelativePath when from a folder pick). */
export interface NamedBlob {
  readonly name: string;
  readonly size: number;
  readonly webkitRelativePath?: string;
  slice(start?: number, end?: number): Blob;
}

export class BlobSource implements ModelSource {
  readonly label: string;
  bytesRead = 0;
  private readonly files = new Map<string, NamedBlob>();
  private closed = false;

  /** `files`: the picked files (every file of the folder, or just the checkpoint's). Files in
   *  sub-folders of the picked folder are ignored (a checkpoint is flat). `label`: default the
   *  picked folder's name. */
  constructor(files: Iterable<NamedBlob>, opts: { label?: string; onBytes?: (chunk: number, total: number) => void } = {}) {
    let folder: string | undefined;
    for (const f of files) {
      const rel = f.webkitRelativePath || f.name;
      const parts = rel.split('/');
      if (parts.length > 2) continue; // a sub-folder
      folder ??= parts.length === 2 ? parts[0] : undefined;
      this.files.set(parts[parts.length - 1], f);
    }
    this.label = opts.label ?? `folder '${folder ?? '(picked files)'}'`;
    this.onBytes = opts.onBytes;
  }

  private readonly onBytes?: (chunk: number, total: number) => void;

  where(name: string): string {
    return `${this.label}/${name}`;
  }

  async probe(name: string): Promise<Probe | undefined> {
    const f = this.files.get(name);
    return f ? { size: f.size } : undefined;
  }

  async readInto(name: string, offset: number, dst: Uint8Array): Promise<void> {
    const f = this.files.get(name);
    if (this.closed) throw new IoError(this.where(name), 'read after close()');
    if (!f) throw new IoError(this.where(name), 'no such file in the picked folder');
    if (offset + dst.length > f.size) {
      throw new IoError(
        this.where(name),
        `unexpected end of file at byte ${f.size} (wanted bytes ${offset}-${offset + dst.length - 1})`,
        'the file is truncated',
      );
    }
    let stream: ReadableStream<Uint8Array>;
    try {
      stream = f.slice(offset, offset + dst.length).stream();
    } catch (e) {
      throw new IoError(
        this.where(name),
        `cannot read: ${(e as Error).message}`,
        'was the file changed or removed after it was picked? pick the folder again',
      );
    }
    await streamInto(stream, dst, this.where(name), (n) => {
      this.bytesRead += n;
      this.onBytes?.(n, this.bytesRead);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.files.clear();
  }
}

/** The files of a directory picked with the File System Access API (`showDirectoryPicker()`),
 *  top level only, as BlobSource takes them. */
export async function filesFromDirectoryHandle(dir: {
  name: string;
  values(): AsyncIterable<{ kind: string; name: string; getFile?: () => Promise<File> }>;
}): Promise<NamedBlob[]> {
  const out: NamedBlob[] = [];
  for await (const h of dir.values()) {
    if (h.kind === 'file' && h.getFile) {
      const f = await h.getFile();
      out.push({ name: f.name, size: f.size, webkitRelativePath: `${dir.name}/${f.name}`, slice: (a, b) => f.slice(a, b) });
    }
  }
  return out;
}
