// OvisRunner — the public "ask a question about images" API. Mirrors Ovis1.6's
// ovis/serve/runner.py (OvisRunner): load once, then run([image, text]) ->
// {prompt, output, promptTokens, totalTokens}; plus stream(...) for token-by-token output.
//
// Flow of one request (each step is one module):
//   query text (+ `<image>` markers) --chat/ formatter--> input ids with -200
//   each image --image/ preprocessImage--> crops pixel_values [n,3,384,384] + placeholder ids
//   -200 -> placeholders (I0 ATOM I1 ... I4)                        (Ovis preprocess_inputs)
//   OvisModel.embed: SigLIP -> visual tokens -> VTE -> merge -> inputs_embeds [T, H]
//   generate: prefill + KV-cached decode -> ids -> tokenizer.decode(skip_special_tokens)

//
// Shared by every runtime: nothing Node-only is imported at the top. A model given as a path or
// Hub repo id loads the Hub cache and file helpers on use (Node, Deno, Bun); a ModelSource (a
// URL with Range requests, files picked in a browser: io/source.ts) needs neither.

import type { Backend, QuantDot } from './backend/backend.js';
import { type BackendName, createBackend } from './backend/index.js';
import { type ConversationFormatter, createFormatter } from './chat/formatters.js'; // not chat/index: its HF-template renderer needs @huggingface/jinja
import { Checkpoint } from './checkpoint/checkpoint.js';
import { expectedTensors } from './config/expected-tensors.js';
import type { OvisConfig } from './config/ovis-config.js';
import { IMAGE_TOKEN, IMAGE_TOKEN_ID } from './constants.js';
import { Conversations } from './conversation.js';
import type { ChatEvent, ChatMessage, ChatResult, GenerationOptions, ImageInput } from './conversation-types.js';
import { DTYPE_BYTES } from './dtype.js';
import { InputError } from './errors.js';
import { type GenerateResult, generate, generateStream } from './generate/generate.js';
import { decodeImage, preprocessImage, type RgbImage, SUPPORTED_FORMATS, sniffFormat } from './image/index.js';
import { nodeBuiltin } from './io/builtin.js';
import { releaseMemory, residentSetBytes } from './io/release-memory.js';
import type { TensorInfo } from './io/safetensors.js';
import type { ModelSource } from './io/source.js';
import type { LogitsRows } from './model/causal-lm.js';
import { OvisModel } from './model/ovis.js';
import { encodeImages, indicatorEmbeds, loadVision, type OvisVision } from './model/vision.js';
import { throttled } from './progress.js';
import type { GptqConfig } from './quant/gptq.js';
import type { Tensor } from './tensor.js';
import { Tokenizer } from './tokenizer/index.js';
import { makeTap, type Recorder, type Tap } from './trace/tap.js';

/** Runner options; names follow Ovis's RunnerArguments (snake_case -> camelCase). */
export interface RunnerOptions {
  /** Ovis default 9: at most 9 crops (+ the global view) per image. */
  maxPartition?: number;
  /** Ovis default 512. */
  maxNewTokens?: number;
  /** Ovis default false (greedy), even though Llama's generation_config samples. */
  doSample?: boolean;
  topP?: number;
  topK?: number;
  temperature?: number;
  repetitionPenalty?: number;
  /** Seed of the sampling PRNG (reproducible sampling). */
  seed?: number;
  /** 'wasm' (SIMD kernels) or 'ts' (the readable operators). */
  backend?: BackendName;
  threads?: number;
  /** wasm kernel build: 'simd' (default) or 'relaxed' (FMA where the engine allows; docs/kernels.md). */
  kernels?: 'simd' | 'relaxed';
  /** wasm: GPTQ Linears through integer dot products (opt-in; true = 'int16'; 'int8':
   *  activations in 8 bits per 32 inputs; docs/quantization.md). */
  quantDot?: QuantDot;
  /** Quantize lm_head at load to 8 or 4 bits (`--quant-lm-head`; changes the logits, opt-in;
   *  docs/quantization.md). */
  quantLmHead?: 4 | 8;
  /** tokenizer.json (or a directory holding one), or a Tokenizer; default: the checkpoint's own. */
  tokenizer?: string | Tokenizer;
  /** Progress messages (weights loading, crops encoded, prefill, tokens/s). */
  onProgress?: (message: string) => void;
  /** Bound of chat()'s visual-embedding cache in MB (default 512): images reused across turns
   *  and requests are encoded once. */
  cacheMb?: number;
  /** Keep only one half of the model in memory at a time (`ovis run --low-memory`): load()
   *  reads no weights; each query loads the vision half into a backend of its own, encodes its
   *  images, disposes of it and releases its memory, and the first query then loads the LLM
   *  (kept). The peak is the larger half instead of their sum — the int4 3B at max_partition 9
   *  peaks at 3.22 GB instead of 5.46 (docs/quantization.md) — at the cost of reading the vision
   *  weights again for every query with images. run/ask/stream/streamQuery only: chat() and
   *  trace() need both halves resident. Also prefills in pieces of prefillChunkTokens (default
   *  512 here). */
  lowMemory?: boolean;
  /** run/ask/stream: prefill a long prompt in forwards of about this many rows (same logits,
   *  bounded activations; generate.ts). Default: one forward, or 512 with lowMemory. */
  prefillChunkTokens?: number;
}

