// The conversation API's types (OvisRunner.chat): messages in, events out. Kept apart from the
// implementation (src/conversation.ts) so that front ends — `ovis serve`, `ovis chat` — depend
// only on this contract.

import type { RgbImage } from './image/index.js';

/** An image as encoded file bytes (PNG/JPEG/BMP/GIF/WebP) or decoded RGB. */
export type ImageInput = Uint8Array | RgbImage;

export type ContentPart = { type: 'text'; text: string } | { type: 'image'; image: ImageInput };

/**
 * One message of a conversation. `content` is text, or parts in order; an image part stands
 * where the image goes (Ovis's `<image>` marker). The last message must be the user's: the
 * assistant's answer to it is generated. A 'system' message may only come first; Gemma's
 * formatter has no system turn and refuses one (InputError), as Ovis does.
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
}

/** Per-call generation settings; unset fields fall back to the runner's load-time options. */
export interface GenerationOptions {
  maxNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  seed?: number;
  /** Stop strings: generation ends when the text contains one; it is not part of the output. */
  stop?: string[];
  /** At most this many crops per image (Ovis max_partition; default the runner's, 9). */
  maxPartition?: number;
  /** Aborting ends generation within one decode step (stopReason 'aborted'); the runner stays usable. */
  signal?: AbortSignal;
}

/** What the model sees of one image of the conversation. */
export interface ImageSummary {
  /** Position among the conversation's images (0-based, in order). */
  index: number;
  width: number;
  height: number;
  /** The Ovis grid (rows, cols) chosen for it. */
  grid: [number, number];
  /** Crops encoded for it (the global view first when the grid has more than one cell). */
  crops: number;
  /** Crop boxes in the original image, [left, top, right, bottom], in crop order. */
  boxes: Array<[number, number, number, number]>;
  /** LLM positions it takes (visual tokens + indicators). */
  tokens: number;
  /** True when its visual embeddings came from the cache (no vision work this turn). */
  cached: boolean;
}

export type ChatEvent =
  /** After preprocessing: every image of the conversation, in order. */
  | { type: 'images'; images: ImageSummary[] }
  /** Long work: crops encoded (done/total of THIS turn's uncached crops), prefill layers. */
  | { type: 'progress'; stage: 'vision' | 'prefill'; done: number; total: number }
  /** Before the first token: the prompt length and how much of it came from the KV cache. */
  | { type: 'start'; promptTokens: number; cachedTokens: number }
  /** A piece of the answer (never broken UTF-8). */
  | { type: 'text'; text: string }
  | { type: 'done'; result: ChatResult };

export interface ChatResult {
  output: string;
  /** Generated ids (eos included when it stopped generation). */
  ids: number[];
  promptTokens: number;
  completionTokens: number;
  /** Prompt positions reused from the previous turn's KV cache (not prefilled again). */
  cachedTokens: number;
  stopReason: 'eos' | 'length' | 'stop' | 'aborted';
  timings: {
    /** Vision (uncached crops) + merge. */
    visionMs: number;
    /** Prefill of the positions after the cached prefix. */
    prefillMs: number;
    decodeMs: number;
    /** From the call to the first token. */
    firstTokenMs: number;
    totalMs: number;
    tokensPerSecond: number;
  };
}
