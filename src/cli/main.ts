#!/usr/bin/env node
// `ovis` — the command-line front end. Each subcommand lives in its own module
// (src/cli/<name>.ts) exporting `main(argv: string[]): Promise<number>` (the exit code).
// Library code throws typed errors; this is the only place that turns them into exit codes.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OvisError } from '../errors.js';
import { describeFsError } from '../io/fs.js';
import { didYouMean } from './suggest.js';

const COMMANDS: Record<string, string> = {
  run: 'answer a question about images (the main job)',
  serve: 'serve the model over HTTP: a chat page and an OpenAI-compatible API',
  chat: 'a conversation in the terminal: multi-turn, /image to attach images',
  inspect: 'summarise a checkpoint directory and check its tensors',
  synth: 'write a random-weight checkpoint with real shapes',
  preprocess: 'image -> pixel_values (+ crops as PNG)',
  tokenize: 'encode text with a tokenizer.json',
  trace: 'run the model and dump every stage to .safetensors',
  parity: 'compare every stage against a reference dump',
  download: 'fetch a Hugging Face model repo into the HF cache (for --model org/name)',
};

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'usage: ovis <command> [options]    (ovis <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(w)}  ${v}`),
  ].join('\n');
}

export async function cli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage() + '\n');
    return cmd ? 0 : 2;
  }
  if (!(cmd in COMMANDS)) {
    const guess = didYouMean(cmd, Object.keys(COMMANDS));
    process.stderr.write(`ovis: unknown command '${cmd}'${guess ? `: did you mean 'ovis ${guess}'?` : ''}\n\n${usage()}\n`);
    return 2;
  }
  try {
    const mod = (await import(`./${cmd}.js`)) as { main(argv: string[]): Promise<number> };
    return await mod.main(rest);
  } catch (e) {
    if (e instanceof OvisError) {
      process.stderr.write(`ovis ${cmd}: error [${e.code}]: ${e.message}\n`);
      return e.code === 'USAGE' ? 2 : 1;
    }
    // A file-system error that no check above turned into a typed one (a disk filling up during a
    // write, a file removed mid-run): still a message with the path, not a stack trace.
    const fsErr = e as NodeJS.ErrnoException;
    if (typeof fsErr?.code === 'string' && typeof fsErr.syscall === 'string') {
      process.stderr.write(
        `ovis ${cmd}: error [IO]: ${fsErr.path ?? ''}${fsErr.path ? ': ' : ''}${describeFsError(fsErr)} (${fsErr.syscall})\n`,
      );
      return 1;
    }
    throw e;
  }
}

/** True when this file is the program (also through npm's bin symlink), false when imported. */
function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  cli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
