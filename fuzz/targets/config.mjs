// Target `config`: parseOvisConfig / parseGenerationConfig / parsePreprocessorConfig on
// structurally mutated JSON (values retyped, hostile numbers — negative, fractional, 1e308,
// 2^53, limits ± 1 — keys deleted or added, arrays blown up, trees nested thousands deep). An
// accepted config.json is then used the way `ovis inspect` and loading use it:
// expectedTensors + countParameters + numPatches + visualTokensPerCrop.
// Seeds: reference/fixtures/tiny/{llama,gemma2}/{config,generation_config,preprocessor_config}.json.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutateJson } from '../mutate.mjs';

export const name = 'config';
const FILES = ['config.json', 'generation_config.json', 'preprocessor_config.json'];

export async function setup({ lib, root }) {
  const seeds = [];
  for (const m of ['llama', 'gemma2']) {
    const dir = join(root, 'reference/fixtures/tiny', m);
    for (const f of FILES) seeds.push({ file: f, model: m, json: JSON.parse(readFileSync(join(dir, f), 'utf8')) });
  }
  const llm = Object.fromEntries(
    seeds.filter((s) => s.file === 'config.json').map((s) => [s.model, lib.parseOvisConfig(s.json, 'config.json').llm_config]),
  );
  return { seeds, llm };
}

export function generate(rng, { seeds }) {
  const seed = rng.pick(seeds);
  const recipe = [`seed ${seed.model}/${seed.file}`];
  let json = structuredClone(seed.json);
  // config.json is big: aim half of the edits at the fields the model is built from
  const hot = (p) =>
    p.some(
      (k) =>
        typeof k === 'string' &&
        /size|layers|heads|dim|vocab|stride|window|rope|theta|eps|token_id|max|softcap|scal|patch|image|partition|type|class/.test(k),
    );
  for (let k = rng.small(5); k > 0; k--) json = mutateJson(rng, json, recipe, rng.bool() ? hot : undefined);
  // files are serialised only when a failing case is dumped (a blown-up tree can be too big to stringify)
  return {
    recipe,
    file: seed.file,
    model: seed.model,
    json,
    get files() {
      let t;
      try {
        t = JSON.stringify(json, null, 1) ?? 'undefined';
      } catch (e) {
        t = `"<not serialisable: ${e.message}>"`;
      }
      return { [seed.file]: t };
    },
  };
}

export async function run(kase, { llm }, lib) {
  if (kase.file === 'config.json') {
    const cfg = lib.parseOvisConfig(kase.json, 'config.json');
    const t = lib.expectedTensors(cfg);
    lib.countParameters(t);
    lib.numPatches(cfg.visual_tokenizer_config.backbone_config);
    lib.visualTokensPerCrop(cfg.visual_tokenizer_config);
  } else if (kase.file === 'generation_config.json') {
    lib.parseGenerationConfig(kase.json, 'generation_config.json', kase.recipe.length % 2 ? llm[kase.model] : undefined);
  } else {
    lib.parsePreprocessorConfig(kase.json, 'preprocessor_config.json');
  }
  return { outcome: 'ok' };
}
