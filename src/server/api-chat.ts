// POST /api/chat — the web page's protocol (docs/serve.md, "POST /api/chat"):
//   request  {messages: [{role, content: string | [{type:'text', text} | {type:'image', data: 'data:image/...;base64,...'}]}],
//             options?: {maxNewTokens, doSample, temperature, topP, topK, repetitionPenalty, seed, maxPartition}}
//   response text/event-stream, one JSON object per `data:` line: {type:'queued', position} while
//            waiting, then the runner's ChatEvents as they are, or {type:'error', error}; it ends
//            after 'done' or 'error'.
// Field names are the library's own (GenerationOptions, ChatMessage), so the page speaks the API.

import type { ChatMessage, ContentPart, GenerationOptions } from '../conversation-types.js';
import { badField } from './errors.js';
import { array, kind, LIMITS, object, optBoolean, optNumber, string } from './fields.js';
import { imageFromDataUrl } from './images.js';

const ROLES = ['system', 'user', 'assistant'] as const;
const OPTION_KEYS = ['maxNewTokens', 'doSample', 'temperature', 'topP', 'topK', 'repetitionPenalty', 'seed', 'maxPartition'];

export interface ChatJob {
  messages: ChatMessage[];
  options: GenerationOptions;
  /** Each image's request path, in conversation order: the runner's "image N" errors are
   *  reported as the part that sent it. */
  imageParams: string[];
}

export function parseApiChat(body: Record<string, unknown>): ChatJob {
  for (const k of Object.keys(body))
    if (k !== 'messages' && k !== 'options') throw badField(k, 'unknown field (expected messages, options)');
  const imageParams: string[] = [];
  const messages = array(body.messages, 'messages', 1).map((m, i) => parseMessage(m, `messages[${i}]`, imageParams));
  return { messages, options: parseOptions(body.options), imageParams };
}

function parseMessage(v: unknown, param: string, imageParams: string[]): ChatMessage {
  const m = object(v, param);
  const role = m.role;
  if (!ROLES.includes(role as never)) throw badField(`${param}.role`, `expected one of ${ROLES.join(', ')}, got ${kind(role)}`);
  const c = m.content;
  if (typeof c === 'string') return { role: role as ChatMessage['role'], content: c };
  const parts = array(c, `${param}.content`).map((p, j): ContentPart => {
    const pp = `${param}.content[${j}]`;
    const part = object(p, pp);
    if (part.type === 'text') return { type: 'text', text: string(part.text, `${pp}.text`) };
    if (part.type === 'image') {
      imageParams.push(`${pp}.data`);
      return { type: 'image', image: imageFromDataUrl(part.data, `${pp}.data`) };
    }
    throw badField(`${pp}.type`, `expected 'text' or 'image', got ${kind(part.type)}`);
  });
  return { role: role as ChatMessage['role'], content: parts };
}

/** The page's options. Sampling follows `ovis run`: doSample when given, else temperature 0 means
 *  greedy and any of temperature/topP/topK turns sampling on; unset fields take the server's
 *  defaults (the runner's load-time options). */
function parseOptions(v: unknown): GenerationOptions {
  if (v === undefined || v === null) return {};
  const o = object(v, 'options');
  for (const k of Object.keys(o))
    if (!OPTION_KEYS.includes(k)) throw badField(`options.${k}`, `unknown option (known: ${OPTION_KEYS.join(', ')})`);
  const n = (k: keyof typeof LIMITS, int = false) => optNumber(o[k], `options.${k}`, LIMITS[k][0], LIMITS[k][1], int);
  const out: GenerationOptions = {
    maxNewTokens: n('maxNewTokens', true),
    temperature: n('temperature'),
    topP: n('topP'),
    topK: n('topK', true),
    repetitionPenalty: n('repetitionPenalty'),
    seed: n('seed', true),
    maxPartition: n('maxPartition', true),
  };
  if (out.topP === 0) throw badField('options.topP', 'expected a number in (0, 1], got 0 (1 keeps every token)');
  const doSample = optBoolean(o.doSample, 'options.doSample');
  out.doSample =
    doSample ??
    (out.temperature === 0 ? false : out.temperature !== undefined || out.topP !== undefined || out.topK !== undefined ? true : undefined);
  if (out.doSample && out.temperature === 0) throw badField('options.temperature', '0 means greedy decoding, but doSample is true');
  return dropUndefined(out);
}

export function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
