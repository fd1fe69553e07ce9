// One round of load for test/server/leak-check.mjs: 16 concurrent clients x 4 requests,
// max_tokens 4, OpenAI streamed / non-streamed, half with an image, every fifth stream left early.
//   node test/server/load-client.mjs URL ROUND

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const [url, round] = process.argv.slice(2);
const png = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'reference', 'fixtures', 'images', 'square.png');
const PNG_URL = `data:image/png;base64,${readFileSync(png).toString('base64')}`;
async function one(k) {
  const content = k % 2 ? [{ type: 'image_url', image_url: { url: PNG_URL } }, { type: 'text', text: `Describe it (${k}).` }] : `Say (${k}).`;
  const stream = k % 3 === 0;
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', signal: ac.signal,
    body: JSON.stringify({ model: 'llama', max_tokens: 4, stream, messages: [{ role: 'user', content }] }) });
  if (res.status !== 200 && res.status !== 429) throw new Error(`status ${res.status}: ${await res.text()}`);
  if (stream && k % 5 === 2 && res.status === 200) { await res.body.getReader().read(); ac.abort(); return; }
  await res.text();
}
await Promise.all(Array.from({ length: 16 }, async (_, c) => { for (let i = 0; i < 4; i++) await one(Number(round) * 64 + c * 4 + i); }));
