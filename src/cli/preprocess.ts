// `ovis preprocess --image PATH [--image PATH2 ...] [--max-partition N] --out FILE.safetensors
//  [--png DIR] [--explain]` — run Ovis1.6 image preprocessing (src/image/) and write the
// `pixel_values` stage [n, 3, 384, 384] F32 and `grid` [images, 2] I64 (rows, cols per image),
// with the placeholders and crop boxes in the metadata. `--png DIR` writes every crop as a
// viewable PNG (denormalised: x * 0.5 + 0.5, x255) so a person can see what the model sees.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { IMAGE_ATOM_ID } from '../constants.js';
import { UsageError } from '../errors.js';
import {
  DEFAULT_COVERING_THRESHOLD,
  DEFAULT_IMAGE_SIZE,
  DEFAULT_MAX_PARTITION,
  decodeImage,
  type Preprocessed,
  preprocessImage,
  rankGrids,
} from '../image/index.js';
import { writeSafetensors } from '../io/safetensors.js';
import { readImageFile } from '../runner.js';
import { checkOutputDir, checkOutputFile, floatOption, formatOptions, type OptionSpecs, parseOptions } from './common.js';

const OPTIONS = {
  image: {
    type: 'string',
    multiple: true,
    arg: 'PATH',
    required: true,
    help: 'PNG or JPEG (repeat for several images; pixel_values are concatenated)',
  },
  out: { type: 'string', arg: 'FILE', default: 'none; required unless --png or --explain', help: 'output .safetensors' },
  'max-partition': { type: 'string', arg: 'N', default: String(DEFAULT_MAX_PARTITION), help: 'Ovis max_partition' },
  'covering-threshold': { type: 'string', arg: 'X', default: String(DEFAULT_COVERING_THRESHOLD), help: 'Ovis covering_threshold' },
  png: { type: 'string', arg: 'DIR', default: 'none', help: 'also write each crop as a PNG (denormalised, padding shows as gray)' },
  explain: { type: 'boolean', help: 'print every candidate grid with its covering ratio' },
  exif: { type: 'boolean', help: 'apply EXIF orientation (HF/Ovis do not)' },
  'max-pixels': { type: 'string', arg: 'N', default: "Pillow's MAX_IMAGE_PIXELS, 89478485", help: 'refuse larger images' },
} as const satisfies OptionSpecs;

const HELP = `usage: ovis preprocess --image PATH [--image PATH ...] --out FILE.safetensors [options]

Ovis1.6 image preprocessing (bit-exact with Pillow + HF SiglipImageProcessor): best grid,
crops (global view first), Pillow BICUBIC resize, rescale/normalise, centred zero padding.
Writes pixel_values [n,3,384,384] F32 and grid [images,2] I64; metadata holds placeholders and boxes.

options:
${formatOptions(OPTIONS)}`;

