// `ovis preprocess`: the .safetensors it writes holds the golden pixel_values and the grid,
// and --png writes one viewable 384x384 PNG per crop.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/preprocess.js';
import { decodeImage } from '../../src/image/index.js';
import { loadGolden, ROOT, sha256 } from './golden.js';

const dir = mkdtempSync(join(tmpdir(), 'ovis-preprocess-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Minimal independent safetensors parse: u64 LE header length, JSON header, raw data. */
function readSafetensors(path: string) {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const data = b.subarray(8 + n);
  const get = (k: string) => {
    const [s, e] = header[k].data_offsets;
    return { dtype: header[k].dtype, shape: header[k].shape, bytes: new Uint8Array(data.subarray(s, e)) };
  };
  return { header, get };
}

describe('ovis preprocess', () => {
  it('writes pixel_values (F32) and grid (I64) equal to the golden, and crop PNGs', async () => {
    const golden = loadGolden().preprocess.find(
      (c) => c.source.kind === 'file' && c.source.file.endsWith('images/wide.png') && c.max_partition === 9,
    )!;
    const out = join(dir, 'pv.safetensors');
    const pngDir = join(dir, 'png');
    const code = await main([
      '--image',
      join(ROOT, 'reference/fixtures/images/wide.png'),
      '--max-partition',
      '9',
      '--out',
      out,
      '--png',
      pngDir,
    ]);
    expect(code).toBe(0);
    const st = readSafetensors(out);
    const pv = st.get('pixel_values');
    expect([pv.dtype, pv.shape]).toEqual(['F32', [golden.n, 3, 384, 384]]);
    expect(sha256(pv.bytes)).toBe(golden.sha256);
    const grid = st.get('grid');
    expect([grid.dtype, grid.shape, Array.from(new BigInt64Array(grid.bytes.buffer), Number)]).toEqual(['I64', [1, 2], golden.grid]);
    expect(JSON.parse(st.header.__metadata__.placeholders)).toEqual([golden.placeholders]);
    const pngs = readdirSync(pngDir).sort();
    expect(pngs.length).toBe(golden.n);
    const crop = decodeImage(new Uint8Array(readFileSync(join(pngDir, pngs[0]))));
    expect([crop.width, crop.height]).toEqual([384, 384]);
  });
  it('usage errors are typed', async () => {
    await expect(main([])).rejects.toThrow(/--image is required/);
    await expect(main(['--image', 'x.png', '--out', 'y', '--max-partition', '0'])).rejects.toThrow(
      /--max-partition: expected an integer >= 1/,
    );
    await expect(main(['--image', join(dir, 'missing.png'), '--out', join(dir, 'z')])).rejects.toThrow(/cannot read.*\(ENOENT\)/);
  });
});