export type { ImageInput } from './conversation-types.js';
export type RunnerInput = string | ImageInput;

/** A request in the trace/CLI convention: `<image>` markers in the prompt, or none. */
export interface Query {
  prompt: string;
  images?: ImageInput[];
}

/** Everything prepared for the model: the formatted prompt and the expanded ids. */
export interface Prepared {
  /** The formatted prompt string (with `<image>` where each image goes). */
  prompt: string;
  /** Text ids with -200 per image (before expansion). */
  textIds: number[];
  /** Ids with each -200 replaced by its image's placeholders (I0 ATOM I1 ... I4). */
  inputIds: number[];
  /** All crops of all images, in order: [n, 3, S, S]. */
  pixelValues?: Float32Array;
  /** Number of crops. */
  n: number;
  /** The grid (rows, cols) chosen for each image. */
  grids: Array<[number, number]>;
}

export interface RunResult {
  prompt: string;
  output: string;
  promptTokens: number;
  totalTokens: number;
  /** Generated ids and timings. */
  generation: GenerateResult;
}

/**
 * Ovis's query convention for the CLI and trace: if `prompt` contains `<image>` markers, each
 * marks one image in order and the count must match; if it has none, `<image>\n` is put before
 * the text once per image (as OvisRunner does).
 */
export function buildQuery(prompt: string, nImages: number): string {
  const markers = prompt.split(IMAGE_TOKEN).length - 1;
  if (markers === 0) return `${IMAGE_TOKEN}\n`.repeat(nImages) + prompt;
  if (markers !== nImages) {
    throw new InputError(
      `the prompt has ${markers} ${IMAGE_TOKEN} marker(s) but ${nImages} image(s) were given`,
      `use one ${IMAGE_TOKEN} per image, or none to put every image before the text`,
    );
  }
  return prompt;
}

/** What the public API accepts as an image: encoded bytes, or a decoded RgbImage. */
function isImageInput(x: unknown): x is ImageInput {
  if (x instanceof Uint8Array) return true;
  if (x === null || typeof x !== 'object') return false;
  const r = x as Partial<RgbImage>;
  return typeof r.width === 'number' && typeof r.height === 'number' && r.data instanceof Uint8Array;
}

const kindOf = (x: unknown): string =>
  x === null
    ? 'null'
    : Array.isArray(x)
      ? 'an array'
      : typeof x === 'object'
        ? `an object (${
            Object.keys(x as object)
              .slice(0, 4)
              .join(', ') || 'no keys'
          })`
        : typeof x;

/** A Query from a JavaScript caller, checked at the door (TypeScript types do not exist at run time). */
function checkQuery(q: unknown): Query {
  if (q === null || typeof q !== 'object') throw new InputError(`the query must be an object {prompt, images?}, got ${kindOf(q)}`);
  const { prompt, images } = q as Query;
  if (typeof prompt !== 'string') throw new InputError(`query.prompt must be a string, got ${kindOf(prompt)}`);
  if (images !== undefined) {
    if (!Array.isArray(images)) throw new InputError(`query.images must be an array of images, got ${kindOf(images)}`);
    images.forEach((im, i) => {
      if (!isImageInput(im)) {
        throw new InputError(
          `query.images[${i}] must be an image file's bytes (Uint8Array) or a decoded RgbImage {width, height, data}, got ${kindOf(im)}`,
          'read files with readImageFile(path)',
        );
      }
    });
  }
  return q as Query;
}

