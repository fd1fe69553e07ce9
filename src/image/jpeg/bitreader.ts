// Entropy-coded segment reader — mirrors libjpeg-turbo jdhuff.c (jpeg_fill_bit_buffer) and
// jdmarker.c (next_marker, read_restart_marker, jpeg_resync_to_restart).
// Bits are read MSB first; 0xFF 0x00 is a stuffed 0xFF; 0xFF followed by anything else is a
// marker, where reading stops: from there on libjpeg feeds zero bits and, once a decode has
// really consumed one of them, flags `insufficient` (the rest of the restart interval is then
// left as zero coefficients). Running off the end of the data (no marker) is a truncated file:
// libjpeg suspends and Pillow raises "image file is truncated".

import { ImageError } from '../../errors.js';

export class BitReader {
  /** Next unread byte. */
  pos: number;
  /** Up to 32 buffered bits, the valid ones are the low `bits` (read and written directly by
   *  entropy.ts decodeBlockFast, which keeps them in locals). */
  buf = 0;
  bits = 0;
  /** How many of the buffered low bits are zero padding past a marker. */
  private pad = 0;
  /** Marker code met in the data and not consumed yet (0 = none); `pos` is at its 0xFF. */
  marker = 0;
  /** libjpeg's entropy->insufficient_data: a decode consumed padding bits. */
  insufficient = false;

  constructor(
    readonly data: Uint8Array,
    pos: number,
    private readonly label: string,
  ) {
    this.pos = pos;
  }

  /** The first byte from `pos` on that is 0xFF not followed by 0x00 (a marker, or fill bytes
   *  before one): up to there the data holds only entropy bytes and stuffed 0xFF 0x00 pairs, so
   *  a reader may take them without any marker check (entropy.ts decodeBlockFast). */
  markerFreeEnd(): number {
    const d = this.data;
    for (let p = this.pos; ; p += 2) {
      p = d.indexOf(0xff, p);
      if (p < 0) return d.length;
      if (d[p + 1] !== 0) return p;
    }
  }

  /** Top up the buffer to more than 24 bits (zeros past a marker). */
  private fill(): void {
    const d = this.data;
    while (this.bits <= 24) {
      let c = 0;
      if (this.marker === 0) {
        if (this.pos >= d.length) {
          throw new ImageError(
            `${this.label}: JPEG is truncated inside the entropy-coded data (byte ${this.pos})`,
            'the file is incomplete',
          );
        }
        c = d[this.pos];
        if (c === 0xff) {
          let p = this.pos + 1;
          while (p < d.length && d[p] === 0xff) p++; // fill bytes
          if (p >= d.length)
            throw new ImageError(`${this.label}: JPEG is truncated inside the entropy-coded data (byte ${p})`, 'the file is incomplete');
          if (d[p] === 0) {
            this.pos = p + 1;
          } // stuffed 0xFF
          else {
            this.marker = d[p];
            this.pos = p - 1;
            c = 0;
            this.pad += 8;
          }
        } else this.pos++;
      } else this.pad += 8;
      this.buf = (this.buf << 8) | c;
      this.bits += 8;
    }
  }

  private consume(n: number): void {
    this.bits -= n;
    if (this.bits < this.pad) {
      this.insufficient = true;
      this.pad = this.bits;
    }
  }

  /** n bits (0..16) as an unsigned number. */
  getBits(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.fill();
    const v = (this.buf >>> (this.bits - n)) & ((1 << n) - 1);
    this.consume(n);
    return v;
  }

  getBit(): number {
    return this.getBits(1);
  }

  /** Peek 16 bits (filling as needed) without consuming. */
  peek16(): number {
    if (this.bits < 16) this.fill();
    return (this.buf >>> (this.bits - 16)) & 0xffff;
  }

  skip(n: number): void {
    this.consume(n);
  }

  /** jdhuff.c process_restart / finish_pass: drop the buffered bits. */
  discardBits(): void {
    this.bits = 0;
    this.pad = 0;
    this.buf = 0;
  }

  /** jdmarker.c next_marker: skip to the next marker (0xFF not followed by 0x00), leave it in `marker`. */
  nextMarker(): number {
    const d = this.data;
    if (this.marker !== 0) return this.marker;
    let p = this.pos;
    for (;;) {
      while (p < d.length && d[p] !== 0xff) p++;
      let q = p + 1;
      while (q < d.length && d[q] === 0xff) q++;
      if (q >= d.length)
        throw new ImageError(`${this.label}: JPEG is truncated (no marker after byte ${this.pos})`, 'the file is incomplete');
      if (d[q] !== 0) {
        this.marker = d[q];
        this.pos = q - 1;
        return this.marker;
      }
      p = q + 1;
    }
  }

  /** Consume the pending marker: `pos` moves past its code byte. */
  takeMarker(): void {
    this.pos += 2;
    this.marker = 0;
  }

  /** jdmarker.c read_restart_marker + jpeg_resync_to_restart, expecting RST`want`. */
  readRestart(want: number): void {
    this.nextMarker();
    const RST0 = 0xd0;
    for (;;) {
      const m = this.marker;
      let action: 1 | 2 | 3;
      if (m === RST0 + want) action = 1;
      else if (m < 0xc0)
        action = 2; // invalid marker: scan on
      else if (m < RST0 || m > RST0 + 7)
        action = 3; // a real marker: leave it, empty segments follow
      else if (m === RST0 + ((want + 1) & 7) || m === RST0 + ((want + 2) & 7)) action = 3;
      else if (m === RST0 + ((want - 1) & 7) || m === RST0 + ((want - 2) & 7)) action = 2;
      else action = 1;
      if (action === 1) {
        this.takeMarker();
        return;
      }
      if (action === 3) return;
      this.takeMarker();
      this.nextMarker();
    }
  }
}
