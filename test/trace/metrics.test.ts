// Parity metrics, the tolerance table, the report format and the stage recorder.
import { describe, expect, it } from 'vitest';
import { compare, unravel } from '../../src/trace/metrics.js';
import { StageRecorder } from '../../src/trace/recorder.js';
import { makeTap } from '../../src/trace/tap.js';
import { evaluate, formatLine, formatReport, judge, sortStages, TOLERANCES, toleranceFor } from '../../src/trace/tolerances.js';

const T = (shape: number[], v: number[]) => ({ shape, data: Float32Array.from(v) });

describe('compare', () => {
  it('max abs error with its index and both values; rel to max; cosine; nmse', () => {
    const m = compare('x', T([2, 2], [1, 2, 3, 4.5]), T([2, 2], [1, 2, 3, 4]));
    expect(m.shapeMatch).toBe(true);
    expect(m.maxAbsErr).toBe(0.5);
    expect(m.maxAbsIndex).toBe(3);
    expect([m.gotAtMax, m.wantAtMax]).toEqual([4.5, 4]);
    expect(m.maxMagnitude).toBe(4);
    expect(m.relToMax).toBe(0.125);
    expect(m.maxRelErr).toBe(0.125);
    const dot = 1 + 4 + 9 + 18;
    const ng = Math.sqrt(1 + 4 + 9 + 20.25);
    const nw = Math.sqrt(30);
    expect(m.cosine).toBeCloseTo(dot / (ng * nw), 12);
    expect(m.nmse).toBeCloseTo(0.25 / 30, 12);
    expect(unravel(3, [2, 2])).toEqual([1, 1]);
    expect(unravel(1234, [2, 729, 48])).toEqual([0, 25, 34]);
  });

  it('NaN equals nothing, +Inf equals only +Inf', () => {
    expect(compare('a', T([1], [NaN]), T([1], [NaN])).nonFinite).toBe(1);
    expect(compare('a', T([1], [Infinity]), T([1], [Infinity])).nonFinite).toBe(0);
    expect(compare('a', T([1], [Infinity]), T([1], [Infinity])).maxAbsErr).toBe(0);
    expect(compare('a', T([1], [-Infinity]), T([1], [Infinity])).nonFinite).toBe(1);
    expect(compare('a', T([1], [1e30]), T([1], [Infinity])).maxAbsErr).toBe(Infinity);
    const m = compare('a', T([3], [1, NaN, 3]), T([3], [1, 2, 3]));
    expect(m.maxAbsIndex).toBe(1);
    expect(judge(m, { kind: 'relmax', value: 1, reason: '' })).toBe('NOT OK');
  });

  it('shape mismatch is reported and never OK', () => {
    const m = compare('a', T([2, 3], [1, 2, 3, 4, 5, 6]), T([3, 2], [1, 2, 3, 4, 5, 6]));
    expect(m.shapeMatch).toBe(false);
    expect(evaluate(m).verdict).toBe('NOT OK');
    expect(formatLine(evaluate(m))).toMatch(/shape \[2,3\] vs reference \[3,2\]/);
  });

  it('all-zero stages compare equal (cosine 1, nmse 0)', () => {
    const m = compare('z', T([3], [0, 0, 0]), T([3], [0, 0, 0]));
    expect([m.cosine, m.nmse, m.relToMax]).toEqual([1, 0, 0]);
    expect(evaluate({ ...m, name: 'vit.layers.0' }).verdict).toBe('OK');
    const m2 = compare('z', T([2], [0, 1e-9]), T([2], [0, 0]));
    expect(evaluate({ ...m2, name: 'vit.layers.0' }).verdict).toBe('NOT OK'); // 1e-4 x 0 = 0
  });
});