function intOpt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name}: expected an integer >= 1, got ${JSON.stringify(v)}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseOptions('preprocess', argv, OPTIONS);
  const o = parsed.values;
  if (o.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const images = o.image ?? [];
  if (images.length === 0) throw new UsageError('--image is required', 'ovis preprocess --image photo.jpg --out pv.safetensors');
  if (!o.out && !o.png && !o.explain) throw new UsageError('nothing to do: give --out, --png or --explain');
  if (o.out) await checkOutputFile('out', o.out);
  if (o.png) await checkOutputDir('png', o.png);
  const maxPartition = intOpt('max-partition', o['max-partition'], DEFAULT_MAX_PARTITION);
  const maxPixels = o['max-pixels'] === undefined ? undefined : intOpt('max-pixels', o['max-pixels'], 0);
  // a covering ratio is a fraction of the image area
  const coveringThreshold = floatOption('covering-threshold', o['covering-threshold'], 0, 1) ?? DEFAULT_COVERING_THRESHOLD;

  const results: Preprocessed[] = [];
  for (const path of images) {
    const bytes = await readImageFile(path); // typed errors for missing files, folders, FIFOs
    const t = performance.now();
    const img = decodeImage(bytes, { label: path, maxPixels, applyExifOrientation: o.exif });
    const p = preprocessImage(img, { maxPartition, coveringThreshold, label: path });
    const atoms = p.placeholders.filter((x) => x === IMAGE_ATOM_ID).length;
    const tokens = p.placeholders.length - atoms + atoms * 196; // 196 visual tokens per crop
    process.stderr.write(
      `${path}: ${img.width}x${img.height} -> grid ${p.grid[0]}x${p.grid[1]}, ${p.n} crop(s), ` +
        `${tokens} LLM positions (${(performance.now() - t).toFixed(0)} ms)\n`,
    );
    if (o.explain) process.stdout.write(explain(img.width, img.height, maxPartition, coveringThreshold, p));
    if (o.png) await writeCropPngs(o.png, images.length > 1 ? results.length : -1, p);
    results.push(p);
  }

  if (o.out) {
    const n = results.reduce((a, p) => a + p.n, 0);
    const S = DEFAULT_IMAGE_SIZE;
    const pixelValues = new Float32Array(n * 3 * S * S); // [n, 3, S, S]
    let off = 0;
    for (const p of results) {
      pixelValues.set(p.pixelValues, off);
      off += p.pixelValues.length;
    }
    const grid = new BigInt64Array(results.length * 2); // [images, 2] (rows, cols)
    results.forEach((p, i) => {
      grid[2 * i] = BigInt(p.grid[0]);
      grid[2 * i + 1] = BigInt(p.grid[1]);
    });
    await writeSafetensors(
      o.out,
      [
        { name: 'pixel_values', dtype: 'F32', shape: [n, 3, S, S], data: pixelValues },
        { name: 'grid', dtype: 'I64', shape: [results.length, 2], data: grid },
      ],
      {
        format: 'pt',
        images: JSON.stringify(images),
        max_partition: String(maxPartition),
        placeholders: JSON.stringify(results.map((p) => p.placeholders)),
        boxes: JSON.stringify(results.map((p) => p.boxes)),
      },
    );
    process.stderr.write(`wrote ${o.out}: pixel_values [${n},3,${S},${S}] F32, grid [${results.length},2] I64\n`);
  }
  return 0;
}

function explain(w: number, h: number, maxPartition: number, threshold: number, p: Preprocessed): string {
  const rows = rankGrids(w, h, maxPartition, threshold).map((c) => {
    const chosen = c.grid[0] === p.grid[0] && c.grid[1] === p.grid[1];
    return `| ${c.grid[0]}x${c.grid[1]} | ${c.grid[0] * c.grid[1]} | ${c.ratio.toFixed(4)} | ${c.good ? 'yes' : ''} | ${chosen ? '**chosen**' : ''} |`;
  });
  const boxes = p.boxes.map(
    (b, i) => `| ${i} | ${i === 0 && p.n > 1 ? 'global' : 'cell'} | ${b.join(', ')} | ${b[2] - b[0]}x${b[3] - b[1]} |`,
  );
  return (
    [
      `${w}x${h}, max_partition ${maxPartition}, covering_threshold ${threshold}`,
      '',
      `| grid (rows x cols) | cells | covering ratio | > ${threshold} | |`,
      '|---|---:|---:|---|---|',
      ...rows,
      '',
      '| crop | kind | box (left, top, right, bottom) | size |',
      '|---:|---|---|---|',
      ...boxes,
      '',
      `placeholders: [${p.placeholders.join(', ')}]`,
      '',
    ].join('\n') + '\n'
  );
}

async function writeCropPngs(dir: string, imageIndex: number, p: Preprocessed): Promise<void> {
  await mkdir(dir, { recursive: true });
  const S = DEFAULT_IMAGE_SIZE;
  const plane = S * S;
  for (let i = 0; i < p.n; i++) {
    const rgba = Buffer.alloc(plane * 4); // [S, S, 4]
    const base = i * 3 * plane;
    for (let j = 0; j < plane; j++) {
      for (let c = 0; c < 3; c++) {
        // invert (x/255 - 0.5) / 0.5; padding (0.0) shows as mid gray
        const v = Math.round((p.pixelValues[base + c * plane + j] * 0.5 + 0.5) * 255);
        rgba[j * 4 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      rgba[j * 4 + 3] = 255;
    }
    let name: string;
    if (i === 0 && p.n > 1) name = 'global';
    else {
      const k = p.n > 1 ? i - 1 : 0;
      name = p.n > 1 ? `r${Math.floor(k / p.grid[1])}c${k % p.grid[1]}` : 'single';
    }
    const prefix = imageIndex >= 0 ? `img${imageIndex}_` : '';
    const file = join(dir, `${prefix}crop${String(i).padStart(2, '0')}_${name}.png`);
    await writeFile(file, PNG.sync.write({ width: S, height: S, data: rgba } as never, { colorType: 2 }));
    process.stderr.write(`  ${file} (box ${p.boxes[i].join(',')})\n`);
  }
}
