// The page: picks a checkpoint (the tiny fixtures, a URL, or a local folder), an image and a
// question, and shows the answer as it streams from worker.js, where the model runs. Threads
// need a cross-origin isolated page (COOP/COEP headers: serve.mjs sends them); without
// isolation the page says so and runs one thread.

const $ = (id) => document.getElementById(id);
const isolated = self.crossOriginIsolated === true;
const cores = navigator.hardwareConcurrency || 1;
// ?budget=GB: refuse models that need more (memory.js); default: what the device reports
const budget = Number(new URLSearchParams(location.search).get('budget'));
const budgetGb = budget > 0 ? budget : undefined;

const threads = $('threads');
for (let t = 1; t <= Math.max(1, cores); t++) threads.add(new Option(String(t), String(t)));
threads.value = String(isolated ? Math.min(cores, 4) : 1);
if (!isolated) {
  threads.disabled = true;
  const n = $('isolation');
  n.hidden = false;
  n.textContent =
    'This page is not cross-origin isolated (no COOP/COEP headers), so SharedArrayBuffer is unavailable: ' +
    'the model runs on one thread. Serve it with examples/browser/serve.mjs (or ovis serve) for threads.';
}

$('model').addEventListener('change', () => {
  $('url-row').hidden = $('model').value !== 'url';
  $('folder-row').hidden = $('model').value !== 'folder';
});

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let imageBytes;
let answer = '';
let state = 'starting';
const setState = (s) => {
  state = s;
  document.body.dataset.state = s;
  $('ask').disabled = !['loaded', 'answered'].includes(s);
  $('stop').disabled = s !== 'streaming';
  $('load').disabled = ['loading', 'streaming'].includes(s);
};
const status = (text, error = false) => {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
};

worker.onmessage = (e) => {
  const m = e.data;
  switch (m.type) {
    case 'ready':
      setState('idle');
      break;
    case 'memory':
      $('memory').textContent = `This model ${m.text}.`;
      $('memory').classList.toggle('error', Boolean(m.refuse));
      break;
    case 'bytes':
      $('bytes').hidden = false;
      $('bytes').max = m.total || 1;
      $('bytes').value = m.done;
      break;
    case 'progress':
      status(m.text);
      break;
    case 'loaded':
      $('loaded').textContent =
        `Loaded ${m.label} in ${(m.ms / 1000).toFixed(1)} s (${(m.bytesRead / 1e6).toFixed(1)} MB read${m.requests ? ` in ${m.requests} requests` : ''}), ${m.threads} thread(s); wasm memory ${(m.wasmBytes / 2 ** 20).toFixed(0)} MiB.`;
      status('Ready: pick an image and ask.');
      document.body.dataset.loadedThreads = String(m.threads);
      setState('loaded');
      break;
    case 'images':
      status(
        m.images
          .map((im) => `image ${im.width}×${im.height}: grid ${im.grid.join('×')}, ${im.crops} crop(s), ${im.tokens} tokens`)
          .join('; '),
      );
      break;
    case 'start':
      status(`${m.promptTokens} prompt tokens; generating…`);
      break;
    case 'text':
      answer += m.text;
      $('answer').textContent = answer;
      break;
    case 'done': {
      const t = m.timings;
      $('answer').dataset.ids = JSON.stringify(m.ids);
      $('answer').dataset.state = 'done';
      $('stats').textContent =
        `${m.ids.length} tokens (${m.stopReason}); LLM prefill of ${m.promptTokens} tokens ${(t.prefillMs / 1000).toFixed(2)} s, ` +
        `${t.tokensPerSecond.toFixed(2)} tokens/s; image decode ${m.decodeMs.toFixed(0)} ms; wasm memory now ${(m.wasmBytes / 2 ** 20).toFixed(0)} MiB`;
      $('stats').dataset.tokensPerSecond = String(t.tokensPerSecond);
      status('Done.');
      setState('answered');
      break;
    }
    case 'error':
      status(m.message, true);
      $('answer').dataset.state = state === 'streaming' ? 'error' : $('answer').dataset.state;
      setState(state === 'loading' ? 'idle' : 'loaded');
      document.body.dataset.error = m.message;
      break;
  }
};

$('load').addEventListener('click', () => {
  const choice = $('model').value;
  let source;
  if (choice === 'url') source = { url: $('url').value };
  else if (choice === 'folder') source = { files: [...$('folder').files] };
  else source = { url: new URL(choice, document.baseURI).href };
  if (source.files && source.files.length === 0) return status('Pick the checkpoint folder first.', true);
  status('Reading the checkpoint headers…');
  $('loaded').textContent = 'No model loaded.';
  delete document.body.dataset.error;
  setState('loading');
  worker.postMessage({ type: 'load', source, threads: Number(threads.value), budgetGb });
});

async function useImage(bytes) {
  imageBytes = bytes;
  $('preview').src = URL.createObjectURL(new Blob([bytes]));
  $('preview').hidden = false;
}
$('image').addEventListener('change', async () => {
  const f = $('image').files[0];
  if (f) await useImage(new Uint8Array(await f.arrayBuffer()));
});
$('sample').addEventListener('click', async () => {
  const r = await fetch(new URL('fixtures/images/square.png', document.baseURI));
  await useImage(new Uint8Array(await r.arrayBuffer()));
});

$('ask').addEventListener('click', () => {
  answer = '';
  $('answer').textContent = '';
  $('answer').dataset.state = 'streaming';
  delete $('answer').dataset.ids;
  setState('streaming');
  const image = imageBytes ? imageBytes.slice().buffer : undefined;
  worker.postMessage(
    {
      type: 'ask',
      image,
      prompt: $('prompt').value,
      maxNewTokens: Number($('max-new').value),
      maxPartition: Number($('max-partition').value),
    },
    image ? [image] : [],
  );
});
$('stop').addEventListener('click', () => worker.postMessage({ type: 'stop' }));
