// Multi-turn conversations on one runner (OvisRunner.chat), paying for each image and each earlier
// turn once:
//   messages --Ovis formatter (all turns, an open assistant turn)--> ids with -200 per image
//   each image --sha256 of its bytes--> visual cache (LRU, bounded in bytes) or preprocess + vision
//   ids --placeholders--> merged sequence [T, H] (Ovis merge_multimodal, as a single request does)
//   longest common prefix with what the KV cache holds (the previous prompt + answer) --> prefill
//   only the positions after it, in chunks (progress, cancellation) --> the decode loop.
// A turn gives the same tokens as the whole conversation run from scratch: the cached keys and
// values are those the same positions would get again (causal attention: a position depends only
// on the ones before it), and the suffix is computed exactly as a fresh prefill would — in f32,
// only the chunking of the prefill (summation order inside attention) can differ.
//
// Positions are compared by key, not by id: every visual position of a crop has the id of the
// atom placeholder, so the key of a crop's 196 positions is its image's hash and crop index.

import type { ConversationFormatter, Turn } from './chat/formatters.js';
import { IMAGE_ATOM_ID, IMAGE_TOKEN_ID } from './constants.js';
import type { ChatEvent, ChatMessage, ChatResult, ContentPart, GenerationOptions, ImageInput, ImageSummary } from './conversation-types.js';
import { InputError } from './errors.js';
import { type GenerateResult, generateStream } from './generate/generate.js';
import { preprocessImage, type RgbImage } from './image/index.js';
import type { KVCache } from './model/kv-cache.js';
import { checkMergedLength, type OvisModel } from './model/ovis.js';
import type { Tensor } from './tensor.js';
import type { Tokenizer } from './tokenizer/index.js';

/** Prefill chunk: progress and cancellation between chunks, and attention scores of
 *  [heads, 256, T] instead of [heads, T, T] for a long prompt. */
export const PREFILL_CHUNK = 256;
/** Default bound of the visual cache (--cache-mb): a 3B crop's embeddings are 196 x 3072 f32 = 2.4 MB. */
export const DEFAULT_VISUAL_CACHE_BYTES = 512 << 20;

/** One image's vision result, reusable across turns and requests. */
interface VisualEntry {
  embeds: Tensor; // [n, 196, H] vte.embeds
  width: number;
  height: number;
  grid: [number, number];
  boxes: Array<[number, number, number, number]>;
  placeholders: number[];
}

/** Least-recently-used map bounded by the bytes of the embeddings it holds. */
export class VisualCache {
  private readonly map = new Map<string, VisualEntry>();
  private bytes = 0;
  constructor(readonly maxBytes: number) {}
  get size(): number {
    return this.map.size;
  }
  get usedBytes(): number {
    return this.bytes;
  }
  get(key: string): VisualEntry | undefined {
    const e = this.map.get(key);
    if (e) {
      this.map.delete(key);
      this.map.set(key, e);
    } // most recent last
    return e;
  }
  set(key: string, e: VisualEntry): void {
    const b = e.embeds.data.byteLength;
    if (b > this.maxBytes) return; // larger than the whole cache: not kept
    this.map.delete(key);
    this.map.set(key, e);
    this.bytes += b;
    for (const [k, old] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= old.embeds.data.byteLength;
    }
  }
  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

export interface ConversationDeps {
  model: OvisModel;
  tokenizer: Tokenizer;
  formatter: ConversationFormatter;
  /** Load-time generation defaults (RunnerOptions). */
  defaults: GenerationOptions;
  visualCacheBytes?: number;
}

const now = (): number => performance.now();
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** The conversation's turns for the Ovis formatter, and its images in order. */
export function toTurns(messages: readonly ChatMessage[]): { turns: Turn[]; images: ImageInput[] } {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InputError('chat: messages must be a non-empty array of {role, content}', "e.g. [{role: 'user', content: 'Hello'}]");
  }
  const turns: Turn[] = [];
  const images: ImageInput[] = [];
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object') throw new InputError(`messages[${i}] must be an object {role, content}`);
    const role = m.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') {
      throw new InputError(`messages[${i}].role is ${JSON.stringify(role)}, expected "system", "user" or "assistant"`);
    }
    if (role === 'system' && i !== 0) throw new InputError(`messages[${i}]: a system message may only come first`);
    const parts: ContentPart[] =
      typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? m.content : [];
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) {
      throw new InputError(`messages[${i}].content must be a string or an array of parts`);
    }
    let text = '';
    parts.forEach((p, j) => {
      if (p?.type === 'text' && typeof p.text === 'string') {
        text += p.text.split('<image>').join(''); // a marker typed by hand is text, not an image slot
      } else if (p?.type === 'image' && p.image !== undefined) {
        if (role !== 'user') throw new InputError(`messages[${i}].content[${j}]: only user messages carry images`);
        text += '<image>\n'; // Ovis's runner puts each image as "<image>\n" where it stands
        images.push(p.image);
      } else {
        throw new InputError(`messages[${i}].content[${j}] must be {type: 'text', text} or {type: 'image', image}`);
      }
    });
    turns.push({ from: role === 'user' ? 'human' : role === 'assistant' ? 'gpt' : 'system', value: text });
  });
  if (messages[messages.length - 1].role !== 'user') {
    throw new InputError(
      `the last message is the ${messages[messages.length - 1].role}'s; the last message must be the user's (its answer is generated)`,
    );
  }
  return { turns, images };
}

