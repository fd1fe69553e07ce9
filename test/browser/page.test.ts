// The browser example (examples/browser/) in a real browser: Debian's chromium driven by
// playwright-core (as test/server/browser.test.ts drives `ovis serve`'s page), the page served
// by examples/browser/serve.mjs on 127.0.0.1. The tiny Llama and Gemma2 checkpoints are loaded
// by URL (HTTP Range) into the tab's worker, with 1 and 2 threads (kernel workers over shared
// wasm memory: the page is cross-origin isolated), a fixture image is picked through the file
// input and the answer streams in; the greedy ids equal Node's (the same chat in this process,
// wasm backend) and the Hugging Face dump's (reference/fixtures/dumps, f32 mode); a WebP (not
// in the dumps) equals Node's. Also: the
// page without COOP/COEP says so and runs one thread, same ids, and Stop ends an answer; a checkpoint picked as a folder
// (BlobSource) gives the same ids; a model whose memory verdict refuses is not loaded.
// Every script runs under the CSP serve.mjs sends (no eval; 'wasm-unsafe-eval' for the kernels).
// Writes docs/img/browser-page.png with OVIS_UPDATE_SCREENSHOTS=1. Skipped (with the reason in its name) only when there is no
// chromium binary. Needs `npm run build` (the page imports dist/browser.js).

import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryVerdict } from '../../examples/browser/memory.js';
import { CSP, startStaticServer } from '../../examples/browser/serve.mjs';
import { CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM } from '../../scripts/chromium.mjs';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeImageAsync } from '../../src/image/index.js';
import { resolveTokenizerPath } from '../../src/io/tokenizer-source.js';
import { OvisRunner } from '../../src/runner.js';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'reference', 'fixtures');
// The committed picture in the docs is rewritten only on request (OVIS_UPDATE_SCREENSHOTS=1, as
// test/server/browser.test.ts): Chromium's pixels vary run to run; a test run must not dirty the checkout.
const SCREENSHOT = process.env.OVIS_UPDATE_SCREENSHOTS
  ? join(ROOT, 'docs', 'img', 'browser-page.png')
  : join(tmpdir(), `ovis-browser-page-${process.pid}.png`);

type Flavour = 'llama' | 'gemma2';
/** A committed HF dump case: its image, prompt, max_partition and greedy ids (20, eos ignored);
 *  or (no hfIds) an image the dumps do not cover, judged against Node only. */
interface Case {
  flavour: Flavour;
  name: string;
  image: string;
  prompt: string;
  maxPartition: number;
  maxNew: number;
  hfIds?: number[];
}
function dumpCase(flavour: Flavour, name: string): Case {
  const j = JSON.parse(readFileSync(join(FIXTURES, 'dumps', flavour, `${name}__f32.json`), 'utf8'));
  expect(j.images).toHaveLength(1);
  // the dumps continue past eos; a chat stops there: these cases never reach it
  expect(j.eos.first_eos_index).toBeNull();
  return {
    flavour,
    name,
    image: join(FIXTURES, j.images[0].path),
    prompt: j.user_prompt,
    maxPartition: j.max_partition,
    maxNew: j.max_new_tokens,
    hfIds: j.generated_ids,
  };
}

/** The same chat in Node (the page's worker does exactly this): wasm backend, 1 thread. */
async function nodeIds(c: Case): Promise<number[]> {
  const runner = await OvisRunner.load(join(FIXTURES, 'tiny', c.flavour), { backend: 'wasm', threads: 1 });
  try {
    const image = await decodeImageAsync(new Uint8Array(readFileSync(c.image)));
    const it = runner.chat(
      [
        {
          role: 'user',
          content: [
            { type: 'image', image },
            { type: 'text', text: c.prompt },
          ],
        },
      ],
      { maxNewTokens: c.maxNew, maxPartition: c.maxPartition },
    );
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value.ids;
    }
  } finally {
    runner.dispose();
  }
}

