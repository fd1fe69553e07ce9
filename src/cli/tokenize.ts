// `ovis tokenize` — encode text with a tokenizer.json and show the ids (and token strings).
// usage: ovis tokenize --tokenizer PATH [--text T | --file F] [--json] [--no-special]

import { readFile } from 'node:fs/promises';
import { InputError, UsageError } from '../errors.js';
import { describeFsError, fileProblem } from '../io/fs.js';
import { Tokenizer } from '../tokenizer/index.js';
import { formatOptions, type OptionSpecs, parseOptions } from './common.js';

const OPTIONS = {
  tokenizer: { type: 'string', arg: 'PATH', required: true, help: 'tokenizer.json, or a directory holding one (a checkpoint directory)' },
  text: { type: 'string', arg: 'T', default: 'read stdin', help: 'text to encode' },
  file: { type: 'string', arg: 'F', default: 'none', help: 'read the text from a UTF-8 file' },
  json: { type: 'boolean', help: 'print {"ids": [...], "tokens": [...], "count": n} as JSON' },
  'no-special': { type: 'boolean', help: "do not add the post-processor's special tokens (e.g. <|begin_of_text|>)" },
} as const satisfies OptionSpecs;

const USAGE = `usage: ovis tokenize --tokenizer PATH [--text T | --file F] [--json] [--no-special]

options:
${formatOptions(OPTIONS)}`;

export async function main(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('tokenize', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const { tokenizer: tokPath, file } = v;
  let text = v.text;
  const json = !!v.json;
  const special = !v['no-special'];
  if (!tokPath) throw new UsageError(`--tokenizer is required\n${USAGE}`);
  if (text !== undefined && file !== undefined) throw new UsageError(`give --text or --file, not both\n${USAGE}`);
  if (file !== undefined) {
    const problem = await fileProblem(file); // a FIFO would block the read
    if (problem) throw new InputError(`--file ${file}: cannot read: ${problem}`);
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new InputError(`--file ${file}: cannot read: ${describeFsError(e)}`);
    }
  }
  if (text === undefined) {
    if (process.stdin.isTTY) throw new UsageError(`no input: give --text, --file, or pipe text on stdin\n${USAGE}`);
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  }
  const tok = await Tokenizer.fromFile(tokPath);
  const ids = tok.encode(text, { addSpecialTokens: special });
  const tokens = ids.map((id) => tok.idToToken(id) ?? `<id ${id}>`);
  if (json) {
    process.stdout.write(JSON.stringify({ ids, tokens, count: ids.length }) + '\n');
  } else {
    process.stdout.write(`${ids.length} tokens\n`);
    const w = String(ids.reduce((m, id) => Math.max(m, id), 0)).length; // not Math.max(...ids): a long text overflows the call stack
    ids.forEach((id, i) =>
      process.stdout.write(`${String(id).padStart(w)}  ${JSON.stringify(tokens[i])}${tok.specialIds.has(id) ? '  (special)' : ''}\n`),
    );
  }
  return 0;
}
