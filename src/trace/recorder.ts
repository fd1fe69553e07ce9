// A stage recorder for `tap` (src/trace/tap.ts): keeps f32 copies of the named stages the
// forward produces (the model may reuse buffers), optionally only some of them, optionally
// streams them to a callback (parity can compare on the fly instead of keeping everything),
// and in isolated mode substitutes the reference's own value of each stage, so the next stage
// starts from the reference's input and errors do not compound.

import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { Recorder } from './tap.js';

export interface ReferenceSource {
  /** The reference's value of a stage (F32), or undefined if the dump does not have it. */
  get(name: string): Tensor | undefined;
}

export interface StageRecorderOptions {
  /** Which stages to keep copies of (default: all). */
  keep?: (name: string) => boolean;
  /** Called with every stage as it is produced (no copy: use it before returning). */
  onRecord?: (name: string, t: Tensor) => void;
  /** Reference values for isolated mode. */
  reference?: ReferenceSource;
  /** Substitute reference values (needs `reference`). */
  isolated?: boolean;
}

export class StageRecorder implements Recorder {
  readonly stages = new Map<string, Tensor>();
  /** Stage names in the order they were produced. */
  readonly order: string[] = [];
  /** Stages that were replaced by the reference's value (isolated mode). */
  readonly substituted: string[] = [];

  constructor(private readonly opts: StageRecorderOptions = {}) {
    if (opts.isolated && !opts.reference) throw new ShapeError('StageRecorder: isolated mode needs a reference');
  }

  record(name: string, t: Tensor): void {
    this.order.push(name);
    this.opts.onRecord?.(name, t);
    if (this.opts.keep && !this.opts.keep(name)) return;
    this.stages.set(name, { shape: [...t.shape], data: t.data.slice() });
  }

  substitute(name: string, t: Tensor): Tensor | undefined {
    if (!this.opts.isolated) return undefined;
    const ref = this.opts.reference!.get(name);
    if (!ref) return undefined;
    if (ref.shape.length !== t.shape.length || ref.shape.some((d, i) => d !== t.shape[i])) {
      throw new ShapeError(
        `isolated parity: reference ${name} has shape [${ref.shape}], the model produced [${t.shape}]`,
        'the dump and the checkpoint/inputs differ (another image, prompt or max_partition?)',
      );
    }
    this.substituted.push(name);
    return { shape: [...ref.shape], data: ref.data.slice() }; // a copy: the model may write into it
  }
}
