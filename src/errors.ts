// Typed errors. Library code throws these; only the CLI turns them into exit codes.
// Every message says what went wrong, where (file / tensor / JSON path / field), what was
// expected versus what was found, and — when there is one — a hint on what to do.

export type OvisErrorCode =
  | 'SAFETENSORS' // a .safetensors file or its index is malformed
  | 'CHECKPOINT' // a checkpoint directory lacks or mis-shapes tensors
  | 'CONFIG' // config.json / *_config.json invalid
  | 'IMAGE' // image decode / size guard
  | 'TOKENIZER' // tokenizer.json invalid or unsupported
  | 'INPUT' // user input (prompt, options) invalid
  | 'SHAPE' // tensor shapes disagree inside an op
  | 'BACKEND' // backend / wasm / threads
  | 'FIXTURE' // reference fixture missing or of the wrong format version
  | 'HUB' // Hugging Face Hub: model not in the cache, download / HTTP failures
  | 'USAGE' // CLI usage
  | 'IO'; // a file the user named cannot be read or written (missing, a directory, a FIFO, no space)

export class OvisError extends Error {
  readonly code: OvisErrorCode;
  readonly hint?: string;
  constructor(code: OvisErrorCode, message: string, hint?: string) {
    super(hint ? `${message}\nHint: ${hint}` : message);
    this.code = code;
    this.hint = hint;
    this.name = new.target.name;
  }
}

export class SafetensorsError extends OvisError {
  constructor(
    readonly file: string,
    message: string,
    hint?: string,
  ) {
    super('SAFETENSORS', `${file}: ${message}`, hint);
  }
}
export class CheckpointError extends OvisError {
  constructor(message: string, hint?: string) {
    super('CHECKPOINT', message, hint);
  }
}
export class ConfigError extends OvisError {
  /** `problems` lists every problem found (validation reports all at once). */
  constructor(
    readonly file: string,
    readonly problems: string[],
    hint?: string,
  ) {
    super('CONFIG', `${file}: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`, hint);
  }
}
export class ImageError extends OvisError {
  constructor(message: string, hint?: string) {
    super('IMAGE', message, hint);
  }
}
export class TokenizerError extends OvisError {
  constructor(message: string, hint?: string) {
    super('TOKENIZER', message, hint);
  }
}
export class InputError extends OvisError {
  constructor(message: string, hint?: string) {
    super('INPUT', message, hint);
  }
}
export class ShapeError extends OvisError {
  constructor(message: string, hint?: string) {
    super('SHAPE', message, hint);
  }
}
export class BackendError extends OvisError {
  constructor(message: string, hint?: string) {
    super('BACKEND', message, hint);
  }
}
export class FixtureError extends OvisError {
  constructor(message: string, hint?: string) {
    super('FIXTURE', message, hint);
  }
}
export class IoError extends OvisError {
  /** `reason`: the message without the path (a reader that wraps it names the file its own way). */
  constructor(
    readonly path: string,
    readonly reason: string,
    hint?: string,
  ) {
    super('IO', `${path}: ${reason}`, hint);
  }
}
export class UsageError extends OvisError {
  constructor(message: string, hint?: string) {
    super('USAGE', message, hint);
  }
}
/** Hub cache lookups and downloads. `status` / `hubCode` carry the HTTP status and the Hub's
 *  X-Error-Code header (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) when there was one. */
export class HubError extends OvisError {
  constructor(
    message: string,
    hint?: string,
    readonly status?: number,
    readonly hubCode?: string,
  ) {
    super('HUB', message, hint);
  }
}
