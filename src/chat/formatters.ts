// Ovis1.6 conversation formatters — mirror AIDC-AI/Ovis commit 831b595,
// ovis/model/conversation_formatter.py (QwenConversationFormatter, Llama3ConversationFormatter,
// GemmaConversationFormatter). These, not the tokenizer's chat_template, are what Ovis1.6 was
// trained and evaluated with. Labels (training only) are not produced.
//
// Shared rule (`_tokenize_with_image_symbol`): the text of a turn is cut on "<image>", each chunk
// is tokenized WITHOUT special tokens, and the chunks are joined with IMAGE_TOKEN_ID (-200).
// Special-token strings inside a chunk ("<|eot_id|>") are still recognised as added tokens,
// exactly like the HF tokenizer does.

import { IMAGE_TOKEN, IMAGE_TOKEN_ID } from '../constants.js';
import { InputError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { pyStrip } from '../tokenizer/unicode.js';

export type Turn = { from: 'system' | 'human' | 'gpt'; value: string };
export interface FormatOptions {
  /** Python's generation_preface: null/undefined -> every turn closed; a string (even '') -> an
   *  open assistant turn starting with it (its end marker is not appended). */
  generationPreface?: string | null;
}
export interface Formatted {
  prompt: string;
  inputIds: number[];
}

export interface ConversationFormatter {
  format(conversations: Turn[], opts?: FormatOptions): Formatted;
  /** One human turn; generationPreface defaults to '' (an open assistant turn), as in Ovis. */
  formatQuery(query: string, generationPreface?: string): Formatted;
}

export const FORMATTER_CLASSES = ['Llama3ConversationFormatter', 'GemmaConversationFormatter', 'QwenConversationFormatter'] as const;
export type FormatterClass = (typeof FORMATTER_CLASSES)[number];

/** `ConversationFormatter._tokenize_with_image_symbol`. */
export function tokenizeWithImageSymbol(tok: Tokenizer, text: string): number[] {
  const ids: number[] = [];
  const chunks = text.split(IMAGE_TOKEN);
  chunks.forEach((chunk, i) => {
    for (const id of tok.encode(chunk, { addSpecialTokens: false })) ids.push(id);
    if (i < chunks.length - 1) ids.push(IMAGE_TOKEN_ID);
  });
  return ids;
}

interface Style {
  from2role: Partial<Record<Turn['from'], string>>;
  imEnd: string;
  bos: string | null;
  defaultSystem: string | null; // inserted when the first turn is not a system turn
  strip: boolean; // Llama3 and Gemma strip each message (Python str.strip), Qwen does not
  rejectSystem: boolean; // Gemma: "Gemma does not support system prompt"
}

const STYLES: Record<FormatterClass, Style> = {
  QwenConversationFormatter: {
    from2role: { system: '<|im_start|>system\n', human: '<|im_start|>user\n', gpt: '<|im_start|>assistant\n' },
    imEnd: '<|im_end|>\n',
    bos: null,
    defaultSystem: 'You are a helpful assistant.',
    strip: false,
    rejectSystem: false,
  },
  Llama3ConversationFormatter: {
    from2role: {
      system: '<|start_header_id|>system<|end_header_id|>\n\n',
      human: '<|start_header_id|>user<|end_header_id|>\n\n',
      gpt: '<|start_header_id|>assistant<|end_header_id|>\n\n',
    },
    imEnd: '<|eot_id|>',
    bos: '<|begin_of_text|>',
    defaultSystem: 'You are a helpful and honest multimodal assistant.',
    strip: true,
    rejectSystem: false,
  },
  GemmaConversationFormatter: {
    from2role: { human: '<start_of_turn>user\n', gpt: '<start_of_turn>model\n' },
    imEnd: '<end_of_turn>\n',
    bos: '<bos>',
    defaultSystem: null,
    strip: true,
    rejectSystem: true,
  },
};

class OvisFormatter implements ConversationFormatter {
  constructor(
    readonly name: FormatterClass,
    private readonly style: Style,
    private readonly tok: Tokenizer,
  ) {}

  format(conversations: Turn[], opts: FormatOptions = {}): Formatted {
    const st = this.style;
    if (conversations.length === 0)
      throw new InputError(`${this.name}.format: conversations is empty`, 'pass at least one {from: "human", value} turn');
    const convs = conversations.slice(); // Python mutates its argument; we do not
    if (st.rejectSystem && convs[0]!.from === 'system') {
      throw new InputError(
        `${this.name}: Gemma does not support system prompt (conversations[0].from is "system")`,
        'fold the system text into the first human turn',
      );
    }
    if (st.defaultSystem !== null && convs[0]!.from !== 'system') convs.unshift({ from: 'system', value: st.defaultSystem });
    const preface = opts.generationPreface;
    if (preface !== undefined && preface !== null) convs.push({ from: 'gpt', value: preface });

    let prompt = '';
    const inputIds: number[] = [];
    if (st.bos !== null) {
      prompt += st.bos;
      for (const id of this.tok.encode(st.bos, { addSpecialTokens: false })) inputIds.push(id);
    }
    convs.forEach((c, i) => {
      // own keys only: `from: "toString"` must not find Object.prototype.toString
      const role = Object.hasOwn(st.from2role, c.from) ? st.from2role[c.from] : undefined;
      if (role === undefined) {
        throw new InputError(
          `${this.name}: conversations[${i}].from is ${JSON.stringify(c.from)}, expected one of ${Object.keys(st.from2role)
            .map((k) => JSON.stringify(k))
            .join(', ')}`,
        );
      }
      if (typeof c.value !== 'string') throw new InputError(`${this.name}: conversations[${i}].value must be a string`);
      let text = role + (st.strip ? pyStrip(c.value) : c.value);
      if (i < convs.length - 1 || preface === undefined || preface === null) text += st.imEnd;
      prompt += text;
      // a loop, not push(...ids): a spread of a long prompt's ids overflows the call stack
      for (const id of tokenizeWithImageSymbol(this.tok, text)) inputIds.push(id);
    });
    // Ovis asserts that tokenizing the whole prompt gives the same ids (it can differ only if
    // a turn boundary falls inside a merge); we keep the check so we fail where Python fails.
    const again = tokenizeWithImageSymbol(this.tok, prompt);
    if (again.length !== inputIds.length || again.some((x, k) => x !== inputIds[k])) {
      throw new InputError(
        `${this.name}: tokenizing the whole prompt differs from tokenizing turn by turn (Ovis asserts they are equal)`,
        'a turn probably ends or starts with text that merges across the boundary',
      );
    }
    return { prompt, inputIds };
  }

  formatQuery(query: string, generationPreface = ''): Formatted {
    return this.format([{ from: 'human', value: query }], { generationPreface });
  }
}

/** `conversation_formatter_class` from the Ovis config.json -> a formatter bound to `tokenizer`. */
export function createFormatter(conversationFormatterClass: string, tokenizer: Tokenizer): ConversationFormatter {
  if (!(FORMATTER_CLASSES as readonly string[]).includes(conversationFormatterClass)) {
    throw new InputError(
      `conversation_formatter_class ${JSON.stringify(conversationFormatterClass)} is not supported`,
      `expected one of ${FORMATTER_CLASSES.join(', ')} (Ovis1.6)`,
    );
  }
  const name = conversationFormatterClass as FormatterClass;
  return new OvisFormatter(name, STYLES[name], tokenizer);
}