/** Ovis runner.py's list convention: each image adds `<image>\n`, each string its text with markers removed. */
export function queryFromInputs(inputs: readonly RunnerInput[]): Query {
  if (!Array.isArray(inputs))
    throw new InputError(
      `run/stream take an array of strings and images, got ${kindOf(inputs)}`,
      "e.g. runner.run([image, 'What is in this picture?'])",
    );
  inputs.forEach((x, i) => {
    if (typeof x !== 'string' && !isImageInput(x)) {
      throw new InputError(
        `inputs[${i}] must be a string or an image (Uint8Array bytes or an RgbImage), got ${kindOf(x)}`,
        'read files with readImageFile(path)',
      );
    }
  });
  let list = [...inputs];
  // "for single image and single text inputs, ensure image ahead" (runner.py)
  if (list.length === 2 && typeof list[0] === 'string' && typeof list[1] !== 'string') list = [list[1], list[0]];
  let prompt = '';
  const images: ImageInput[] = [];
  for (const x of list) {
    if (typeof x === 'string') prompt += x.split(IMAGE_TOKEN).join('');
    else {
      prompt += `${IMAGE_TOKEN}\n`;
      images.push(x);
    }
  }
  return { prompt, images };
}

export class OvisRunner {
  private conversations?: Conversations;

  private constructor(
    private loaded: OvisModel | undefined,
    /** The checkpoint's config.json. */
    readonly config: OvisConfig,
    /** Where the weights come from (lowMemory reads them again per query). */
    private readonly source: string | ModelSource,
    readonly tokenizer: Tokenizer,
    readonly formatter: ConversationFormatter,
    readonly options: Readonly<RunnerOptions>,
  ) {}

  /** The loaded model (with lowMemory: the LLM half, once the first query has loaded it). */
  get model(): OvisModel {
    if (!this.loaded) {
      throw new InputError(
        'OvisRunner: with lowMemory the model is loaded by the first query, and this call needs it loaded',
        'ask a question first (run/ask/stream), or load without lowMemory',
      );
    }
    return this.loaded;
  }

