// Grid choice, crop boxes and placeholders: hand-computed cases (docs/design.md#checkpoint-facts-and-token-counts),
// and chooseGrid against a literal transcription of Ovis's sort-based selection over many sizes.
import { describe, expect, it } from 'vitest';
import { IMAGE_ATOM_ID } from '../../src/constants.js';
import { buildPlaceholders, chooseGrid, coveringArea, type Grid, partition, rankGrids, targetSize } from '../../src/image/index.js';

const tokens = (grid: Grid) => {
  const p = buildPlaceholders(grid);
  const atoms = p.filter((x) => x === IMAGE_ATOM_ID).length;
  return p.length - atoms + atoms * 196;
};

describe('Ovis1.6 partitioning', () => {
  it('1280x720 -> (2,4): 9 crops, 1774 tokens; 4000x3000 -> (3,3): 1971; one crop: 199', () => {
    expect(chooseGrid(1280, 720, 9)).toEqual([2, 4]);
    expect(tokens([2, 4])).toBe(1774);
    expect(chooseGrid(4000, 3000, 9)).toEqual([3, 3]);
    expect(tokens([3, 3])).toBe(1971);
    expect(chooseGrid(384, 384, 9)).toEqual([1, 1]);
    expect(tokens([1, 1])).toBe(199);
  });
  it('covering ratios of 1280x720 by hand', () => {
    const r = new Map(rankGrids(1280, 720, 9).map((c) => [c.grid.join('x'), c.ratio]));
    // (1,1): 1280x720 -> 384x216 = 82944 of 921600
    expect(r.get('1x1')).toBe(82944 / 921600);
    // (2,2): four 640x360 -> 384x216 each
    expect(r.get('2x2')).toBe((4 * 82944) / 921600);
    // (2,4): eight 320x360 cells all fit in 384 -> everything covered
    expect(r.get('2x4')).toBe(1);
    expect(r.size).toBe(23); // pairs with rows*cols <= 9
  });
  it('boxes: equal cells, remainder on the last row/col', () => {
    expect(partition(10, 7, [2, 3])).toEqual([
      [0, 0, 3, 3],
      [3, 0, 6, 3],
      [6, 0, 10, 3],
      [0, 3, 3, 7],
      [3, 3, 6, 7],
      [6, 3, 10, 7],
    ]);
    expect(coveringArea([0, 0, 800, 400], 384)).toBe(384 * 192);
    expect(coveringArea([0, 0, 100, 300], 384)).toBe(30000);
  });
  it('target sizes truncate like Python int()', () => {
    expect(targetSize(1280, 720, 384)).toEqual([384, 216]);
    expect(targetSize(1333, 1000, 384)).toEqual([384, 288]); // 288.07 -> 288
    expect(targetSize(1000, 1333, 384)).toEqual([288, 384]);
    expect(targetSize(13, 800, 384)).toEqual([6, 384]); // 6.24 -> 6
    expect(targetSize(1, 800, 384)).toEqual([0, 384]); // the reference fails on this one
  });
  it('chooseGrid == a literal transcription of Ovis _get_best_grid (stable sorts), 2000 random sizes', () => {
    const ovis = (w: number, h: number, mp: number): Grid => {
      const all: Array<[Grid, number]> = [];
      for (let i = 1; i <= mp; i++)
        for (let j = 1; j <= mp; j++) {
          if (i * j > mp) continue;
          const ratio =
            partition(w, h, [i, j])
              .map((b) => coveringArea(b, 384))
              .reduce((a, b) => a + b, 0) /
            (w * h);
          all.push([[i, j], ratio]);
        }
      const good = all.filter(([, r]) => r > 0.9);
      const cmp = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1];
      if (good.length) return good.slice().sort((a, b) => cmp([a[0][0] * a[0][1], -a[1]], [b[0][0] * b[0][1], -b[1]]))[0][0];
      return all.slice().sort((a, b) => cmp([-a[1], a[0][0] * a[0][1]], [-b[1], b[0][0] * b[0][1]]))[0][0];
    };
    let s = 42;
    const rnd = (n: number) => 1 + ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n);
    for (let k = 0; k < 2000; k++) {
      const w = k % 3 === 0 ? rnd(400) : rnd(5000);
      const h = k % 5 === 0 ? rnd(400) : rnd(5000);
      const mp = rnd(12);
      expect(chooseGrid(w, h, mp), `${w}x${h} mp=${mp}`).toEqual(ovis(w, h, mp));
    }
  });
  it('placeholders: [I0, A, I1, I4] for one crop; rows of atoms joined by I2, rows by I3', () => {
    expect(buildPlaceholders([1, 1])).toEqual([-301, -300, -302, -305]);
    expect(buildPlaceholders([2, 3])).toEqual([-301, -300, -302, -300, -303, -300, -303, -300, -304, -300, -303, -300, -303, -300, -305]);
    expect(buildPlaceholders([3, 1])).toEqual([-301, -300, -302, -300, -304, -300, -304, -300, -305]);
  });
});
