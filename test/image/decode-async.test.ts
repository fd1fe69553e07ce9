// The browser's PNG path, in Node: with node:zlib hidden (process.getBuiltinModule answers
// undefined for it, as a browser has no `process`), decodeImage refuses PNGs and names
// decodeImageAsync, and decodeImageAsync inflates with DecompressionStream and gives Pillow's
// exact bytes for every PNG golden (colour types, bit depths, interlace, palettes). The limits
// run before anything is inflated, and corrupt data is still an ImageError.

import { deflateSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { decodeImage, decodeImageAsync } from '../../src/image/index.js';
import { hasInflateSync, inflateAsync } from '../../src/image/inflate.js';
import { loadGolden, readFixtureChecked, sha256 } from './golden.js';
import { png } from './png-bytes.js';

const golden = loadGolden();
const pngs = golden.decode.filter((d) => d.file.endsWith('.png') && d.rgb_sha256);

describe('PNG without node:zlib (the browser path)', () => {
  const real = process.getBuiltinModule;
  beforeEach(() => {
    process.getBuiltinModule = ((id: string) => (id === 'node:zlib' || id === 'zlib' ? undefined : real(id))) as typeof real;
  });
  afterEach(() => {
    process.getBuiltinModule = real;
  });

  it('hides zlib: decodeImage refuses a PNG and names decodeImageAsync', () => {
    expect(hasInflateSync()).toBe(false);
    const bytes = readFixtureChecked(golden, pngs[0].file);
    expect(() => decodeImage(bytes)).toThrow(/decodeImageAsync/);
  });

  it.each(pngs.map((d) => [d.file.split('/').pop(), d] as const))('%s equals Pillow', async (_n, d) => {
    const img = await decodeImageAsync(readFixtureChecked(golden, d.file), { label: d.file });
    expect([img.width, img.height]).toEqual([d.width, d.height]);
    expect(sha256(img.data)).toBe(d.rgb_sha256);
  });

  it('refuses by the header before inflating, and reports corrupt or short data', async () => {
    // 100000x100000: the pixel guard, nothing inflated
    const huge = png(100000, 100000, deflateSync(new Uint8Array(10)));
    await expect(decodeImageAsync(huge)).rejects.toThrow(/exceeds the limit/);
    // data that inflates to less than the header implies
    const short = png(4, 4, deflateSync(new Uint8Array(10)));
    await expect(decodeImageAsync(short)).rejects.toThrow(/truncated: 10 of 52 bytes/);
    // data that inflates to more (a bomb is cut at the bound)
    const long = png(4, 4, deflateSync(new Uint8Array(1 << 20)));
    await expect(decodeImageAsync(long)).rejects.toThrow(ImageError);
    await expect(decodeImageAsync(long)).rejects.toThrow(/does not inflate to the 52 bytes/);
    // not zlib at all
    const junk = png(4, 4, Uint8Array.of(1, 2, 3, 4, 5));
    await expect(decodeImageAsync(junk)).rejects.toThrow(/does not inflate/);
  });
});

describe('inflateAsync', () => {
  it("returns zlib's bytes, and stops past the bound", async () => {
    const raw = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
    const z = deflateSync(raw);
    expect(Buffer.from(await inflateAsync(z, raw.length + 1)).equals(Buffer.from(raw))).toBe(true);
    await expect(inflateAsync(z, 1000)).rejects.toThrow(/more than 1000 bytes/);
  });
});
