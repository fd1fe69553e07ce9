// The chat page of `ovis serve`, in a real browser against the real server: Debian's
// chromium driven by playwright-core, `node dist/cli/main.js serve` on the embedded tiny
// checkpoint. One conversation, step by step: an image through the file input, a question sent
// with Enter, the answer streaming in (text seen while the turn is still streaming), what the
// model sees (grid, crop thumbnails drawn, token count), a follow-up that resends the whole
// conversation and reuses the KV cache (cachedTokens > 0), a screenshot (docs/img/serve-page.png with OVIS_UPDATE_SCREENSHOTS=1),
// Regenerate (greedy: the same answer again), Stop on a long generation (the page is usable at
// once), drag and drop, paste, Shift+Enter, phone width, New chat.
// Skipped (with the reason in its name) only when there is no chromium binary.
// The page as a string (self-contained, its script parses, every control labelled) is checked
// without a browser.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM } from '../../scripts/chromium.mjs';
import { PNG_SIGNATURE } from '../../src/image/decode-png.js';
import { pngChunk } from '../../src/image/encode-png.js';
import { PAGE_HTML } from '../../src/server/page.js';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const TINY = join(ROOT, 'reference', 'fixtures', 'tiny', 'llama');
const SQUARE = join(ROOT, 'reference', 'fixtures', 'images', 'square.png');
const LARGE = join(ROOT, 'reference', 'fixtures', 'images', 'large.png');
// The committed picture in the docs is rewritten only on request (OVIS_UPDATE_SCREENSHOTS=1):
// Chromium's pixels differ a little from run to run, and a test run must not dirty the checkout.
const SCREENSHOT = process.env.OVIS_UPDATE_SCREENSHOTS
  ? join(ROOT, 'docs', 'img', 'serve-page.png')
  : join(tmpdir(), `ovis-serve-page-${process.pid}.png`);

