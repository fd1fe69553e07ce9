// Random strings for differential fuzzing (a JS generator, independent of the Python corpus).

import { rng as mulberry32 } from '../ops/helpers.js';

export { mulberry32 };

const BLOCKS: Array<[number, number]> = [
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0xa0, 0x2af],
  [0x300, 0x36f],
  [0x370, 0x52f],
  [0x590, 0x6ff],
  [0x700, 0x8ff],
  [0x900, 0xdff],
  [0x1ab0, 0x1aff],
  [0x11d00, 0x11dff],
  [0xe00, 0xfff],
  [0x1100, 0x11ff],
  [0x1e00, 0x1fff],
  [0x2000, 0x2bff],
  [0x3000, 0x30ff],
  [0x4e00, 0x9fff],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfb00, 0xfdff],
  [0xfe00, 0xffef],
  [0x1f000, 0x1faff],
  [0x10000, 0x1ffff],
  [0x20000, 0x3134f],
  [0xe0000, 0xe01ef],
  [0x0, 0x1f],
];
const PIECES = [
  ' ',
  '  ',
  '\n',
  '\r\n',
  '\t',
  '   \n',
  "'s",
  "'LL",
  "n't",
  '123',
  '4567',
  '3.14',
  '<s>',
  '</s>',
  '<bos>',
  '<|begin_of_text|>',
  '<|eot_id|>',
  '<start_of_turn>',
  '<|im_start|>',
  '<image>',
  '\u2581',
  '\u00a0',
  '\u3000',
  'Hello',
  ' world',
  'the',
  'ſ',
  '🤷🏽‍♀️',
  '👨‍👩‍👧',
  '\u0000',
  'é',
  'e\u0301',
  '한국어',
  'العربية',
  'हिन्दी',
  '中文',
  'ﬁ',
];

export function randomString(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 12);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.45) {
      s += PIECES[Math.floor(rnd() * PIECES.length)];
      continue;
    }
    const [lo, hi] = BLOCKS[Math.floor(rnd() * BLOCKS.length)]!;
    const k = 1 + Math.floor(rnd() * 5);
    for (let j = 0; j < k; j++) {
      const cp = lo + Math.floor(rnd() * (hi - lo + 1));
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      s += String.fromCodePoint(cp);
    }
  }
  return s;
}
