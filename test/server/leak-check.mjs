// Retained memory per request, measured after forced GC (run with --expose-gc by
// test/server/load.test.ts): the tiny checkpoint behind the node adapter in this process, the
// load (16 clients x 4 requests, mixed, some leaving early) from a child process so the client's
// own allocations do not count. Prints one JSON line: per round, heapUsed and arrayBuffers in MB.
//   node --expose-gc test/server/leak-check.mjs ROUNDS

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { OvisRunner } = await import(join(root, 'dist', 'runner.js'));
const { createServer } = await import(join(root, 'dist', 'server', 'handler.js'));
const { listenNode } = await import(join(root, 'dist', 'server', 'adapters.js'));

const rounds = Number(process.argv[2] ?? 4);
const runner = await OvisRunner.load(join(root, 'reference', 'fixtures', 'tiny', 'llama'), {});
const server = createServer(runner, { model: 'llama', maxQueue: 8 });
const l = await listenNode(server.handle, { hostname: '127.0.0.1', port: 0 });
const client = join(dirname(fileURLToPath(import.meta.url)), 'load-client.mjs');
const out = [];
for (let r = 0; r < rounds; r++) {
  // a child process, not spawnSync: that would block this process, the server
  await new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [client, l.url, String(r)], { stdio: 'inherit' });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load client exited ${code}`))));
  });
  await server.queue.idle();
  globalThis.gc(); globalThis.gc();
  const m = process.memoryUsage();
  out.push({ heapMb: +(m.heapUsed / 2 ** 20).toFixed(2), arrayBuffersMb: +(m.arrayBuffers / 2 ** 20).toFixed(2), rssMb: Math.round(m.rss / 2 ** 20) });
}
await Promise.all([server.close(), l.close()]);
runner.dispose();
process.stdout.write(JSON.stringify(out) + '\n');
