// Stage taps. A forward pass names each intermediate with the stage names of docs/design.md#stage-names
// (`vit.layers.3`, `vt.tokens`, `llm.layers.0`, ...). `tap(name, t)` returns `t` unchanged; it
// records only when a recorder is attached, so the model code reads the same either way.

import type { Tensor } from '../tensor.js';

export interface Recorder {
  /** Called with each named stage; the recorder may copy the data (the model may reuse buffers). */
  record(name: string, t: Tensor): void;
  /** Isolated parity: if the recorder returns a tensor, the model continues from it instead of
   *  its own value (the reference's input to the next stage). Optional. */
  substitute?(name: string, t: Tensor): Tensor | undefined;
}

export type Tap = (name: string, t: Tensor) => Tensor;

/** A tap that does nothing. */
export const noTap: Tap = (_name, t) => t;

/** Build a tap from an optional recorder. */
export function makeTap(rec?: Recorder): Tap {
  if (!rec) return noTap;
  return (name, t) => {
    rec.record(name, t);
    return rec.substitute?.(name, t) ?? t;
  };
}
