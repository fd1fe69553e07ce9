// The real `openai` npm client against a running `ovis serve` (run under Node by
// test/server/openai-client.test.ts, whatever runtime the server runs in):
//   node test/server/openai-client.mjs BASE_URL IMAGE PROMPT MAX_TOKENS
// prints one JSON line: {models, nonStreamed: {text, finish, usage}, streamed: {text, finish, usage, chunks}}.

import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const [baseURL, imagePath, prompt, maxTokens] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: process.env.OVIS_API_KEY ?? 'none', maxRetries: 0 });
const url = `data:image/png;base64,${readFileSync(imagePath).toString('base64')}`;
const models = (await client.models.list()).data.map((m) => m.id);
const request = {
  model: models[0],
  messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: prompt }] }],
  max_tokens: Number(maxTokens),
  temperature: 0,
};
const r = await client.chat.completions.create(request);
const nonStreamed = { text: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: r.usage };
const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
let text = '', finish = null, usage = null, chunks = 0;
for await (const c of stream) {
  chunks++;
  if (c.choices[0]?.delta?.content) text += c.choices[0].delta.content;
  if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  if (c.usage) usage = c.usage;
}
process.stdout.write(JSON.stringify({ models, nonStreamed, streamed: { text, finish, usage, chunks } }) + '\n');
