// The tokenizer's own chat_template (tokenizer_config.json), rendered with @huggingface/jinja —
// an alternative for users who want the Hugging Face template. For Ovis checkpoints it is the
// BASE model's template, not what Ovis was trained with (see docs/tokenizer.md): e.g. Meta's
// Llama 3.2 template adds a "Cutting Knowledge Date ... Today Date ..." system header, and
// neither template knows about <image>. Prefer createFormatter() for Ovis.

import { Template } from '@huggingface/jinja';
import { InputError } from '../errors.js';

export type ChatMessage = { role: string; content: string };
export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Extra variables for the template (e.g. date_string, tools). */
  extra?: Record<string, unknown>;
}

export function renderChatTemplate(template: string, messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
  let t: Template;
  try {
    t = new Template(template);
  } catch (e) {
    throw new InputError(`chat_template does not parse: ${(e as Error).message}`, 'is this a Jinja chat template from tokenizer_config.json?');
  }
  try {
    return t.render({
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      bos_token: opts.bosToken ?? '',
      eos_token: opts.eosToken ?? '',
      ...opts.extra,
    });
  } catch (e) {
    throw new InputError(`chat_template failed to render: ${(e as Error).message}`);
  }
}