  /** Open a checkpoint — a folder, a Hub repo id `org/name[@rev]` already in the Hugging Face
   *  cache (src/hub/cache.ts), or a ModelSource (HttpSource, BlobSource) — and load its weights
   *  into the chosen backend and its tokenizer. */
  static async load(model: string | ModelSource, opts: RunnerOptions = {}): Promise<OvisRunner> {
    const say = opts.onProgress ?? (() => {});
    const t0 = performance.now();
    let ckpt: Checkpoint;
    let tokenizer: Tokenizer;
    if (typeof model === 'string') {
      const { resolveModel } = await import('./hub/cache.js'); // node-only, loaded on use
      const dir = await resolveModel(model);
      if (dir !== model) say(`model: ${model} -> ${dir}`);
      ckpt = await Checkpoint.open(dir);
      if (opts.tokenizer instanceof Tokenizer) tokenizer = opts.tokenizer;
      else {
        const { resolveTokenizerPath } = await import('./io/tokenizer-source.js');
        const tokPath = await resolveTokenizerPath(dir, opts.tokenizer);
        say(`tokenizer: ${tokPath}`);
        tokenizer = await Tokenizer.fromFile(tokPath);
      }
    } else {
      ckpt = await Checkpoint.open(model);
      if (opts.tokenizer instanceof Tokenizer) tokenizer = opts.tokenizer;
      else if (opts.tokenizer !== undefined)
        throw new InputError('RunnerOptions.tokenizer: with a ModelSource, give a Tokenizer (Tokenizer.fromSource / fromJSON), not a path');
      else tokenizer = await Tokenizer.fromSource(model);
    }
    const dir = ckpt.dir;
    const formatter = createFormatter(ckpt.config.conversation_formatter_class, tokenizer);
    const memWarning = await memoryWarning(ckpt, model, !!opts.lowMemory); // refuses (before any weight is read) what cannot fit
    if (memWarning) say(memWarning);
    const source = typeof model === 'string' ? dir : model;
    if (opts.lowMemory) {
      ckpt.assertRunnable(); // every tensor listed and shaped, as a full load checks before reading
      await ckpt.close();
      say('low memory: the vision half and the LLM are loaded one after the other, per query');
      return new OvisRunner(undefined, ckpt.config, source, tokenizer, formatter, opts);
    }
    const backend = await createBackend(opts.backend ?? 'wasm', { threads: opts.threads, kernels: opts.kernels, quantDot: opts.quantDot });
    say(`backend: ${backend.name}`);
    try {
      const loaded = await OvisModel.load(ckpt, backend, { onProgress: say, quantLmHead: opts.quantLmHead });
      say(`loaded ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return new OvisRunner(loaded, ckpt.config, source, tokenizer, formatter, opts);
    } catch (e) {
      backend.dispose();
      throw e;
    } finally {
      await ckpt.close();
    }
  }

  private newBackend(): Promise<Backend> {
    const o = this.options;
    return createBackend(o.backend ?? 'wasm', { threads: o.threads, kernels: o.kernels, quantDot: o.quantDot });
  }

  /** lowMemory: the vision half in a backend of its own for this query's crops, then dropped
   *  (its memory released before anything else is loaded). -> visual embeds [n, T, H] and the
   *  indicator rows [5, H], both in JS memory. */
  private async encodeAlone(p: Prepared): Promise<{ visual: Tensor; indicators: Tensor }> {
    const say = this.options.onProgress ?? (() => {});
    const t0 = performance.now();
    const backend = await this.newBackend();
    try {
      const ckpt = await Checkpoint.open(this.source);
      let vision: OvisVision;
      try {
        vision = await loadVision(ckpt.config, ckpt, backend, say);
      } finally {
        await ckpt.close();
      }
      const S = cropSizeOf(this.config);
      const tick = throttled(3000, say);
      const visual = encodeImages(backend, vision, { shape: [p.n, 3, S, S], data: p.pixelValues! }, undefined, (done, n) => {
        if (done < n) tick(() => `crop ${done}/${n} encoded (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      });
      const ind = indicatorEmbeds(backend, vision);
      say(`${p.n} crop(s) encoded in ${((performance.now() - t0) / 1000).toFixed(2)} s (vision weights loaded for this query)`);
      return { visual, indicators: { shape: ind.shape, data: ind.data.slice() } };
    } finally {
      backend.dispose();
      const released = await releaseMemory();
      const rss = residentSetBytes();
      say(
        (released ? 'vision half released' : 'vision half disposed (this runtime collects it when it will)') +
          (rss ? ` (resident: ${(rss / 1e9).toFixed(2)} GB)` : ''),
      );
    }
  }

