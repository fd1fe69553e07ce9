// POST /v1/chat/completions — the OpenAI Chat Completions API, the subset a vision chat needs:
// messages (string or text/image_url parts; images only as data: URLs), max_tokens /
// max_completion_tokens, temperature (0 = greedy, > 0 samples), top_p, seed, stop, n = 1,
// stream (+ stream_options.include_usage). Also accepted, as vLLM does: top_k,
// repetition_penalty, and max_partition (Ovis's crops per image). Unknown fields are ignored
// (clients send many); fields we cannot honour (n > 1, tools, logprobs, response_format) are refused.
// Reference: https://platform.openai.com/docs/api-reference/chat

import type { ChatMessage, ChatResult, ContentPart, GenerationOptions } from '../conversation-types.js';
import { type ChatJob, dropUndefined } from './api-chat.js';
import { badField, HttpError } from './errors.js';
import { array, isObject, kind, LIMITS, object, optBoolean, optNumber, string } from './fields.js';
import { imageFromDataUrl } from './images.js';

export interface CompletionJob extends ChatJob {
  stream: boolean;
  includeUsage: boolean;
}

/** `model` must name the served model (see ServerOptions.modelIds), else 404 as OpenAI answers. */
export function parseCompletionRequest(body: Record<string, unknown>, modelIds: readonly string[]): CompletionJob {
  const model = body.model;
  if (typeof model !== 'string') throw badField('model', `expected the model's id (${modelIds[0]}), got ${kind(model)}`);
  if (!modelIds.includes(model)) {
    throw new HttpError(
      404,
      `The model '${model}' does not exist: this server serves '${modelIds[0]}' (GET /v1/models)`,
      'model_not_found',
      'model',
    );
  }
  const n = optNumber(body.n, 'n', 1, 128, true);
  if (n !== undefined && n !== 1) throw badField('n', `only n = 1 is supported (one generation at a time), got ${n}`);
  for (const k of ['tools', 'functions', 'response_format', 'logit_bias']) {
    if (body[k] !== undefined && body[k] !== null) throw badField(k, 'not supported by this server');
  }
  if (body.logprobs === true) throw badField('logprobs', 'not supported by this server');
  for (const k of ['frequency_penalty', 'presence_penalty']) {
    if (optNumber(body[k], k, -2, 2)) throw badField(k, 'not supported (only 0); repetition_penalty is, as in vLLM');
  }

  const imageParams: string[] = [];
  const messages = array(body.messages, 'messages', 1).map((m, i) => parseMessage(m, `messages[${i}]`, imageParams));
  const num = (k: string, lim: readonly [number, number], int = false) => optNumber(body[k], k, lim[0], lim[1], int);
  const maxTokens = num('max_completion_tokens', LIMITS.maxNewTokens, true) ?? num('max_tokens', LIMITS.maxNewTokens, true);
  const temperature = num('temperature', [0, 2]);
  const topP = num('top_p', LIMITS.topP);
  if (topP === 0) throw badField('top_p', 'expected a number in (0, 1], got 0');
  const topK = num('top_k', LIMITS.topK, true);
  // temperature 0 is greedy (as OpenAI documents it: "more deterministic"); > 0 samples; not
  // given: the server's default, unless top_p < 1 or top_k asks for sampling (as `ovis run` does)
  const doSample = temperature === 0 ? false : temperature !== undefined || (topP !== undefined && topP < 1) || topK ? true : undefined;
  const options: GenerationOptions = dropUndefined({
    maxNewTokens: maxTokens,
    doSample,
    temperature: temperature === 0 ? undefined : temperature,
    topP: doSample === false ? undefined : topP,
    topK: doSample === false ? undefined : topK,
    repetitionPenalty: num('repetition_penalty', LIMITS.repetitionPenalty),
    seed: num('seed', [-(2 ** 63), 2 ** 63], true) === undefined ? undefined : seedOf(body.seed as number),
    stop: parseStop(body.stop),
    maxPartition: num('max_partition', LIMITS.maxPartition, true),
  });
  const stream = optBoolean(body.stream, 'stream') ?? false;
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    const so = object(body.stream_options, 'stream_options');
    includeUsage = optBoolean(so.include_usage, 'stream_options.include_usage') ?? false;
  }
  return { messages, options, imageParams, stream, includeUsage };
}

/** OpenAI seeds are any int64; the sampler's PRNG takes 31 bits. */
const seedOf = (s: number) => Number(BigInt.asUintN(31, BigInt(s)));

function parseStop(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : array(v, 'stop').map((s, i) => string(s, `stop[${i}]`));
  if (list.length > 4) throw badField('stop', `at most 4 stop sequences, got ${list.length}`);
  list.forEach((s, i) => {
    if (s === '') throw badField(typeof v === 'string' ? 'stop' : `stop[${i}]`, 'an empty stop sequence');
  });
  return list.length ? list : undefined;
}

function parseMessage(v: unknown, param: string, imageParams: string[]): ChatMessage {
  const m = object(v, param);
  // 'developer' is OpenAI's new name for the system role
  const role = m.role === 'developer' ? 'system' : m.role;
  if (role !== 'system' && role !== 'user' && role !== 'assistant') {
    throw badField(`${param}.role`, `expected system, developer, user or assistant, got ${kind(m.role)}`);
  }
  const c = m.content;
  if (typeof c === 'string') return { role, content: c };
  const parts = array(c, `${param}.content`).map((p, j): ContentPart => {
    const pp = `${param}.content[${j}]`;
    const part = object(p, pp);
    if (part.type === 'text') return { type: 'text', text: string(part.text, `${pp}.text`) };
    if (part.type === 'image_url') {
      if (role !== 'user')
        throw badField(pp, `images are accepted in user messages only, this is a${role === 'assistant' ? 'n' : ''} ${role} message`);
      // {image_url: {url, detail?}}, or the plain string some clients send
      const iu = part.image_url;
      const url = isObject(iu) ? iu.url : iu;
      const where = isObject(iu) ? `${pp}.image_url.url` : `${pp}.image_url`;
      imageParams.push(where);
      return { type: 'image', image: imageFromDataUrl(url, where) };
    }
    throw badField(`${pp}.type`, `expected 'text' or 'image_url', got ${kind(part.type)}`);
  });
  return { role, content: parts };
}

// ---------------------------------------------------------------------------------------------
// Responses

export type FinishReason = 'stop' | 'length';

/** eos and a stop string both end the answer normally ('stop'); the token budget is 'length'. */
export function finishReason(r: ChatResult): FinishReason {
  return r.stopReason === 'length' ? 'length' : 'stop';
}

export function usage(r: ChatResult) {
  return {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
    prompt_tokens_details: { cached_tokens: r.cachedTokens },
  };
}

export function completionId(): string {
  return `chatcmpl-${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

export function completion(id: string, model: string, created: number, text: string, r: ChatResult) {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason(r) }],
    usage: usage(r),
  };
}

export function chunk(id: string, model: string, created: number, delta: Record<string, unknown>, finish: FinishReason | null) {
  return { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

export function usageChunk(id: string, model: string, created: number, r: ChatResult) {
  return { id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(r) };
}