/** SHA-256 of an image's content (WebCrypto: Node, Deno, Bun and browsers). Not a weak hash: a
 *  collision would hand one user's image embeddings to another request. */
async function imageKey(img: ImageInput): Promise<string> {
  let bytes: Uint8Array;
  if (img instanceof Uint8Array) bytes = img;
  else {
    const r = img as RgbImage;
    bytes = new Uint8Array(8 + r.data.length);
    new DataView(bytes.buffer).setUint32(0, r.width);
    new DataView(bytes.buffer).setUint32(4, r.height);
    bytes.set(r.data, 8);
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return (img instanceof Uint8Array ? 'f' : 'r') + Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Length of the common prefix of two key lists. */
function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Where the first stop string starts in `text`, or -1. */
function findStop(text: string, stops: readonly string[]): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** Characters at the end of `text` that could still grow into a stop string (held back). */
function partialStop(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(s.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

export class Conversations {
  /** What the KV cache holds: one key per position, and the cache. */
  private slot: { keys: string[]; cache: KVCache } | undefined;
  private busy = false;
  readonly visual: VisualCache;

  constructor(private readonly d: ConversationDeps) {
    this.visual = new VisualCache(d.visualCacheBytes ?? DEFAULT_VISUAL_CACHE_BYTES);
  }

  /** Forget the cached conversation (the next chat prefills from scratch). Images stay cached. */
  reset(): void {
    this.slot?.cache.dispose();
    this.slot = undefined;
  }

  dispose(): void {
    this.reset();
    this.visual.clear();
  }

  async *chat(messages: readonly ChatMessage[], options: GenerationOptions = {}): AsyncGenerator<ChatEvent, ChatResult, void> {
    if (this.busy) {
      throw new InputError(
        'OvisRunner.chat: another chat is running on this runner (one generation at a time)',
        'await the previous chat first; `ovis serve` queues requests',
      );
    }
    this.busy = true;
    try {
      return yield* this.turn(messages, { ...this.d.defaults, ...stripUndefined(options) });
    } finally {
      this.busy = false;
    }
  }

  private async *turn(messages: readonly ChatMessage[], o: GenerationOptions): AsyncGenerator<ChatEvent, ChatResult, void> {
    const t0 = now();
    const { model, tokenizer, formatter } = this.d;
    const signal = o.signal;
    const stops = (o.stop ?? []).filter((s) => typeof s === 'string' && s.length > 0);
    if (o.stop !== undefined && (!Array.isArray(o.stop) || stops.length !== o.stop.length)) {
      throw new InputError('stop must be an array of non-empty strings');
    }
    const maxPartition = o.maxPartition ?? 9;

    // 1. format every turn, as Ovis formats a `conversations` list, with an open assistant turn
    const { turns, images } = toTurns(messages);
    const { inputIds: textIds } = formatter.format(turns, { generationPreface: '' });
    if (images.length && !model.vision)
      throw new InputError('this checkpoint was loaded without its vision half; the conversation has images');

    // 2. each image: its cached vision result, or preprocessing now (vision comes after the
    //    context-length check, so a conversation that cannot fit costs no vision work)
    const S = model.cropSize;
    const keys = await Promise.all(images.map((im) => imageKey(im)));
    const entries: Array<VisualEntry | undefined> = [];
    const pending: Array<{ i: number; pixelValues: Float32Array; n: number; entry: Omit<VisualEntry, 'embeds'> }> = [];
    images.forEach((im, i) => {
      const key = `${keys[i]}:${maxPartition}:${S}`;
      const hit = this.visual.get(key);
      entries.push(hit);
      if (hit) return;
      const p = preprocessImage(im, { maxPartition, imageSize: S, label: `image ${i + 1}` });
      const [, , W, H] = p.boxes[0]; // the first box is the whole image (the global view, or the one cell)
      pending.push({
        i,
        pixelValues: p.pixelValues,
        n: p.n,
        entry: { width: W, height: H, grid: p.grid, boxes: p.boxes, placeholders: p.placeholders },
      });
    });
    const perCrop = model.tokensPerCrop;
    const summary = (i: number): ImageSummary => {
      const e = entries[i] ?? pending.find((x) => x.i === i)!.entry;
      const crops = e.boxes.length;
      return {
        index: i,
        width: e.width,
        height: e.height,
        grid: e.grid,
        crops,
        boxes: e.boxes,
        tokens: e.placeholders.length - crops + crops * perCrop,
        cached: entries[i] !== undefined,
      };
    };
    if (images.length) yield { type: 'images', images: images.map((_, i) => summary(i)) };

    // 3. the merged sequence's ids and one key per position
    const inputIds: number[] = [];
    const posKeys: string[] = [];
    let img = 0;
    for (const id of textIds) {
      if (id !== IMAGE_TOKEN_ID) {
        inputIds.push(id);
        posKeys.push(String(id));
        continue;
      }
      const ph = (entries[img] ?? pending.find((x) => x.i === img)!.entry).placeholders;
      let crop = 0;
      for (const p of ph) {
        inputIds.push(p);
        if (p === IMAGE_ATOM_ID) {
          for (let k = 0; k < perCrop; k++) posKeys.push(`${keys[img]}#${crop}`);
          crop++;
        } else posKeys.push(String(p));
      }
      img++;
    }
    if (img !== images.length) throw new InputError(`the formatted conversation holds ${img} image slot(s) for ${images.length} image(s)`);
    const T = checkMergedLength(inputIds, perCrop, model.config.multimodal_max_length);

    // 4. vision for the images not cached, crop by crop (progress and cancellation in between)
    const tVision = now();
    const totalCrops = pending.reduce((a, x) => a + x.n, 0);
    let done = 0;
    for (const x of pending) {
      const per = 3 * S * S;
      const H = model.config.hidden_size;
      const embeds = new Float32Array(x.n * perCrop * H); // [n, 196, H]
      for (let c = 0; c < x.n; c++) {
        if (signal?.aborted) return yield* this.aborted(t0, T, 0);
        const e = model.encodeImages(x.pixelValues.subarray(c * per, (c + 1) * per), 1); // [1, 196, H]
        embeds.set(e.data, c * perCrop * H);
        done++;
        yield { type: 'progress', stage: 'vision', done, total: totalCrops };
        await tick();
      }
      const entry: VisualEntry = { ...x.entry, embeds: { shape: [x.n, perCrop, H], data: embeds } };
      entries[x.i] = entry;
      this.visual.set(`${keys[x.i]}:${maxPartition}:${S}`, entry);
    }
    const visual = concatCrops(entries as VisualEntry[], perCrop, model.config.hidden_size);
    const embeds = model.mergeMultimodal(inputIds, visual, model.indicatorEmbeds()); // [T, H]
    const visionMs = now() - tVision;

    // 5. reuse the longest common prefix of the cached conversation (at least one position is
    //    prefilled: its logits pick the first token)
    let cached = 0;
    let cache: KVCache;
    const want = Math.min(commonPrefix(this.slot?.keys ?? [], posKeys), T - 1);
    if (this.slot?.cache.truncate(want)) {
      cache = this.slot.cache;
      cached = want;
    } else {
      this.reset();
      cache = model.llm.newCache(T + (o.maxNewTokens ?? 512));
      cached = 0;
    }
    this.slot = { keys: posKeys.slice(0, cached), cache };

    // 6. prefill the rest in chunks; the last chunk goes to the decode loop (its last row's logits)
    const H = model.config.hidden_size;
    const tPrefill = now();
    let pos = cached;
    try {
      while (T - pos > PREFILL_CHUNK) {
        if (signal?.aborted) return yield* this.aborted(t0, T, cached, visionMs);
        const chunk = { shape: [PREFILL_CHUNK, H], data: embeds.data.subarray(pos * H, (pos + PREFILL_CHUNK) * H) };
        model.llm.forward(chunk, cache, { logitsRows: 'none' });
        pos += PREFILL_CHUNK;
        this.slot.keys = posKeys.slice(0, pos);
        yield { type: 'progress', stage: 'prefill', done: pos - cached, total: T - cached };
        await tick();
      }
      if (signal?.aborted) return yield* this.aborted(t0, T, cached, visionMs);
      yield { type: 'start', promptTokens: T, cachedTokens: cached };

      // 7. decode, streaming text; stop strings end it (and are cut from the output)
      const stopCtl = new AbortController();
      const onAbort = () => stopCtl.abort();
      signal?.addEventListener('abort', onAbort);
      let result: GenerateResult | undefined;
      let output = '';
      let emitted = 0;
      let stopped = false;
      let tFirst = 0;
      const decoder = tokenizer.decodeStream({ skipSpecialTokens: true });
      try {
        const last = { shape: [T - pos, H], data: embeds.data.subarray(pos * H, T * H) };
        const it = generateStream(model.llm, last, {
          maxNewTokens: o.maxNewTokens ?? 512,
          doSample: o.doSample ?? false,
          temperature: o.temperature,
          topK: o.topK,
          topP: o.topP,
          repetitionPenalty: o.repetitionPenalty,
          seed: o.seed,
          eosTokenIds: model.eosTokenIds,
          cache,
          signal: stopCtl.signal,
          onResult: (r) => {
            result = r;
          },
        });
        for await (const id of it) {
          if (!tFirst) tFirst = now();
          if (stopped) continue;
          output += decoder.push(id);
          const at = stops.length ? findStop(output, stops) : -1;
          if (at >= 0) {
            output = output.slice(0, at);
            stopped = true;
            stopCtl.abort(); // the loop ends before sampling another token
          }
          const safe = stopped ? output.length : output.length - partialStop(output, stops);
          if (safe > emitted) {
            yield { type: 'text', text: output.slice(emitted, safe) };
            emitted = safe;
          }
        }
        if (!stopped) {
          output += decoder.flush();
          const at = stops.length ? findStop(output, stops) : -1;
          if (at >= 0) {
            output = output.slice(0, at);
            stopped = true;
          }
          if (output.length > emitted) yield { type: 'text', text: output.slice(emitted) };
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      const g = result!;
      // the cache now holds the prompt and every generated token but the last
      this.slot.keys = [...posKeys, ...g.ids.map(String)].slice(0, cache.length);
      const tEnd = now();
      const res: ChatResult = {
        output,
        ids: g.ids,
        promptTokens: T,
        completionTokens: g.ids.length,
        cachedTokens: cached,
        stopReason: stopped ? 'stop' : g.stopReason === 'aborted' ? 'aborted' : g.stopReason,
        timings: {
          visionMs,
          prefillMs: tPrefill ? now() - tPrefill - g.decodeMs : 0,
          decodeMs: g.decodeMs,
          firstTokenMs: (tFirst || tEnd) - t0,
          totalMs: tEnd - t0,
          tokensPerSecond: g.tokensPerSecond,
        },
      };
      yield { type: 'done', result: res };
      return res;
    } catch (e) {
      this.reset(); // the cache may hold a half-written chunk: start the next turn from scratch
      throw e;
    }
  }

  /** End of a turn cancelled before its first token: no output; the cache keeps what it has. */
  private async *aborted(t0: number, T: number, cached: number, visionMs = 0): AsyncGenerator<ChatEvent, ChatResult, void> {
    const totalMs = now() - t0;
    const res: ChatResult = {
      output: '',
      ids: [],
      promptTokens: T,
      completionTokens: 0,
      cachedTokens: cached,
      stopReason: 'aborted',
      timings: { visionMs, prefillMs: 0, decodeMs: 0, firstTokenMs: totalMs, totalMs, tokensPerSecond: 0 },
    };
    yield { type: 'done', result: res };
    return res;
  }
}

/** The images' crop embeddings in conversation order: [N, 196, H]. */
function concatCrops(entries: readonly VisualEntry[], perCrop: number, H: number): Tensor | undefined {
  if (!entries.length) return undefined;
  const n = entries.reduce((a, e) => a + e.embeds.shape[0], 0);
  if (entries.length === 1) return entries[0].embeds;
  const data = new Float32Array(n * perCrop * H); // [N, 196, H]
  let o = 0;
  for (const e of entries) {
    data.set(e.embeds.data, o);
    o += e.embeds.data.length;
  }
  return { shape: [n, perCrop, H], data };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
