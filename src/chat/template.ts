// The tokenizer's own chat_template (tokenizer_config.json), rendered with @huggingface/jinja —
// an alternative for users who want the Hugging Face template. For Ovis checkpoints it is the
// BASE model's template, not what Ovis was trained with (see docs/tokenizer.md): e.g. Meta's
// Llama 3.2 template adds a "Cutting Knowledge Date ... Today Date ..." system header, and
// neither template knows about <image>. Prefer createFormatter() for Ovis.

import { Environment, Interpreter, Template } from '@huggingface/jinja';
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
    throw new InputError(
      `chat_template does not parse: ${(e as Error).message}`,
      'is this a Jinja chat template from tokenizer_config.json?',
    );
  }
  // A template from a checkpoint is code from an unknown source: its render gets a budget. Every
  // node the interpreter evaluates and every variable it binds (each loop iteration binds its
  // variables, without evaluating a node when the body is empty) counts one step, and range()
  // (the only builtin that allocates in proportion to a number) has an element budget; past
  // either, the render stops with a typed error instead of running for hours or allocating
  // gigabytes. The interpreter runs synchronously, so the counting wrappers are in place for
  // exactly this render.
  let steps = 0;
  let rangeElements = 0;
  const budgetError = (what: string) =>
    new InputError(
      `chat_template exceeded its budget: ${what}`,
      'a chat template renders a conversation in far fewer steps; is it from a trusted tokenizer_config.json?',
    );
  const boundedRange = (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) {
      stop = start;
      start = 0;
    }
    if (step === 0) throw new Error('range() step must not be zero');
    const n = Math.max(0, Math.ceil((stop - start) / step));
    if (!Number.isFinite(n) || (rangeElements += n) > TEMPLATE_BUDGET.rangeElements) {
      throw budgetError(`range() asked for ${n} more elements (at most ${TEMPLATE_BUDGET.rangeElements} in one render)`);
    }
    return Array.from({ length: n }, (_, i) => start + i * step);
  };
  // the library declares its globals (range among them) with Environment.set when render starts
  const proto = Interpreter.prototype as unknown as { evaluate: (this: unknown, ...a: unknown[]) => unknown };
  const envProto = Environment.prototype as unknown as {
    set: (this: unknown, name: string, value: unknown) => unknown;
    setVariable: (this: unknown, ...a: unknown[]) => unknown;
  };
  const evaluate = proto.evaluate;
  const set = envProto.set;
  const setVariable = envProto.setVariable;
  envProto.setVariable = function (this: unknown, ...a: unknown[]) {
    // loop variables, {% set %}
    if (++steps > TEMPLATE_BUDGET.steps) throw budgetError(`more than ${TEMPLATE_BUDGET.steps} evaluation steps`);
    return setVariable.apply(this, a);
  };
  proto.evaluate = function (this: unknown, ...a: unknown[]) {
    if (++steps > TEMPLATE_BUDGET.steps) throw budgetError(`more than ${TEMPLATE_BUDGET.steps} evaluation steps`);
    return evaluate.apply(this, a);
  };
  envProto.set = function (this: unknown, name: string, value: unknown) {
    if (++steps > TEMPLATE_BUDGET.steps) throw budgetError(`more than ${TEMPLATE_BUDGET.steps} evaluation steps`);
    return set.call(this, name, name === 'range' && typeof value === 'function' ? boundedRange : value);
  };
  try {
    return t.render({
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      bos_token: opts.bosToken ?? '',
      eos_token: opts.eosToken ?? '',
      ...opts.extra,
    });
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`chat_template failed to render: ${(e as Error).message}`);
  } finally {
    proto.evaluate = evaluate;
    envProto.set = set;
    envProto.setVariable = setVariable;
  }
}

/** Render budgets: a real chat template takes tens of steps per message (Llama 3.1's renders a
 *  1,000-turn conversation in ~25k steps, 60 ms) and ranges of a few elements; the interpreter
 *  takes ~2 s for 500k steps of an empty loop, the worst a hostile template gets. */
export const TEMPLATE_BUDGET = { steps: 500_000, rangeElements: 1_000_000 };
