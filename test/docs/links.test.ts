// Every pointer resolves: scripts/check-links.mjs on this repository (relative links and anchors
// of the docs, repository paths cited in the docs and in code comments), and on a small fixture
// repository with one broken pointer of each kind, so a checker that stopped looking would fail.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'check-links.mjs');

function run(root?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...(root ? ['--root', root] : [])], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('scripts/check-links.mjs', () => {
  it('finds no broken pointer in this repository', () => {
    const r = run();
    expect(r.out).toContain('every pointer resolves');
    expect(r.status).toBe(0);
  });

  describe('on a fixture repository', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovis-links-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    // Built from pieces so that this file's own comments cite nothing that does not exist.
    const src = 'src';
    const docs = 'docs';
    write('.gitignore', 'dist/\n');
    write(
      `${src}/a.ts`,
      [
        '// ok: src/a.ts, ./b.js (b.ts), docs/page.md#a-heading, dist/out.js (ignored folder)',
        `// broken: ${src}/missing.ts`,
        `const s = '${src}/not-a-comment.ts'; // a string is not a pointer`,
        `/* broken: ${docs}/page.md#no-such-heading */`,
        `// broken: ./${'gone'}.js`,
        '',
      ].join('\n'),
    );
    write(`${src}/b.ts`, `// see ${docs}/page.md §2 (exists) and ${docs}/page.md §7 (does not)\n`);
    write(
      `${docs}/page.md`,
      [
        '# Page',
        '## A heading',
        '## 2. Numbered',
        '[ok](#a-heading) [ok](../src/a.ts) [ok](other.md#sub-part-1)',
        '[broken](missing.md) [broken anchor](other.md#nope) [url](https://example.com/x.md)',
        `cited in text: \`${src}/nope/x.ts\`, and the old DESIGN${'.md'} name`,
        '```',
        '# not a heading',
        '```',
        '',
      ].join('\n'),
    );
    write(`${docs}/other.md`, '# Other\n## Sub part (1)\n[broken](#not-a-heading-in-a-fence)\n```\n# not a heading in a fence\n```\n');
    write('README.md', `[broken](${docs}/nowhere.md)\n`);

    it('fails with exit 1 and lists file:line and the bad target for each broken pointer', () => {
      const r = run(dir);
      expect(r.status).toBe(1);
      const lines = r.out.trim().split('\n');
      expect(lines.slice(0, -1).sort()).toEqual([
        'README.md:1: docs/nowhere.md (no such file)',
        'docs/other.md:3: #not-a-heading-in-a-fence (no heading with id #not-a-heading-in-a-fence)',
        'docs/page.md:5: missing.md (no such file)',
        'docs/page.md:5: other.md#nope (no heading with id #nope)',
        'docs/page.md:6: DESIGN.md (not in the repository (the design notes are docs/design.md))',
        'docs/page.md:6: src/nope/x.ts (no such file)',
        'src/a.ts:2: src/missing.ts (no such file)',
        'src/a.ts:4: docs/page.md#no-such-heading (no heading with id #no-such-heading)',
        'src/a.ts:5: ./gone.js (no such file)',
        'src/b.ts:1: docs/page.md §7 (no heading numbered 7)',
      ]);
      expect(lines.at(-1)).toBe('check-links: 10 pointer(s) lead nowhere');
    });

    it('an allowlist entry silences exactly its pointer', () => {
      write('scripts/check-links.allow', '# waiting fixes\nsrc/a.ts:src/missing.ts\n');
      const r = run(dir);
      rmSync(join(dir, 'scripts'), { recursive: true });
      expect(r.status).toBe(1);
      expect(r.out).not.toContain('src/missing.ts');
      expect(r.out).toContain('check-links: 9 pointer(s) lead nowhere');
    });
  });
});