describe('the page as a string', () => {
  it('is one self-contained document: no external URL, no framework, a script that parses', () => {
    expect(PAGE_HTML.startsWith('<!doctype html>')).toBe(true);
    // nothing fetched from elsewhere: no http(s) or protocol-relative src/href/url(), no <link> but the inline icon
    expect(PAGE_HTML).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(PAGE_HTML).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(PAGE_HTML).not.toMatch(/@import/);
    expect(PAGE_HTML.match(/<link [^>]*>/g)).toEqual(['<link rel="icon" href="data:,">']);
    expect(PAGE_HTML).not.toMatch(/<script[^>]+src=/);
    const scripts = [...PAGE_HTML.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    expect(() => new Function(scripts[0])).not.toThrow();
    // it talks to its own server only, by relative URL (works behind a path prefix)
    expect([...scripts[0].matchAll(/fetch\('([^']+)'/g)].map((m) => m[1]).sort()).toEqual(['api/chat', 'health']);
  });

  it('labels every control', () => {
    const ids = [...PAGE_HTML.matchAll(/<(?:input|textarea|select)[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(8);
    for (const id of ids) {
      const wrapped =
        new RegExp(`<label[^>]*>[^<]*<input id="${id}"`).test(PAGE_HTML) ||
        new RegExp(`<label[^>]*>[^<]*<input[^>]*id="${id}"`).test(PAGE_HTML) ||
        new RegExp(`<label class="check"><input id="${id}"`).test(PAGE_HTML);
      const forLabel = PAGE_HTML.includes(`for="${id}"`);
      expect(wrapped || forLabel, `input #${id} has no label`).toBe(true);
    }
  });
});

/** RGBA pixels -> an 8-bit indexed PNG: median cut over a 5-bit-per-channel histogram, each
 *  palette entry the pixel-weighted mean of its box (pngjs writes no palette PNG). */
function indexedPng(rgba: Uint8Array, width: number, height: number): Buffer {
  const n = width * height;
  const key = new Uint16Array(n); // 15-bit colour of each pixel
  const hist = new Uint32Array(32768);
  for (let i = 0; i < n; i++) {
    const k = ((rgba[4 * i] >> 3) << 10) | ((rgba[4 * i + 1] >> 3) << 5) | (rgba[4 * i + 2] >> 3);
    key[i] = k;
    hist[k]++;
  }
  const ch = (k: number, c: number) => (k >> (10 - 5 * c)) & 31;
  const boxes: number[][] = [[...hist.keys()].filter((k) => hist[k] > 0)];
  while (boxes.length < 256) {
    // split the box with the widest channel range, weighted by its pixels, at its weighted median
    let best = -1;
    let bestScore = 0;
    let bestC = 0;
    boxes.forEach((b, i) => {
      if (b.length < 2) return;
      for (let c = 0; c < 3; c++) {
        let lo = 31;
        let hi = 0;
        let w = 0;
        for (const k of b) {
          const v = ch(k, c);
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
          w += hist[k];
        }
        const score = (hi - lo) * Math.sqrt(w);
        if (score > bestScore) {
          bestScore = score;
          best = i;
          bestC = c;
        }
      }
    });
    if (best < 0) break;
    const b = boxes[best].sort((x, y) => ch(x, bestC) - ch(y, bestC));
    let total = 0;
    for (const k of b) total += hist[k];
    let acc = 0;
    let cut = b.length - 1;
    for (let j = 0; j < b.length - 1; j++) {
      acc += hist[b[j]];
      if (acc >= total / 2) {
        cut = j + 1;
        break;
      }
    }
    boxes.splice(best, 1, b.slice(0, cut), b.slice(cut));
  }
  const index = new Uint8Array(32768);
  boxes.forEach((b, i) => {
    for (const k of b) index[k] = i;
  });
  const sum = boxes.map(() => [0, 0, 0, 0]);
  for (let p = 0; p < n; p++) {
    const s = sum[index[key[p]]];
    s[0] += rgba[4 * p];
    s[1] += rgba[4 * p + 1];
    s[2] += rgba[4 * p + 2];
    s[3]++;
  }
  const plte = Buffer.alloc(3 * boxes.length);
  sum.forEach((s, i) => {
    for (let c = 0; c < 3; c++) plte[3 * i + c] = Math.round(s[c] / Math.max(1, s[3]));
  });
  const raw = Buffer.alloc((width + 1) * height); // per row: filter 0, then the indices
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = index[key[y * width + x]];
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 3; // 8-bit indexed
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('PLTE', plte),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

interface Server {
  url: string;
  proc: ChildProcess;
  stderr: () => string;
}

/** `ovis serve --port 0` on the tiny checkpoint; resolves with the URL it prints. */
function startServer(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, 'serve', '--model', TINY, '--port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`ovis serve did not listen within 90 s:\n${err}`));
    }, 90_000);
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1].replace(/\/$/, ''), proc, stderr: () => err });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ovis serve exited (${code}):\n${err}`));
    });
  });
}

/** Records, per answer, whether text was on screen while the turn still said 'streaming'. */
function recordStreaming(): void {
  const w = window as unknown as { __streamedText: boolean[] };
  w.__streamedText = [];
  new MutationObserver(() => {
    document.querySelectorAll<HTMLElement>('article.turn.bot').forEach((a, i) => {
      const text = a.querySelector('.answer')?.textContent ?? '';
      if (a.dataset.state === 'streaming' && text.length > 0) w.__streamedText[i] = true;
    });
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

describe.skipIf(!HAVE_CHROMIUM)(
  HAVE_CHROMIUM
    ? 'the chat page in chromium, against ovis serve'
    : `the chat page in chromium (SKIPPED: no chromium at ${CHROMIUM}; apt-get install chromium, or set CHROMIUM_PATH)`,
  () => {
    let server: Server;
    let context: BrowserContext;
    let page: Page;
    let profile: string;
    const posted: Array<{ messages: Array<{ role: string; content: unknown }>; options: Record<string, unknown> }> = [];
    const pageErrors: string[] = [];

    const bots = () => page.locator('article.turn.bot');
    const bot = (i: number) => bots().nth(i);
    const waitState = (i: number, state: string, timeout = 120_000) =>
      page.waitForFunction(
        ([i, s]) => document.querySelectorAll<HTMLElement>('article.turn.bot')[i as number]?.dataset.state === s,
        [i, state] as const,
        { timeout },
      );
    async function ask(text: string) {
      await page.locator('#prompt').fill(text);
      await page.locator('#prompt').press('Enter');
    }

    beforeAll(async () => {
      expect(existsSync(CLI), 'dist/cli/main.js is missing: run npm run build').toBe(true);
      server = await startServer();
      const { chromium } = await import('playwright-core');
      profile = mkdtempSync(join(tmpdir(), 'ovis-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1200, height: 800 },
        colorScheme: 'light',
        reducedMotion: 'reduce',
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
      page.on('request', (r: Request) => {
        if (r.url().endsWith('/api/chat') && r.method() === 'POST') posted.push(r.postDataJSON());
      });
      await page.addInitScript(recordStreaming);
      await page.goto(server.url + '/');
    });

    afterAll(async () => {
      await context?.close();
      server?.proc.kill();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('shows the served model name', async () => {
      const health = (await (await fetch(server.url + '/health')).json()) as { model: string };
      await expect.poll(() => page.locator('#model').textContent()).toContain(health.model);
    });

    it('answers a question about an uploaded image, streaming, and shows what the model sees', async () => {
      await page.locator('#file').setInputFiles(SQUARE);
      await expect.poll(() => page.locator('#tray li').count()).toBe(1);
      await page.locator('#o-max').fill('48');
      await ask('What is in this picture?');
      await waitState(0, 'done');

      // the request: one user message, image first, then the question; the options from the form
      expect(posted).toHaveLength(1);
      const m0 = posted[0].messages;
      expect(m0).toHaveLength(1);
      expect(m0[0].role).toBe('user');
      const parts = m0[0].content as Array<{ type: string; data?: string; text?: string }>;
      expect(parts.map((p) => p.type)).toEqual(['image', 'text']);
      expect(parts[0].data!.startsWith('data:image/png;base64,')).toBe(true);
      expect(Buffer.from(parts[0].data!.split(',')[1], 'base64').equals(readFileSync(SQUARE))).toBe(true);
      expect(posted[0].options).toMatchObject({ maxNewTokens: 48, doSample: false });

      // streamed: text was on screen before the turn was done
      expect(await page.evaluate(() => (window as unknown as { __streamedText: boolean[] }).__streamedText[0])).toBe(true);
      const answer = await bot(0).locator('.answer').textContent();
      expect(answer!.length).toBeGreaterThan(0);
      const stats = await bot(0).locator('.stats').textContent();
      expect(stats).toMatch(/48 tokens in .* tokens\/s · prompt \d+ tokens, 0 cached/);

      // what the model sees: grid, crops drawn from the page's image, tokens
      const meta = await bot(0).locator('.simg .meta').textContent();
      const mm = /Image 1 · 300×300 · grid (\d+)×(\d+) · (\d+) crops? · (\d+) tokens/.exec(meta!);
      expect(mm, meta!).not.toBeNull();
      const [rows, cols, crops, tokens] = mm!.slice(1).map(Number);
      expect(crops).toBe(rows * cols > 1 ? rows * cols + 1 : 1);
      expect(tokens).toBeGreaterThan(0);
      await expect.poll(() => bot(0).locator('li.crop canvas').count()).toBe(crops);
      // each thumbnail holds the image's pixels, not only the grey padding
      const painted = await bot(0)
        .locator('li.crop canvas')
        .evaluateAll((cs) =>
          (cs as HTMLCanvasElement[]).map((c) => {
            const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
            let other = 0;
            for (let i = 0; i < d.length; i += 4)
              if (Math.abs(d[i] - 128) + Math.abs(d[i + 1] - 128) + Math.abs(d[i + 2] - 128) > 12) other++;
            return other / (d.length / 4);
          }),
        );
      for (const f of painted) expect(f).toBeGreaterThan(0.2);
      expect(await page.locator('#tray li').count()).toBe(0);
    });

    it('asks a follow-up: the whole conversation is resent and the KV cache reused', async () => {
      await ask('Describe the colours.');
      await waitState(1, 'done');
      expect(posted).toHaveLength(2);
      const m1 = posted[1].messages;
      expect(m1.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(m1[0]).toEqual(posted[0].messages[0]); // the image again, byte for byte
      expect(m1[1].content).toBe(await bot(0).locator('.answer').textContent());
      expect(m1[2].content).toBe('Describe the colours.');
      expect(Number(await bot(1).getAttribute('data-cached-tokens'))).toBeGreaterThan(0);
      expect(await bot(1).locator('.stats').textContent()).toMatch(/prompt \d+ tokens, [1-9]\d* cached/);
      expect(await bot(1).locator('.answer').textContent()).not.toBe('');
      expect(await page.evaluate(() => (window as unknown as { __streamedText: boolean[] }).__streamedText[1])).toBe(true);

      await page.locator('#prompt').blur();
      // 256 colours (the photo crops are the bulk of a true-colour PNG): ~70 KB instead of ~210 KB
      const shot = PNG.sync.read(await page.screenshot());
      writeFileSync(SCREENSHOT, indexedPng(shot.data, shot.width, shot.height));
      expect(statSync(SCREENSHOT).size).toBeLessThan(200 * 1024);
      if (!process.env.OVIS_UPDATE_SCREENSHOTS) rmSync(SCREENSHOT);
    });

    it('regenerates the last answer (greedy: the same text again)', async () => {
      const before = await bot(1).locator('.answer').textContent();
      await page.locator('#regen').click();
      await waitState(1, 'done');
      expect(await bots().count()).toBe(2);
      expect(posted[2].messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(await bot(1).locator('.answer').textContent()).toBe(before);
    });

    it('stops a long generation; the page is usable again at once', async () => {
      await page.locator('#o-max').fill('4000');
      await ask('Write a very long story about this picture.');
      await page.waitForFunction(
        () => {
          const a = document.querySelectorAll<HTMLElement>('article.turn.bot')[2];
          return a?.dataset.state === 'streaming' && (a.querySelector('.answer')?.textContent ?? '').length > 20;
        },
        undefined,
        { timeout: 120_000 },
      );
      expect(await page.locator('#send').isDisabled()).toBe(true);
      const t0 = Date.now();
      await page.locator('#stop').click();
      await waitState(2, 'stopped', 10_000);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(await page.locator('#send').isEnabled()).toBe(true);
      expect(await page.locator('#stop').isDisabled()).toBe(true);
      expect(await page.locator('#regen').isEnabled()).toBe(true);
      expect(await bot(2).locator('.stats').textContent()).toContain('Stopped');
      const partial = await bot(2).locator('.answer').textContent();
      // the server stopped generating (the fetch abort reached it), well before 4000 tokens
      const health = async () => (await (await fetch(server.url + '/health')).json()) as { busy: boolean };
      await expect.poll(async () => (await health()).busy, { timeout: 5_000 }).toBe(false);

      // a short question right after: answered (the server is not still busy with the long one),
      // and the partial answer is part of the conversation
      await page.locator('#o-max').fill('8');
      await ask('Thanks.');
      await waitState(3, 'done', 60_000);
      const last = posted[posted.length - 1].messages;
      expect(last.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user']);
      expect(last[5].content).toBe(partial);
      expect(await bot(3).locator('.stats').textContent()).toMatch(/8 tokens in /);
    });

    it('takes images by drag and drop and by paste; Shift+Enter is a new line; a large image shows its grid', async () => {
      const turns = await page.locator('article.turn').count();
      await page.locator('#prompt').fill('line one');
      await page.locator('#prompt').press('Shift+Enter');
      await page.locator('#prompt').pressSequentially('line two');
      expect(await page.locator('#prompt').inputValue()).toBe('line one\nline two');
      expect(await page.locator('article.turn').count()).toBe(turns);

      await page.evaluate(
        ([large, square]) => {
          const file = (b64: string, name: string) =>
            new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' });
          const dt = new DataTransfer();
          dt.items.add(file(large, 'dropped.png'));
          for (const type of ['dragenter', 'dragover', 'drop']) {
            document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
          }
          const clip = new DataTransfer();
          clip.items.add(file(square, 'pasted.png'));
          document
            .getElementById('prompt')!
            .dispatchEvent(new ClipboardEvent('paste', { clipboardData: clip, bubbles: true, cancelable: true }));
        },
        [readFileSync(LARGE).toString('base64'), readFileSync(SQUARE).toString('base64')],
      );
      await expect.poll(() => page.locator('#tray li').count()).toBe(2);
      expect(await page.locator('#drop').isHidden()).toBe(true);
      await page.locator('#tray button[aria-label="Remove pasted.png"]').click();
      expect(await page.locator('#tray li').count()).toBe(1);

      // the dropped 901x860 image: several crops, the global view first, drawn with the grid map
      await page.locator('#o-max').fill('4');
      await ask('And this one?');
      await waitState(4, 'done', 120_000);
      const metas = await bot(4).locator('.simg .meta').allTextContents();
      expect(metas).toHaveLength(2);
      expect(metas[0]).toMatch(/^Image 1 · 300×300 .* cached/);
      const mm = /^Image 2 · 901×860 · grid (\d+)×(\d+) · (\d+) crops · (\d+) tokens$/.exec(metas[1]);
      expect(mm, metas[1]).not.toBeNull();
      const [rows, cols, crops] = mm!.slice(1).map(Number);
      expect(rows * cols).toBeGreaterThan(1);
      expect(crops).toBe(rows * cols + 1);
      const second = bot(4).locator('.simg').nth(1);
      await expect.poll(() => second.locator('li.crop canvas').count()).toBe(crops);
      expect(await second.locator('li.gridmap canvas').count()).toBe(1);
      expect(await second.locator('li.crop span').first().textContent()).toBe('1 · whole');
    });

    it('fits a phone screen, and New chat starts over', async () => {
      await page.setViewportSize({ width: 375, height: 740 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      await page.setViewportSize({ width: 1200, height: 800 });
      await page.locator('#new-chat').click();
      expect(await page.locator('article.turn').count()).toBe(0);
      expect(await page.locator('#tray li').count()).toBe(0);
      expect(await page.locator('#regen').isDisabled()).toBe(true);
      expect(pageErrors).toEqual([]);
    });
  },
);
