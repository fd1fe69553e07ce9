// The fuzz worker: one child process runs a batch of cases of one target and reports each result
// to the harness (fuzz/run.mjs) over the IPC channel, `begin` before a case and `end` after it, so
// the harness knows which case was running if this process hangs, is killed or dies.
//
//   node fuzz/child.mjs                  (forked by run.mjs; receives {target, seed, from, to})
//   node fuzz/child.mjs --dump T S K DIR (writes case K's input files into DIR, runs nothing)
//
// Per case it resets the kernel's peak-RSS counter (echo 5 > /proc/self/clear_refs, Linux) and
// reads VmHWM afterwards, so each result carries that case's own peak RSS (which includes this
// process's baseline: node, the library, the target's seed inputs).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyError, loadTarget, ROOT } from './common.mjs';
import { rngFor } from './prng.mjs';

const lib = await import(new URL('../dist/index.js', import.meta.url).href);

let canReset = true;
function resetPeak() {
  if (!canReset) return;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    canReset = false;
  }
}
function peakKB() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS; // kB, cumulative over the process
}

async function runCase(T, state, seed, index) {
  let kase;
  try {
    kase = T.generate(rngFor(seed, T.name, index), state);
  } catch (e) {
    // a generator bug must not pass silently: it is reported as UNTYPED with code HARNESS
    return {
      outcome: 'untyped',
      code: 'HARNESS',
      message: `harness: the generator threw ${e?.name}: ${e?.message}`,
      stack: String(e?.stack).split('\n').slice(1, 4).join(' | '),
      recipe: '',
    };
  }
  let result;
  try {
    const r = (await T.run(kase, state, lib)) ?? {};
    result = { outcome: r.outcome ?? 'ok', message: r.message, code: r.code, stack: r.stack, rssKB: r.rssKB };
  } catch (e) {
    result = classifyError(e, lib);
  }
  result.recipe = kase.recipe.join('; ').slice(0, 600);
  return result;
}

async function dump(targetName, seed, index, dir) {
  const T = await loadTarget(targetName);
  const state = await T.setup({ lib, root: ROOT });
  const kase = T.generate(rngFor(seed, T.name, index), state);
  mkdirSync(dir, { recursive: true });
  const written = [];
  for (const [name, data] of Object.entries(kase.files ?? {})) {
    writeFileSync(join(dir, name), typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    written.push(name);
  }
  writeFileSync(join(dir, 'recipe.txt'), kase.recipe.join('\n') + '\n');
  process.stdout.write(JSON.stringify(written) + '\n');
}

if (process.argv[2] === '--dump') {
  await dump(process.argv[3], process.argv[4], Number(process.argv[5]), process.argv[6]);
} else {
  let current = -1;
  // resolves once the message is handed to the pipe, so `begin` is out before a case can block
  const send = (m) => new Promise((r) => process.send(m, r));
  process.on('uncaughtException', (e) => {
    send({ type: 'stray', index: current, result: classifyError(e, lib) });
  });
  process.on('unhandledRejection', (e) => {
    send({ type: 'stray', index: current, result: classifyError(e, lib) });
  });
  process.on('message', async (msg) => {
    if (msg.type === 'batch') {
      let T;
      let state;
      try {
        T = await loadTarget(msg.target);
        state = await T.setup({ lib, root: ROOT });
      } catch (e) {
        process.stderr.write(`fuzz child: setup of ${msg.target} failed: ${e?.stack ?? e}\n`);
        process.exit(3);
      }
      send({ type: 'ready', baselineKB: peakKB() });
      for (let i = msg.from; i < msg.to; i++) {
        current = i;
        resetPeak();
        await send({ type: 'begin', index: i });
        const result = await runCase(T, state, msg.seed, i);
        result.rssKB = Math.max(result.rssKB ?? 0, peakKB());
        await send({ type: 'end', index: i, result });
      }
      current = -1;
      if (T.teardown) await T.teardown(state);
      send({ type: 'done' });
    }
  });
  send({ type: 'hello' });
}