describe('tolerance table', () => {
  it('has a reason for every row, 1e-4·max per layer and 1e-3 absolute on the logits', () => {
    for (const r of TOLERANCES) {
      expect(r.f32.reason.length).toBeGreaterThan(10);
      if (r.bf16) expect(r.bf16.reason.length).toBeGreaterThan(10);
    }
    expect(toleranceFor('vit.layers.26')).toMatchObject({ kind: 'relmax', value: 1e-4 });
    expect(toleranceFor('llm.layers.3')).toMatchObject({ kind: 'relmax', value: 1e-4 });
    expect(toleranceFor('logits')).toMatchObject({ kind: 'abs', value: 1e-3 });
    expect(toleranceFor('generated_ids')).toMatchObject({ kind: 'exact' });
    expect(toleranceFor('vte.indicators')).toMatchObject({ kind: 'exact' });
    expect(toleranceFor('vit.layers.0', 'bf16').kind).toBe('info');
    expect(toleranceFor('generated_ids', 'bf16').kind).toBe('info');
  });

  it('relmax is relative to the stage max magnitude; abs is absolute', () => {
    const m = compare('vit.layers.1', T([2], [100.009, 1]), T([2], [100, 1]));
    expect(evaluate(m).verdict).toBe('OK'); // 0.009 <= 1e-4 * 100
    const m2 = compare('vit.layers.1', T([2], [100.011, 1]), T([2], [100, 1]));
    expect(evaluate(m2).verdict).toBe('NOT OK');
    expect(evaluate(compare('logits', T([1], [5.0009]), T([1], [5]))).verdict).toBe('OK');
    expect(evaluate(compare('logits', T([1], [5.002]), T([1], [5]))).verdict).toBe('NOT OK');
  });

  it('report: one line per stage in stage order, then overall k/n OK (INFO not counted)', () => {
    const rs = [
      evaluate(compare('logits', T([1], [5]), T([1], [5]))),
      evaluate(compare('vit.layers.10', T([1], [1]), T([1], [1]))),
      evaluate(compare('vit.layers.2', T([1], [2]), T([1], [1]))),
      evaluate(compare('vit.embeddings', T([1], [1]), T([1], [1]))),
      evaluate(compare('vte.embeds', T([1], [1]), T([1], [3])), 'bf16'),
    ];
    const r = formatReport(rs);
    const lines = r.text.split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([
      'vit.embeddings',
      'vit.layers.2',
      'vit.layers.10',
      'vte.embeds',
      'logits',
      'overall:',
    ]);
    expect(lines[1]).toMatch(/maxabs 1\.00e\+0 @\[0\] got 2\.000000 want 1\.000000 .* NOT OK$/);
    expect(lines[3]).toMatch(/INFO$/);
    expect(lines.at(-1)).toBe('overall: 3/4 OK (1 informational)');
    expect(r.ok).toBe(false);
    expect(sortStages(['llm.norm', 'pixel_values', 'llm.layers.1'], (s) => s)).toEqual(['pixel_values', 'llm.layers.1', 'llm.norm']);
  });
});

describe('StageRecorder', () => {
  it('keeps copies (the model may reuse buffers), filters, streams', () => {
    const seen: string[] = [];
    const rec = new StageRecorder({ keep: (n) => n !== 'b', onRecord: (n) => seen.push(n) });
    const tap = makeTap(rec);
    const a = T([2], [1, 2]);
    expect(tap('a', a)).toBe(a);
    a.data[0] = 99;
    tap('b', T([1], [3]));
    expect(Array.from(rec.stages.get('a')!.data)).toEqual([1, 2]);
    expect(rec.stages.has('b')).toBe(false);
    expect(seen).toEqual(['a', 'b']);
    expect(rec.order).toEqual(['a', 'b']);
  });

  it('isolated mode substitutes reference values of the same shape, and rejects other shapes', () => {
    const ref = new Map([
      ['a', T([2], [7, 8])],
      ['c', T([3], [0, 0, 0])],
    ]);
    const rec = new StageRecorder({ reference: ref, isolated: true });
    const tap = makeTap(rec);
    expect(Array.from(tap('a', T([2], [1, 2])).data)).toEqual([7, 8]);
    expect(Array.from(rec.stages.get('a')!.data)).toEqual([1, 2]); // our value is what is recorded
    expect(Array.from(tap('b', T([1], [5])).data)).toEqual([5]); // no reference: unchanged
    expect(() => tap('c', T([2], [1, 1]))).toThrow(/reference c has shape \[3\]/);
    expect(rec.substituted).toEqual(['a']);
    expect(() => new StageRecorder({ isolated: true })).toThrow(/needs a reference/);
  });
});