/** Records whether the answer had text on screen while it was still streaming. */
function recordStreaming(): void {
  const w = window as unknown as { __streamed: boolean };
  w.__streamed = false;
  new MutationObserver(() => {
    const a = document.getElementById('answer');
    if (a?.dataset.state === 'streaming' && (a.textContent ?? '').length > 0) w.__streamed = true;
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

describe.skipIf(!HAVE_CHROMIUM)(
  HAVE_CHROMIUM
    ? 'the browser example in chromium'
    : `the browser example in chromium (SKIPPED: no chromium at ${CHROMIUM}; apt-get install chromium, or set CHROMIUM_PATH)`,
  () => {
    type Served = Awaited<ReturnType<typeof startStaticServer>>;
    let isolated: Served;
    let plain: Served;
    let browser: Browser;
    let tmp: string;
    const cases = {
      llama: [dumpCase('llama', 'square'), dumpCase('llama', 'jpeg')],
      gemma2: [
        dumpCase('gemma2', 'square'),
        dumpCase('gemma2', 'palette'),
        // WebP: libwebp's wasm fetched by the tab from beside the package (no HF dump: Node's ids)
        {
          flavour: 'gemma2',
          name: 'large_lossy.webp',
          image: join(FIXTURES, 'image-formats', 'webp', 'large_lossy.webp'),
          prompt: 'Describe the image.',
          maxPartition: 4,
          maxNew: 20,
        } as Case,
      ],
    };
    const node = new Map<Case, Promise<number[]>>();
    const problems: string[] = [];

    beforeAll(async () => {
      expect(existsSync(join(ROOT, 'dist', 'browser.js')), 'dist/browser.js is missing: run npm run build').toBe(true);
      tmp = mkdtempSync(join(tmpdir(), 'ovis-page-'));
      isolated = await startStaticServer({});
      plain = await startStaticServer({ isolated: false });
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
    });

    afterAll(async () => {
      await browser?.close();
      await isolated?.close();
      await plain?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    async function open(server: Served): Promise<Page> {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 }, colorScheme: 'light' });
      // errors anywhere, workers included (a CSP violation, an eval, a failed import)
      page.on('pageerror', (e) => problems.push(`pageerror: ${e}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('worker', (w) =>
        w.on('console', (m) => {
          if (m.type() === 'error') problems.push(`worker console: ${m.text()}`);
        }),
      );
      await page.addInitScript(recordStreaming);
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => document.body.dataset.state === 'idle', null, { timeout: 30_000 });
      return page;
    }

    async function load(page: Page, choice: string, threads: number | undefined): Promise<void> {
      await page.selectOption('#model', choice);
      if (threads !== undefined) await page.selectOption('#threads', String(threads));
      await page.click('#load');
      await page.waitForFunction(() => document.body.dataset.state === 'loaded' || document.body.dataset.error, null, { timeout: 120_000 });
      expect(await page.evaluate(() => document.body.dataset.error ?? null)).toBeNull();
    }

    /** Pick the case's image through the file input, ask, wait for the streamed answer's ids. */
    async function ask(page: Page, c: Case): Promise<number[]> {
      await page.locator('#image').setInputFiles(c.image);
      await page.waitForFunction(() => !(document.getElementById('preview') as HTMLImageElement).hidden);
      await page.fill('#prompt', c.prompt);
      await page.fill('#max-new', String(c.maxNew));
      await page.fill('#max-partition', String(c.maxPartition));
      await page.evaluate(() => {
        (window as unknown as { __streamed: boolean }).__streamed = false;
      });
      await page.click('#ask');
      await page.waitForFunction(() => document.body.dataset.state === 'answered' || document.body.dataset.error, null, {
        timeout: 120_000,
      });
      expect(await page.evaluate(() => document.body.dataset.error ?? null)).toBeNull();
      expect(await page.evaluate(() => (window as unknown as { __streamed: boolean }).__streamed), 'text shown while streaming').toBe(true);
      return JSON.parse((await page.getAttribute('#answer', 'data-ids'))!);
    }

    for (const flavour of ['llama', 'gemma2'] as const) {
      for (const threads of [1, 2]) {
        it(`tiny ${flavour} by URL, ${threads} thread(s): the HF dump's and Node's greedy ids`, async () => {
          const list = threads === 1 ? cases[flavour].slice(0, 1) : cases[flavour];
          for (const c of list) if (!node.has(c)) node.set(c, nodeIds(c));
          const page = await open(isolated);
          try {
            expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
            expect(await page.locator('#isolation').isHidden()).toBe(true);
            await load(page, `models/tiny-${flavour}/`, threads);
            expect(await page.evaluate(() => document.body.dataset.loadedThreads)).toBe(String(threads));
            // only the headers were read before the verdict; the verdict names the weights' size
            expect(await page.textContent('#memory')).toMatch(/^This model needs about \d+\.\d\d GB: weights 0\.01 GB \+ KV cache/);
            for (const c of list) {
              const ids = await ask(page, c);
              if (c.hfIds) expect(ids, `${flavour}/${c.name}: page vs HF dump`).toEqual(c.hfIds);
              expect(ids).toHaveLength(c.maxNew);
              expect(ids, `${flavour}/${c.name}: page vs Node`).toEqual(await node.get(c));
            }
            if (flavour === 'llama' && threads === 2) {
              expect(await page.textContent('#stats')).toMatch(/^20 tokens \(length\); .* tokens\/s/);
              await page.screenshot({ path: SCREENSHOT, fullPage: true });
              expect(statSync(SCREENSHOT).size).toBeGreaterThan(20 * 1024); // a page, not a blank
              if (!process.env.OVIS_UPDATE_SCREENSHOTS) rmSync(SCREENSHOT);
            }
          } finally {
            await page.close();
          }
          expect(problems).toEqual([]);
        });
      }
    }

    it('not cross-origin isolated: a visible notice, one thread; a model by the URL field; the same ids; Stop', async () => {
      const c = cases.llama[0];
      const page = await open(plain);
      try {
        expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(false);
        expect(await page.locator('#isolation').isVisible()).toBe(true);
        expect(await page.textContent('#isolation')).toMatch(/not cross-origin isolated.*one thread/);
        expect(await page.locator('#threads').isDisabled()).toBe(true);
        // by the URL field this time (no trailing slash: HttpSource adds it)
        await page.selectOption('#model', 'url');
        expect(await page.locator('#url').isVisible()).toBe(true);
        await page.fill('#url', `${plain.url}/models/tiny-llama`);
        await load(page, 'url', undefined);
        expect(await page.textContent('#loaded')).toContain(`Loaded ${plain.url}/models/tiny-llama/ in `);
        expect(await page.evaluate(() => document.body.dataset.loadedThreads)).toBe('1');
        expect(await ask(page, c)).toEqual(c.hfIds!);
        // Stop ends a long answer part-way: the worker takes the message between tokens
        await page.fill('#max-new', '2000');
        await page.click('#ask');
        await page.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').length > 0, null, { timeout: 60_000 });
        await page.click('#stop');
        await page.waitForFunction(() => document.body.dataset.state === 'answered', null, { timeout: 60_000 });
        expect(await page.textContent('#stats')).toMatch(/^\d+ tokens \(aborted\)/);
        const stopped = JSON.parse((await page.getAttribute('#answer', 'data-ids'))!);
        expect(stopped.length).toBeLessThan(2000);
        expect(stopped.slice(0, 20)).toEqual(c.hfIds!.slice(0, Math.min(20, stopped.length)));
      } finally {
        await page.close();
      }
      expect(problems).toEqual([]);
    });

    it('a checkpoint picked as a folder (webkitdirectory, BlobSource): the same ids', async () => {
      const c = cases.gemma2[0];
      // the tiny fixtures name their tokenizer in tokenizer.source.json; a real folder has tokenizer.json
      const dir = join(tmp, 'tiny-gemma2');
      cpSync(join(FIXTURES, 'tiny', 'gemma2'), dir, { recursive: true });
      copyFileSync(await resolveTokenizerPath(join(FIXTURES, 'tiny', 'gemma2')), join(dir, 'tokenizer.json'));
      const page = await open(isolated);
      try {
        await page.selectOption('#model', 'folder');
        expect(await page.locator('#folder').isVisible()).toBe(true);
        expect(await page.locator('#url').isHidden()).toBe(true);
        await page.locator('#folder').setInputFiles(dir);
        const before = isolated.stats.requests.filter((r) => r.path.startsWith('/models/')).length;
        await load(page, 'folder', 2);
        expect(await page.textContent('#loaded')).toMatch(/^Loaded folder 'tiny-gemma2' in .*, 2 thread\(s\)/);
        expect(isolated.stats.requests.filter((r) => r.path.startsWith('/models/')).length).toBe(before); // nothing fetched
        expect(await ask(page, c)).toEqual(c.hfIds!);
      } finally {
        await page.close();
      }
      expect(problems).toEqual([]);
    });

    it('refuses, before reading any weight, a model that does not fit', async () => {
      // the verdict: a device reporting 2 GB refuses the 3B release's 8.29 GB, not the tiny model;
      // a tensor over 3 GiB fits no wasm32 memory of the weight store
      const ck = await Checkpoint.open(join(FIXTURES, 'tiny', 'llama'));
      try {
        expect(memoryVerdict(ck.config, ck.tensors, { deviceMemoryGb: 2 }).refuse).toBeUndefined();
        const big = new Map(['a', 'b', 'c', 'd'].map((n) => [n, { byteLength: 8.29e9 / 4 }])); // 2.07 GB each
        expect(memoryVerdict(ck.config, big, { deviceMemoryGb: 2 }).refuse).toMatch(/this device reports 2 GB of RAM: not loading it/);
        expect(memoryVerdict(ck.config, big, { deviceMemoryGb: 8 }).refuse).toBeUndefined();
        const huge = new Map([['llm.model.embed_tokens.weight', { byteLength: 3.5 * 2 ** 30 }]]);
        expect(memoryVerdict(ck.config, huge, { deviceMemoryGb: 8 }).refuse).toMatch(
          /llm\.model\.embed_tokens\.weight is 3\.76 GB: a tensor larger than 3 GiB/,
        );
      } finally {
        await ck.close();
      }
      // in the page: a memory budget (?budget=GB) below the tiny model's need refuses it after
      // the headers; no tensor byte is requested
      const page = await browser.newPage();
      try {
        await page.goto(`${isolated.url}/?budget=0.001`);
        await page.waitForFunction(() => document.body.dataset.state === 'idle', null, { timeout: 30_000 });
        const n0 = isolated.stats.requests.length;
        await page.selectOption('#model', 'models/tiny-llama/');
        await page.click('#load');
        await page.waitForFunction(() => document.body.dataset.error, null, { timeout: 60_000 });
        expect(await page.evaluate(() => document.body.dataset.error)).toMatch(/needs about .* GB.*budget of 0\.001 GB.*not loading it/);
        expect(await page.locator('#ask').isDisabled()).toBe(true);
        const shardReads = isolated.stats.requests.slice(n0).filter((r) => r.method === 'GET' && r.path.endsWith('.safetensors'));
        // two small ranges per shard (the 8-byte length, then the JSON header), nothing else
        expect(shardReads.length).toBe(4);
        expect(shardReads.every((r) => r.bytes < 64 * 1024)).toBe(true);
      } finally {
        await page.close();
      }
    });

    it('the page and every script are served with the documented CSP (no eval)', async () => {
      expect(CSP).toMatch(/script-src 'self' 'wasm-unsafe-eval';/);
      expect(CSP).not.toMatch(/'unsafe-eval'|'unsafe-inline'/);
      for (const path of ['/', '/examples/browser/app.js', '/examples/browser/worker.js', '/dist/browser.js']) {
        const r = await fetch(`${isolated.url}${path}`);
        expect(r.headers.get('content-security-policy'), path).toBe(CSP);
        expect(r.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
        expect(r.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
        await r.arrayBuffer();
      }
    });
  },
);
