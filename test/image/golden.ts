// Loads reference/fixtures/image/golden.json (written by reference/image_golden.py) and small
// helpers shared by the image tests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixtureError } from '../../src/errors.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FORMAT_VERSION = 1;

export interface PreprocessCase {
  source: { kind: 'file'; file: string } | { kind: 'synth'; seed: number; width: number; height: number };
  max_partition: number;
  n?: number;
  grid?: [number, number];
  placeholders?: number[];
  sha256?: string;
  error?: string;
}
export interface Golden {
  format_version: number;
  provenance: Record<string, string>;
  decode: Array<{
    file: string;
    file_sha256: string;
    mode: string;
    width: number;
    height: number;
    rgb_sha256?: string;
    pillow_decoded?: string;
    error?: string;
  }>;
  preprocess: PreprocessCase[];
  resize: Array<{ seed: number; width: number; height: number; out_width: number; out_height: number; sha256: string; raw?: string }>;
  exif: Array<{ file: string; orientation: number; rgb_sha256: string; transposed_sha256: string; transposed_size: [number, number] }>;
  synth_check: Array<{ seed: number; width: number; height: number; sha256: string }>;
}

export function loadGolden(): Golden {
  const path = join(ROOT, 'reference/fixtures/image/golden.json');
  let g: Golden;
  try {
    g = JSON.parse(readFileSync(path, 'utf8')) as Golden;
  } catch (e) {
    throw new FixtureError(`${path}: cannot read (${(e as Error).message})`, 'regenerate: npm run fixtures');
  }
  if (g.format_version !== FORMAT_VERSION) {
    throw new FixtureError(
      `${path}: format_version ${g.format_version}, tests expect ${FORMAT_VERSION}`,
      'regenerate with reference/image_golden.py, or update the tests',
    );
  }
  return g;
}

export const readFixture = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(ROOT, rel)));

/** A fixture file whose bytes must be the ones golden.json was computed from (else: stale golden). */
export function readFixtureChecked(g: Golden, rel: string): Uint8Array {
  const bytes = readFixture(rel);
  const want = g.decode.find((d) => d.file === rel)?.file_sha256;
  if (want && sha256(bytes) !== want) {
    throw new FixtureError(
      `${rel}: sha256 ${sha256(bytes).slice(0, 16)}... differs from the ${want.slice(0, 16)}... recorded in golden.json`,
      'the image fixtures were regenerated after the image goldens: rerun reference/image_golden.py',
    );
  }
  return bytes;
}

export function sha256(data: ArrayBufferView): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}
