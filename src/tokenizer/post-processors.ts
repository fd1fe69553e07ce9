// Post-processors (tokenizers/src/processors) as far as ids go: TemplateProcessing adds the
// special tokens of the "single" template around the sequence; ByteLevel only trims offsets
// (no effect on ids); Bert/Roberta add [CLS]/[SEP] or <s>/</s>. Only single sequences are encoded.

import { TokenizerError } from '../errors.js';
import { asArr, asObj, unsupported } from './json.js';

export type PostProcessor = (ids: number[]) => number[];

const isId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

const SUPPORTED = ['TemplateProcessing', 'ByteLevel', 'Sequence', 'BertProcessing', 'RobertaProcessing'];

export function buildPostProcessor(spec: unknown, path: string): PostProcessor | null {
  if (spec === null || spec === undefined) return null;
  const o = asObj(spec, path);
  switch (o.type) {
    case 'ByteLevel':
      return (ids) => ids;
    case 'Sequence': {
      const parts = asArr(o.processors, `${path}.processors`)
        .map((p, i) => buildPostProcessor(p, `${path}.processors[${i}]`))
        .filter((p): p is PostProcessor => p !== null);
      return (ids) => {
        for (const p of parts) ids = p(ids);
        return ids;
      };
    }
    case 'TemplateProcessing': {
      const specials = asObj(o.special_tokens ?? {}, `${path}.special_tokens`);
      const single = asArr(o.single, `${path}.single`);
      const parts: Array<number[] | 'A'> = single.map((item, i) => {
        const p = `${path}.single[${i}]`;
        const it = asObj(item, p);
        if (it.Sequence !== undefined) {
          const id = asObj(it.Sequence, `${p}.Sequence`).id;
          if (id !== 'A')
            throw new TokenizerError(`${p}.Sequence.id: a single-sequence template can only use "A", got ${JSON.stringify(id)}`);
          return 'A';
        }
        if (it.SpecialToken !== undefined) {
          const name = asObj(it.SpecialToken, `${p}.SpecialToken`).id;
          if (typeof name !== 'string' || !Object.hasOwn(specials, name))
            throw new TokenizerError(`${p}.SpecialToken.id: ${JSON.stringify(name)} is not in ${path}.special_tokens`);
          const ids = asArr(
            asObj(specials[name], `${path}.special_tokens[${JSON.stringify(name)}]`).ids,
            `${path}.special_tokens[${JSON.stringify(name)}].ids`,
          );
          if (!ids.every(isId))
            throw new TokenizerError(`${path}.special_tokens[${JSON.stringify(name)}].ids: expected non-negative integers`);
          return ids as number[];
        }
        throw new TokenizerError(`${p}: expected {"Sequence": ...} or {"SpecialToken": ...}, got keys ${JSON.stringify(Object.keys(it))}`);
      });
      return (ids) => {
        const out: number[] = [];
        for (const p of parts) {
          if (p === 'A') for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
          else out.push(...p);
        }
        return out;
      };
    }
    case 'BertProcessing':
    case 'RobertaProcessing': {
      const cls = asArr(o.cls, `${path}.cls`);
      const sep = asArr(o.sep, `${path}.sep`);
      const clsId = cls[1];
      const sepId = sep[1];
      if (!isId(clsId) || !isId(sepId)) {
        throw new TokenizerError(
          `${path}: cls/sep must be [token, id] pairs with a non-negative integer id, got ${JSON.stringify([clsId, sepId])}`,
        );
      }
      // not [clsId, ...ids, sepId]: a spread of a long prompt's ids overflows the call stack
      return (ids) => {
        const out = [clsId];
        for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
        out.push(sepId);
        return out;
      };
    }
    default:
      return unsupported('post-processor', o.type, path, SUPPORTED);
  }
}