  /** lowMemory: the LLM half, loaded by the first query (after its images are encoded). */
  private async loadLlmHalf(): Promise<OvisModel> {
    if (this.loaded) return this.loaded;
    const say = this.options.onProgress ?? (() => {});
    const t0 = performance.now();
    const backend = await this.newBackend();
    const ckpt = await Checkpoint.open(this.source);
    try {
      this.loaded = await OvisModel.load(ckpt, backend, { onProgress: say, textOnly: true, quantLmHead: this.options.quantLmHead });
      // the load's host garbage (--quant-lm-head: the quantizer's 0.2-0.4 GB of packed words) is
      // collected now, not left to pile up under the prefill's activations
      if (this.options.quantLmHead) await releaseMemory();
      say(`LLM loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return this.loaded;
    } catch (e) {
      backend.dispose();
      throw e;
    } finally {
      await ckpt.close();
    }
  }

  /** streamQuery's inputs_embeds: resident model -> embed(); lowMemory -> the two halves in turn. */
  private async embedQuery(p: Prepared): Promise<Tensor> {
    if (!this.options.lowMemory) return this.embed(p);
    const enc = p.pixelValues && p.n ? await this.encodeAlone(p) : undefined;
    const model = await this.loadLlmHalf();
    if (!enc) return model.embed(p.inputIds); // text only: the merge is the embedding lookup
    return model.mergeMultimodal(p.inputIds, enc.visual, enc.indicators);
  }

  /** Format the query and preprocess its images (Ovis `preprocess_inputs`). */
  prepare(q: Query, opts: { maxPartition?: number } = {}): Prepared {
    q = checkQuery(q);
    const images = q.images ?? [];
    const query = buildQuery(q.prompt, images.length);
    if (query.trim() === '') {
      throw new InputError('the prompt is empty and there is no image', 'give a question with --prompt (and/or an --image)');
    }
    const { prompt, inputIds: textIds } = this.formatter.formatQuery(query);
    const maxPartition = opts.maxPartition ?? this.options.maxPartition ?? 9;
    const S = cropSizeOf(this.config);
    const crops: Float32Array[] = [];
    const grids: Array<[number, number]> = [];
    const inputIds: number[] = [];
    let img = 0;
    for (const id of textIds) {
      if (id !== IMAGE_TOKEN_ID) {
        inputIds.push(id);
        continue;
      }
      const label = imageLabels.get(images[img]) ?? `image ${img + 1}`;
      const p = preprocessImage(images[img], { maxPartition, imageSize: S, label });
      crops.push(p.pixelValues);
      grids.push(p.grid);
      inputIds.push(...p.placeholders);
      img++;
    }
    if (img !== images.length) {
      throw new InputError(`the formatted prompt holds ${img} image slot(s) for ${images.length} image(s)`);
    }
    const n = crops.reduce((s, c) => s + c.length, 0) / (3 * S * S);
    let pixelValues: Float32Array | undefined;
    if (crops.length) {
      pixelValues = new Float32Array(n * 3 * S * S); // [n, 3, S, S]
      let o = 0;
      for (const c of crops) {
        pixelValues.set(c, o);
        o += c.length;
      }
    }
    return { prompt, textIds, inputIds, pixelValues, n, grids };
  }

  /** Prepared request -> inputs_embeds [T, H] (vision + merge). */
  embed(p: Prepared, tap?: Tap): Tensor {
    const say = this.options.onProgress ?? (() => {});
    const t0 = performance.now();
    const tick = throttled(3000, say);
    const x = this.model.embed(p.inputIds, p.pixelValues ? { pixelValues: p.pixelValues, n: p.n } : undefined, tap, (done, n) => {
      if (done < n) tick(() => `crop ${done}/${n} encoded (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    });
    if (p.n) say(`${p.n} crop(s) encoded in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return x;
  }

  /** Ovis runner.py `run`: images and strings in order -> the answer. */
  async run(inputs: readonly RunnerInput[]): Promise<RunResult> {
    return this.ask(queryFromInputs(inputs));
  }

  /** A query in the marker convention -> the answer. */
  async ask(q: Query): Promise<RunResult> {
    let result: GenerateResult | undefined;
    let output = '';
    let prompt = '';
    let promptTokens = 0;
    for await (const ev of this.streamQuery(q)) {
      if (ev.type === 'start') {
        prompt = ev.prompt;
        promptTokens = ev.promptTokens;
      }
      if (ev.type === 'text') output += ev.text;
      if (ev.type === 'done') result = ev.generation;
    }
    const generation = result!;
    return { prompt, output, promptTokens, totalTokens: promptTokens + generation.ids.length, generation };
  }

  /** Streams text pieces of the answer (never broken UTF-8), Ovis runner list convention. */
  async *stream(inputs: readonly RunnerInput[]): AsyncGenerator<string, RunResult, void> {
    let prompt = '';
    let promptTokens = 0;
    let output = '';
    for await (const ev of this.streamQuery(queryFromInputs(inputs))) {
      if (ev.type === 'start') {
        prompt = ev.prompt;
        promptTokens = ev.promptTokens;
      }
      if (ev.type === 'text') {
        output += ev.text;
        yield ev.text;
      }
      if (ev.type === 'done') {
        return { prompt, output, promptTokens, totalTokens: promptTokens + ev.generation.ids.length, generation: ev.generation };
      }
    }
    throw new Error('unreachable: stream ended without a result');
  }

  /** The event stream behind run/ask/stream. */
  async *streamQuery(q: Query): AsyncGenerator<RunnerEvent, void, void> {
    const say = this.options.onProgress ?? (() => {});
    const p = this.prepare(q);
    const embeds = await this.embedQuery(p);
    yield { type: 'start', prompt: p.prompt, promptTokens: embeds.shape[0] };
    const o = this.options;
    const tick = throttled(3000, say);
    const decoder = this.tokenizer.decodeStream({ skipSpecialTokens: true });
    let generation: GenerateResult | undefined;
    const it = generateStream(this.model.llm, embeds, {
      eosTokenIds: this.model.eosTokenIds,
      maxNewTokens: o.maxNewTokens ?? 512,
      doSample: o.doSample ?? false,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      repetitionPenalty: o.repetitionPenalty,
      seed: o.seed,
      prefillChunkTokens: o.prefillChunkTokens ?? (o.lowMemory ? 512 : undefined),
      onResult: (r) => {
        generation = r;
      },
      onPrefillLayer: (done, n) => {
        if (done < n) tick(() => `prefill of ${embeds.shape[0]} tokens: layer ${done}/${n}`);
      },
    });
    let first = true;
    for await (const id of it) {
      if (first) {
        say(`prefill of ${embeds.shape[0]} tokens done`);
        first = false;
      }
      const text = decoder.push(id);
      if (text) yield { type: 'text', text, id };
    }
    const tail = decoder.flush();
    if (tail) yield { type: 'text', text: tail, id: -1 };
    const g = generation!;
    yield { type: 'done', generation: g };
    // after the consumer has handled 'done' (e.g. ended its output line)
    say(
      `prefill ${(g.prefillMs / 1000).toFixed(2)} s, ${g.ids.length} token(s) at ${g.tokensPerSecond.toFixed(2)} tokens/s (${g.stopReason})`,
    );
  }

  /**
   * One traced request: every stage of docs/design.md#stage-names goes to `recorder` (vision, merge, the LLM
   * prefill), then a greedy continuation of `maxNewTokens`. `logitsRows` picks the prefill rows
   * whose logits are computed and recorded (the last prompt row is always included).
   */
  trace(q: Query, o: { recorder: Recorder; maxPartition?: number; maxNewTokens: number; logitsRows?: LogitsRows }): TraceResult {
    this.needResident('trace');
    const tap = makeTap(o.recorder);
    const prepared = this.prepare(q, { maxPartition: o.maxPartition });
    const embeds = this.model.embed(
      prepared.inputIds,
      prepared.pixelValues ? { pixelValues: prepared.pixelValues, n: prepared.n } : undefined,
      tap,
    );
    const T = embeds.shape[0];
    const rows =
      o.logitsRows === undefined || o.logitsRows === 'last'
        ? [T - 1]
        : o.logitsRows === 'all'
          ? Array.from({ length: T }, (_, i) => i)
          : o.logitsRows === 'none'
            ? [T - 1]
            : [...new Set([...o.logitsRows, T - 1])].sort((a, b) => a - b);
    const generation = generate(this.model.llm, embeds, {
      eosTokenIds: this.model.eosTokenIds,
      maxNewTokens: o.maxNewTokens,
      doSample: false,
      prefillLogitsRows: rows,
      tap,
    });
    return { prepared, generation, logitsPositions: rows };
  }

  /**
   * One turn of a conversation: `messages` (the whole conversation so far, ending with the user's
   * message) -> events ('images', 'progress', 'start', 'text' pieces, 'done') and the result.
   * The runner keeps the previous conversation's KV cache and prefills only what follows the
   * longest common prefix, and caches images' visual embeddings by content: resending a history
   * costs only its new turn. Options override the load-time defaults for this call; `signal`
   * cancels within one decode step. One chat at a time per runner. See src/conversation.ts.
   */
  chat(messages: readonly ChatMessage[], options: GenerationOptions = {}): AsyncGenerator<ChatEvent, ChatResult, void> {
    this.needResident('chat');
    const o = this.options;
    this.conversations ??= new Conversations({
      model: this.model,
      tokenizer: this.tokenizer,
      formatter: this.formatter,
      defaults: {
        maxNewTokens: o.maxNewTokens,
        doSample: o.doSample,
        temperature: o.temperature,
        topP: o.topP,
        topK: o.topK,
        repetitionPenalty: o.repetitionPenalty,
        seed: o.seed,
        maxPartition: o.maxPartition,
      },
      visualCacheBytes: o.cacheMb === undefined ? undefined : Math.max(0, o.cacheMb) * 2 ** 20,
    });
    return this.conversations.chat(messages, options);
  }

  /** chat() to the end: the result only. */
  async chatComplete(messages: readonly ChatMessage[], options: GenerationOptions = {}): Promise<ChatResult> {
    const it = this.chat(messages, options);
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
    }
  }

  /** Forget the cached conversation: the next chat() prefills from scratch. Cached images stay
   *  unless `images` is true. */
  resetConversation(opts: { images?: boolean } = {}): void {
    this.conversations?.reset();
    if (opts.images) this.conversations?.visual.clear();
  }

  private needResident(what: string): void {
    if (this.options.lowMemory) {
      throw new InputError(
        `OvisRunner.${what}: needs the vision half and the LLM resident together, and this runner was loaded with lowMemory`,
        'load without lowMemory (ovis run --low-memory answers one question at a time)',
      );
    }
  }

  dispose(): void {
    this.conversations?.dispose();
    this.loaded?.dispose();
  }
}

/** Side of a crop (image_size, 384). */
function cropSizeOf(config: OvisConfig): number {
  return config.visual_tokenizer_config.backbone_config.image_size;
}

export interface TraceResult {
  prepared: Prepared;
  generation: GenerateResult;
  /** Prefill rows whose logits were recorded as the `logits` stage, in order. */
  logitsPositions: number[];
}

export type RunnerEvent =
  | { type: 'start'; prompt: string; promptTokens: number }
  | { type: 'text'; text: string; id: number }
  | { type: 'done'; generation: GenerateResult };

/** An image file larger than this is refused before it is read (an uncompressed BMP at Pillow's
 *  pixel limit is ~360 MB). */
export const MAX_IMAGE_FILE_BYTES = 1 << 30;

/** What readImageFile returned -> its path, so an error in `prepare` (corrupt data found while
 *  decoding, a crop too thin to resize) names the file rather than "image 2". A WeakMap keyed
 *  on the caller's own object: no field added to it, nothing kept alive. */
const imageLabels = new WeakMap<ImageInput, string>();

/**
 * Read an image file (CLI and examples). Unreadable paths (missing, a directory) and files that
 * are no image at all fail here, naming the path; later errors on these bytes name it too.
 * `decode: true` also decodes it (every corrupt-data error surfaces now, before a model loads).
 */
export async function readImageFile(path: string): Promise<Uint8Array>;
export async function readImageFile(path: string, opts: { decode: true }): Promise<RgbImage>;
export async function readImageFile(path: string, opts: { decode?: boolean } = {}): Promise<ImageInput> {
  const { readFile, readdir, stat } = await import('node:fs/promises'); // node-only, loaded on use
  const { join } = await import('node:path');
  let bytes: Uint8Array;
  try {
    // a FIFO or device would block the read (or never end): refuse by kind first
    const st = await stat(path);
    if (!st.isFile() && !st.isDirectory()) {
      throw new InputError(`image ${path}: is not a regular file (a FIFO, socket or device)`, 'give the path of an image file');
    }
    if (st.size > MAX_IMAGE_FILE_BYTES) {
      throw new InputError(
        `image ${path}: ${st.size} bytes; an image file has at most ${MAX_IMAGE_FILE_BYTES} (1 GiB)`,
        'downscale or recompress it',
      );
    }
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'EISDIR') {
      let inside: string[] = [];
      try {
        inside = (await readdir(path)).filter((f) => /\.(png|jpe?g|webp|gif|bmp)$/i.test(f)).slice(0, 3);
      } catch {
        /* only for the hint */
      }
      throw new InputError(
        `image ${path}: is a directory, expected an image file`,
        inside.length
          ? `give one file per image, e.g. ${inside.map((f) => `--image ${join(path, f)}`).join(' ')}`
          : `give one image file per image (${SUPPORTED_FORMATS})`,
      );
    }
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new InputError(
      `image ${path}: cannot read it: ${why}${code ? ` (${code})` : ''}`,
      code === 'ENOENT' ? `check the path; a relative path starts at the current directory, ${process.cwd()}` : undefined,
    );
  }
  if (!opts.decode) {
    // decodeImage refuses an unrecognised format (a text file, an empty one) before decoding anything
    if (sniffFormat(bytes) === 'unknown') decodeImage(bytes, { label: path });
    imageLabels.set(bytes, path);
    return bytes;
  }
  const img = decodeImage(bytes, { label: path });
  imageLabels.set(img, path);
  return img;
}

/** A warning when the weights alone approach the machine's RAM: the OS would kill the process
 *  part-way through loading (no catchable error), so say it before reading any weight. */
async function memoryWarning(ckpt: Checkpoint, model: string | ModelSource, lowMemory: boolean): Promise<string | undefined> {
  // synchronous lookup, not import('node:os'): a browser would request 'node:os' as a URL
  const os = nodeBuiltin<{ totalmem(): number }>('node:os');
  if (!os) return undefined; // a runtime without node:os (a browser): nothing to compare with
  let total: number;
  try {
    total = os.totalmem();
  } catch {
    return undefined; // Deno without --allow-sys: not allowed to ask
  }
  // lowMemory holds one half at a time: the LLM, or the vision tower + head + VTE
  const half = (llm: boolean) =>
    residentWeightBytes({
      tensors: new Map([...ckpt.tensors].filter(([n]) => n.startsWith('llm.') === llm)),
      quantization: ckpt.quantization,
    });
  const larger = Math.max(half(true), half(false));
  const bytes = lowMemory ? larger : residentWeightBytes(ckpt);
  if (bytes > total)
    throw weightsExceedRam(bytes, total, ckpt, typeof model === 'string' ? model : model.label, lowMemory ? undefined : larger);
  return weightsVsRam(bytes, total);
}

/** Bytes the weights take once loaded: float tensors as stored (F16 is widened to f32 by the wasm
 *  backend: counted twice), a GPTQ Linear as its packed words plus f32 scales and zeros per group. */
export function residentWeightBytes(ckpt: { tensors: ReadonlyMap<string, TensorInfo>; quantization: GptqConfig | null }): number {
  let bytes = 0;
  for (const [name, t] of ckpt.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (name.endsWith('.qzeros') || name.endsWith('.g_idx')) continue; // unpacked into f32 zeros (counted with scales) / a permutation at most
    if (name.endsWith('.scales') && ckpt.quantization)
      bytes += n * 8; // f32 scale + f32 zero per (group, column)
    else bytes += t.dtype === 'F16' ? n * 4 : t.byteLength;
  }
  return bytes;
}

/** The refusal when a checkpoint's weights alone exceed the machine's RAM: how much it needs, and
 *  (for a float checkpoint) the int4 size and the command that makes it. */
export function weightsExceedRam(
  bytes: number,
  total: number,
  ckpt: Pick<Checkpoint, 'config' | 'quantization'>,
  model: string,
  /** The larger half (LLM, or vision tower + head + VTE) when both were counted: if it fits,
   *  `ovis run --low-memory` (one half at a time) is the first suggestion. */
  largerHalf?: number,
): InputError {
  const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
  if (largerHalf !== undefined && largerHalf < 0.9 * total) {
    return new InputError(
      `${model}: the weights need about ${gb(bytes)} of RAM with the vision half and the LLM resident together, and this machine has ${gb(total)}`,
      `ovis run --low-memory holds one half at a time (at most ${gb(largerHalf)} of weights) and gives the same answer; chat and serve need both halves`,
    );
  }
  const what = ckpt.quantization ? `${ckpt.quantization.bits}-bit GPTQ` : 'float (bf16)';
  if (ckpt.quantization) {
    return new InputError(
      `${model}: the ${what} weights need about ${gb(bytes)} of RAM and this machine has ${gb(total)}`,
      'use a machine with more memory, or a smaller model',
    );
  }
  const q4 = residentWeightBytes({
    tensors: new Map(
      expectedTensors(ckpt.config, { bits: 4, group_size: 128 }).map((e) => [
        e.name,
        {
          name: e.name,
          dtype: e.dtype ?? 'BF16',
          shape: e.shape,
          file: '',
          dataOffset: 0,
          byteLength: e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype ?? 'BF16'],
        },
      ]),
    ),
    quantization: { quant_method: 'gptq', bits: 4, group_size: 128, sym: true, desc_act: false, checkpoint_format: 'gptq', source: '' },
  });
  return new InputError(
    `${model}: the ${what} weights need about ${gb(bytes)} of RAM (plus ~1 GB for activations) and this machine has ${gb(total)}: refused before loading`,
    `quantize the LLM to int4 (about ${gb(q4)} in memory): ovis quantize --model ${model} --to int4 --out DIR, then ovis run --model DIR`,
  );
}

/** The warning text when `bytes` of weights exceed 90% of `total` bytes of RAM, else undefined. */
export function weightsVsRam(bytes: number, total: number): string | undefined {
  if (!(bytes > 0.9 * total)) return undefined;
  return (
    `warning: the weights take ${(bytes / 1e9).toFixed(1)} GB and this machine has ${(total / 1e9).toFixed(1)} GB of RAM; ` +
    'loading may be killed by the OS (bf16 weights stay bf16; `ovis quantize --to int4` makes a ~3.5x smaller checkpoint)'
  );
}
