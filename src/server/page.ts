// The chat page of `ovis serve` (GET /), in the spirit of Ovis's Gradio demo.
// One self-contained HTML document: inline CSS and JS, no framework, no external fetch (it talks
// only to its own server: GET health, POST api/chat, both relative so a path prefix works).
//
// Protocol it speaks (the server implements it, src/server/):
//   POST api/chat  {messages: [{role, content: string | [{type:'text',text} | {type:'image',data:'data:image/…;base64,…'}]}],
//                   options: {maxNewTokens, doSample, temperature, topP, topK, repetitionPenalty, seed, maxPartition}}
//   -> text/event-stream, one `data: <JSON>` per event: queued | images | progress | start | text | done | error
//   (ChatEvent in src/conversation-types.ts, plus queued and error). Aborting the fetch stops the generation.
//   GET health -> {status, model, …}: the model name in the header.
//
// The page owns the conversation: it keeps every message (images as the data URLs it read) and
// resends all of it each turn; the server reuses its KV cache for the common prefix.
// "What the model sees" is drawn here, from the image the page holds and the crop boxes of the
// 'images' event: each crop resized keeping its aspect and centred on a square of mid grey — the
// zero of the normalised pixel_values Ovis pads with (src/image/preprocess.ts, step 4).
//
// Written as String.raw so that the script's backslashes ('\n', regexps) reach the browser as
// written; the document therefore contains no backtick and no dollar-brace.

export const PAGE_HTML: string = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Ovis</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1b1f24; --muted: #5b6470; --line: #d9dde3;
  --accent: #2957c7; --accent-ink: #fff; --user: #e8effd; --bad: #b3261e; --focus: #ffb400;
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #15181c; --panel: #1e2227; --ink: #e6e8eb; --muted: #a1a9b3; --line: #363c44;
    --accent: #7aa2ff; --accent-ink: #0d1320; --user: #23304a; --bad: #ff8a80; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--ink); }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
header.top { display: flex; align-items: center; gap: .75rem; padding: .5rem 1rem;
  background: var(--panel); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header.top h1 { font-size: 1.15rem; margin: 0; }
.model { color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
.model.bad { color: var(--bad); }
header.top .spacer { flex: 1; }
button, .button { font: inherit; font-size: .95rem; padding: .4rem .8rem; border-radius: .4rem;
  border: 1px solid var(--line); background: var(--panel); color: var(--ink); cursor: pointer;
  display: inline-flex; align-items: center; gap: .3rem; min-height: 2.25rem; }
button:hover:not(:disabled), .button:hover { border-color: var(--accent); }
button:disabled { opacity: .45; cursor: default; }
button.primary { background: var(--accent); color: var(--accent-ink); border-color: var(--accent); }
button.danger:not(:disabled) { border-color: var(--bad); color: var(--bad); }
:focus-visible, .button:focus-within { outline: 3px solid var(--focus); outline-offset: 2px; }
main.layout { display: grid; grid-template-columns: minmax(0, 1fr) 19rem; gap: 1rem;
  max-width: 78rem; margin: 0 auto; padding: 1rem; }
.chat { display: flex; flex-direction: column; min-width: 0; }
.log { display: flex; flex-direction: column; gap: .75rem; padding-bottom: 1rem; }
.empty { color: var(--muted); margin: 2rem auto; max-width: 32rem; text-align: center; }
.turn { background: var(--panel); border: 1px solid var(--line); border-radius: .6rem;
  padding: .6rem .8rem; max-width: 100%; }
.turn.user { background: var(--user); align-self: flex-end; max-width: min(40rem, 92%); }
.turn.failed { opacity: .6; }
.who { font-size: .75rem; font-weight: 600; color: var(--muted); margin: 0 0 .2rem;
  text-transform: uppercase; letter-spacing: .04em; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.turn.bot[data-state="streaming"] .answer:empty::before { content: "…"; color: var(--muted); }
.turn.bot[data-state="streaming"] .answer:not(:empty)::after { content: "▍"; color: var(--accent); }
.uimgs { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .3rem; }
.uimgs img { max-height: 8rem; max-width: 100%; border-radius: .3rem; border: 1px solid var(--line); }
.work { display: flex; align-items: center; gap: .5rem; color: var(--muted); font-size: .85rem; margin: .2rem 0; }
.work progress { width: 8rem; }
.stats { color: var(--muted); font-size: .8rem; margin: .4rem 0 0; }
.err { color: var(--bad); margin: .4rem 0 0; white-space: pre-wrap; }
details.sees { margin: 0 0 .4rem; font-size: .85rem; }
details.sees > summary { cursor: pointer; color: var(--muted); }
.simg { margin: .4rem 0 .2rem; }
.simg .meta { margin: 0 0 .25rem; }
.crops { display: flex; flex-wrap: wrap; gap: .35rem; list-style: none; margin: 0; padding: 0; }
.crops li { display: flex; flex-direction: column; align-items: center; font-size: .7rem; color: var(--muted); }
.crops canvas { width: 72px; height: 72px; border-radius: .2rem; border: 1px solid var(--line); }
.composer { position: sticky; bottom: 0; background: var(--bg); padding: .5rem 0 .6rem;
  border-top: 1px solid var(--line); }
.composer label.ask { display: block; font-weight: 600; font-size: .9rem; margin-bottom: .25rem; }
.composer textarea { width: 100%; font: inherit; padding: .5rem .6rem; border-radius: .4rem;
  border: 1px solid var(--line); background: var(--panel); color: var(--ink); resize: vertical; min-height: 3rem; }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem; margin-top: .4rem; }
.row .spacer { flex: 1; }
.hint { color: var(--muted); font-size: .8rem; }
.tray { display: flex; flex-wrap: wrap; gap: .4rem; list-style: none; margin: 0 0 .4rem; padding: 0; }
.tray:empty { display: none; }
.tray li { position: relative; display: flex; align-items: center; gap: .3rem; background: var(--panel);
  border: 1px solid var(--line); border-radius: .4rem; padding: .2rem .3rem; font-size: .8rem; max-width: 14rem; }
.tray img { width: 2.5rem; height: 2.5rem; object-fit: cover; border-radius: .2rem; }
.tray .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tray button { min-height: 1.8rem; padding: .1rem .45rem; }
.status { min-height: 1.2rem; font-size: .85rem; color: var(--muted); margin-top: .3rem; }
.status.bad { color: var(--bad); }
aside.side { align-self: start; position: sticky; top: 1rem; }
.settings { background: var(--panel); border: 1px solid var(--line); border-radius: .6rem; padding: .5rem .8rem; }
.settings summary { font-weight: 600; cursor: pointer; }
.settings .field { display: grid; grid-template-columns: 1fr 6.5rem; align-items: center; gap: .5rem; margin: .45rem 0; }
.settings .field label { font-size: .9rem; }
.settings .field input { font: inherit; font-size: .9rem; width: 100%; padding: .25rem .4rem; border-radius: .3rem;
  border: 1px solid var(--line); background: var(--bg); color: var(--ink); }
.settings .check { display: flex; gap: .5rem; align-items: center; margin: .6rem 0 .3rem; font-size: .9rem; }
.settings fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: .4rem 0; padding: .2rem .6rem; }
.settings fieldset:disabled { opacity: .55; }
.settings legend { font-size: .8rem; color: var(--muted); }
.settings p.hint { margin: .3rem 0; }
input:invalid { border-color: var(--bad); }
.drop { position: fixed; inset: 0; display: flex; align-items: center; justify-content: center;
  background: rgba(41, 87, 199, .18); border: 4px dashed var(--accent); font-size: 1.4rem; font-weight: 600;
  color: var(--ink); pointer-events: none; z-index: 10; }
.drop[hidden] { display: none; }
@media (max-width: 860px) {
  main.layout { grid-template-columns: minmax(0, 1fr); padding: .5rem; gap: .5rem; }
  aside.side { position: static; order: -1; }
  .turn.user { max-width: 100%; }
  .hint.keys { display: none; }
}
</style>
</head>
<body>
<header class="top">
  <h1>Ovis</h1>
  <span id="model" class="model">connecting…</span>
  <span class="spacer"></span>
  <button id="new-chat" type="button" title="Forget this conversation and start again">New chat</button>
</header>
<main class="layout">
  <section class="chat" aria-label="Conversation">
    <div id="log" class="log" role="log" aria-live="polite" aria-relevant="additions">
      <p id="empty" class="empty">Add one or more images (button, drag and drop, or paste) and ask about them.
        Each answer shows what the model sees: the grid chosen for every image, its crops and its tokens.</p>
    </div>
    <form id="composer" class="composer" novalidate>
      <ul id="tray" class="tray" aria-label="Images for the next question"></ul>
      <label class="ask" for="prompt">Ask</label>
      <textarea id="prompt" rows="2" placeholder="Ask about the images…" aria-describedby="keys"></textarea>
      <div class="row">
        <label class="button" title="Add images (or drop / paste them anywhere)">Add images<input id="file" class="sr-only" type="file" accept="image/*" multiple></label>
        <span id="keys" class="hint keys">Enter sends · Shift+Enter new line · Esc stops</span>
        <span class="spacer"></span>
        <button id="regen" type="button" disabled title="Drop the last answer and ask again">Regenerate</button>
        <button id="stop" type="button" class="danger" disabled>Stop</button>
        <button id="send" type="submit" class="primary">Send</button>
      </div>
      <div id="status" class="status" role="status" aria-live="polite"></div>
    </form>
  </section>
  <aside class="side" aria-label="Settings">
    <details id="settings" class="settings" open>
      <summary>Generation settings</summary>
      <form id="opts" novalidate>
        <div class="field"><label for="o-max">Max new tokens</label>
          <input id="o-max" name="maxNewTokens" type="number" inputmode="numeric" min="1" step="1" value="512"></div>
        <div class="field"><label for="o-part">Max partition (crops per image)</label>
          <input id="o-part" name="maxPartition" type="number" inputmode="numeric" min="1" step="1" placeholder="server"></div>
        <div class="field"><label for="o-rep">Repetition penalty</label>
          <input id="o-rep" name="repetitionPenalty" type="number" inputmode="decimal" min="0.01" step="0.05" placeholder="1 (off)"></div>
        <label class="check"><input id="o-sample" name="doSample" type="checkbox"> Sampling (off: greedy, Ovis's default)</label>
        <fieldset id="o-sampling" disabled>
          <legend>Sampling</legend>
          <div class="field"><label for="o-temp">Temperature</label>
            <input id="o-temp" name="temperature" type="number" inputmode="decimal" min="0.01" step="0.05" placeholder="1"></div>
          <div class="field"><label for="o-topp">Top-p</label>
            <input id="o-topp" name="topP" type="number" inputmode="decimal" min="0.01" max="1" step="0.05" placeholder="1 (off)"></div>
          <div class="field"><label for="o-topk">Top-k</label>
            <input id="o-topk" name="topK" type="number" inputmode="numeric" min="0" step="1" placeholder="0 (off)"></div>
          <div class="field"><label for="o-seed">Seed</label>
            <input id="o-seed" name="seed" type="number" inputmode="numeric" min="0" step="1" placeholder="random"></div>
        </fieldset>
        <p class="hint">An empty field uses the server's default.</p>
        <button id="o-reset" type="button">Reset settings</button>
      </form>
    </details>
  </aside>
</main>
<div id="drop" class="drop" hidden>Drop images to add them</div>
<script>
'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var log = $('log'), empty = $('empty'), tray = $('tray'), prompt = $('prompt'), fileInput = $('file');
  var sendBtn = $('send'), stopBtn = $('stop'), regenBtn = $('regen'), newBtn = $('new-chat');
  var statusEl = $('status'), opts = $('opts'), sampleBox = $('o-sample'), samplingSet = $('o-sampling');

  // ---- state ---------------------------------------------------------------------------------
  // history: the conversation as sent, images as {name, type, dataUrl, url, bitmap} objects.
  //   {role: 'user'|'assistant', parts: [{type:'text', text} | {type:'image', img}], el: <article>}
  var history = [];
  var pending = [];   // images for the next question
  var busy = null;    // {controller, turn, stopped}

  // ---- small helpers ---------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function secs(ms) { return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(1) + ' s'; }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : (many || one + 's')); }
  function say(msg, bad) { statusEl.textContent = msg || ''; statusEl.classList.toggle('bad', !!bad); }
  function nearBottom() { return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120; }
  function keepBottom(was) { if (was) window.scrollTo(0, document.body.scrollHeight); }

  // ---- the model name --------------------------------------------------------------------------
  fetch('health', { headers: { accept: 'application/json' } }).then(function (r) { return r.json(); }).then(function (h) {
    var m = $('model');
    m.textContent = (h && h.model ? String(h.model) : 'model unknown') + (h && h.status && h.status !== 'ok' ? ' (' + h.status + ')' : '');
    if (h && h.model) document.title = 'Ovis · ' + String(h.model).split('/').pop();
  }).catch(function () { var m = $('model'); m.textContent = 'server not reachable'; m.classList.add('bad'); });

  // ---- images: picker, drag and drop, paste ----------------------------------------------------
  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var fr = new FileReader();
      fr.onload = function () { resolve(String(fr.result)); };
      fr.onerror = function () { reject(fr.error || new Error('cannot read ' + file.name)); };
      fr.readAsDataURL(file);
    });
  }
  function addFiles(files) {
    var list = Array.prototype.slice.call(files || []);
    var images = list.filter(function (f) { return /^image\//.test(f.type); });
    if (list.length > images.length) say(plural(list.length - images.length, 'file') + ' skipped: not an image.', true);
    images.forEach(function (f, i) {
      readFile(f).then(function (dataUrl) {
        var img = { name: f.name || 'pasted image ' + (pending.length + 1), type: f.type, dataUrl: dataUrl,
          url: URL.createObjectURL(f), blob: f, bitmap: null };
        pending.push(img);
        renderTray();
        if (list.length === images.length) say(plural(pending.length, 'image') + ' ready for the next question.');
      }, function (e) { say(String(e && e.message || e), true); });
    });
  }
  function renderTray() {
    tray.textContent = '';
    pending.forEach(function (img, i) {
      var li = el('li');
      var im = el('img'); im.src = img.url; im.alt = '';
      var name = el('span', 'name', img.name);
      var rm = el('button', null, '×'); rm.type = 'button'; rm.setAttribute('aria-label', 'Remove ' + img.name);
      rm.addEventListener('click', function () {
        pending.splice(i, 1); renderTray(); prompt.focus(); say('Removed ' + img.name + '.');
      });
      li.appendChild(im); li.appendChild(name); li.appendChild(rm);
      tray.appendChild(li);
    });
  }
  fileInput.addEventListener('change', function () { addFiles(fileInput.files); fileInput.value = ''; });
  document.addEventListener('paste', function (e) {
    var cd = e.clipboardData; if (!cd) return;
    var files = [];
    for (var i = 0; i < cd.items.length; i++) {
      var it = cd.items[i];
      if (it.kind === 'file' && /^image\//.test(it.type)) { var f = it.getAsFile(); if (f) files.push(f); }
    }
    if (!files.length) return;
    if (!cd.getData('text/plain')) e.preventDefault();
    addFiles(files);
  });
  var dropEl = $('drop'), dragDepth = 0;
  function hasFiles(e) { return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, 'Files') >= 0; }
  document.addEventListener('dragenter', function (e) { if (hasFiles(e)) { dragDepth++; dropEl.hidden = false; } });
  document.addEventListener('dragleave', function (e) { if (hasFiles(e) && --dragDepth <= 0) { dragDepth = 0; dropEl.hidden = true; } });
  document.addEventListener('dragover', function (e) { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
  document.addEventListener('drop', function (e) {
    if (!hasFiles(e)) return;
    e.preventDefault(); dragDepth = 0; dropEl.hidden = true;
    addFiles(e.dataTransfer.files);
    prompt.focus();
  });

  // ---- settings --------------------------------------------------------------------------------
  var SETTINGS_KEY = 'ovis-serve-settings';
  var fields = ['maxNewTokens', 'maxPartition', 'repetitionPenalty', 'temperature', 'topP', 'topK', 'seed'];
  var integers = { maxNewTokens: 1, maxPartition: 1, topK: 1, seed: 1 };
  function syncSampling() { samplingSet.disabled = !sampleBox.checked; }
  function saveSettings() {
    var s = { doSample: sampleBox.checked };
    fields.forEach(function (k) { s[k] = opts.elements[k].value; });
    try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(s)); } catch (e) { /* private mode: not kept */ }
  }
  function loadSettings() {
    var s = null;
    try { s = JSON.parse(localStorage.getItem(SETTINGS_KEY) || 'null'); } catch (e) { s = null; }
    if (s && typeof s === 'object') {
      sampleBox.checked = !!s.doSample;
      fields.forEach(function (k) { if (typeof s[k] === 'string') opts.elements[k].value = s[k]; });
    }
    syncSampling();
  }
  opts.addEventListener('input', function () { syncSampling(); saveSettings(); });
  opts.addEventListener('change', function () { syncSampling(); saveSettings(); });
  opts.addEventListener('submit', function (e) { e.preventDefault(); });
  $('o-reset').addEventListener('click', function () {
    opts.reset(); syncSampling(); saveSettings(); say('Settings reset.');
  });
  loadSettings();
  if (window.matchMedia && window.matchMedia('(max-width: 860px)').matches) $('settings').open = false;

  /** The options object, or null after pointing at the first invalid field. */
  function readOptions() {
    var o = {};
    var used = ['maxNewTokens', 'maxPartition', 'repetitionPenalty'];
    if (sampleBox.checked) used = used.concat(['temperature', 'topP', 'topK', 'seed']);
    for (var i = 0; i < used.length; i++) {
      var input = opts.elements[used[i]];
      var raw = input.value.trim();
      if (raw === '' && input.validity.valid) continue;
      var v = Number(raw);
      if (!input.checkValidity() || raw === '' || !isFinite(v) || (integers[used[i]] && !Number.isInteger(v))) {
        $('settings').open = true;
        input.reportValidity();
        input.focus();
        say('Check the setting "' + input.labels[0].textContent + '".', true);
        return null;
      }
      o[used[i]] = v;
    }
    o.doSample = sampleBox.checked;
    return o;
  }

  // ---- the conversation log --------------------------------------------------------------------
  function addUserTurn(parts) {
    empty.hidden = true;
    var art = el('article', 'turn user');
    art.appendChild(el('h2', 'who', 'You'));
    var imgs = parts.filter(function (p) { return p.type === 'image'; });
    if (imgs.length) {
      var box = el('div', 'uimgs');
      imgs.forEach(function (p) { var im = el('img'); im.src = p.img.url; im.alt = p.img.name; box.appendChild(im); });
      art.appendChild(box);
    }
    parts.forEach(function (p) { if (p.type === 'text') art.appendChild(el('p', 'text', p.text)); });
    log.appendChild(art);
    return art;
  }
  function addBotTurn() {
    var art = el('article', 'turn bot');
    art.dataset.state = 'streaming';
    art.setAttribute('aria-busy', 'true');
    art.appendChild(el('h2', 'who', 'Ovis'));
    var sees = el('details', 'sees'); sees.hidden = true; sees.open = true;
    sees.appendChild(el('summary', null, 'What the model sees'));
    art.appendChild(sees);
    var work = el('div', 'work');
    var bar = el('progress'); bar.setAttribute('aria-label', 'Progress');
    var what = el('span', null, 'Sending…');
    work.appendChild(bar); work.appendChild(what);
    art.appendChild(work);
    var answer = el('p', 'text answer');
    art.appendChild(answer);
    var stats = el('p', 'stats'); stats.hidden = true;
    art.appendChild(stats);
    log.appendChild(art);
    // earlier turns fold their "what the model sees" away
    Array.prototype.forEach.call(log.querySelectorAll('details.sees'), function (d) { if (d !== sees) d.open = false; });
    return { el: art, sees: sees, work: work, bar: bar, what: what, answer: answer, stats: stats, text: '',
      start: null, images: null };
  }
  function progressTo(t, label, done, total) {
    t.what.textContent = label;
    if (total > 0) { t.bar.max = total; t.bar.value = done; } else { t.bar.removeAttribute('value'); }
  }

  // ---- what the model sees: grid, crops, tokens -------------------------------------------------
  function conversationImages() {
    var out = [];
    history.forEach(function (m) { m.parts.forEach(function (p) { if (p.type === 'image') out.push(p.img); }); });
    return out;
  }
  /** The image as stored pixels (no EXIF rotation: Ovis reads the stored pixels too). */
  function bitmapOf(img) {
    if (!img.bitmap) {
      img.bitmap = (window.createImageBitmap
        ? createImageBitmap(img.blob, { imageOrientation: 'none' }).catch(function () { return createImageBitmap(img.blob); })
        : Promise.reject(new Error('no createImageBitmap'))
      ).catch(function () {
        return new Promise(function (resolve, reject) {
          var im = new Image(); im.onload = function () { resolve(im); }; im.onerror = reject; im.src = img.url;
        });
      });
    }
    return img.bitmap;
  }
  function cropCanvas(src, box, fx, fy, label) {
    var S = 144; // device pixels for a 72 px thumbnail
    var c = el('canvas'); c.width = S; c.height = S;
    c.setAttribute('role', 'img'); c.setAttribute('aria-label', label);
    var g = c.getContext('2d');
    g.fillStyle = '#808080'; g.fillRect(0, 0, S, S); // the padding: normalised zero
    var l = box[0] * fx, t = box[1] * fy, w = (box[2] - box[0]) * fx, h = (box[3] - box[1]) * fy;
    if (w > 0 && h > 0) {
      var k = S / Math.max(w, h), dw = w * k, dh = h * k;
      g.imageSmoothingQuality = 'high';
      g.drawImage(src, l, t, w, h, Math.floor((S - dw) / 2), Math.floor((S - dh) / 2), dw, dh);
    }
    return c;
  }
  function gridCanvas(src, boxes, fx, fy, W, H, label) {
    var k = 144 / Math.max(W, H), cw = Math.max(1, Math.round(W * k)), ch = Math.max(1, Math.round(H * k));
    var c = el('canvas'); c.width = cw; c.height = ch; // fits the 72 px thumbnail box at 2x
    c.style.width = Math.round(cw / 2) + 'px'; c.style.height = Math.round(ch / 2) + 'px';
    c.setAttribute('role', 'img'); c.setAttribute('aria-label', label);
    var g = c.getContext('2d');
    g.drawImage(src, 0, 0, W * fx, H * fy, 0, 0, cw, ch);
    g.lineWidth = 2; g.strokeStyle = '#ffb400'; g.fillStyle = '#ffb400'; g.font = 'bold 14px sans-serif';
    boxes.forEach(function (b, i) {
      g.strokeRect(b[0] * k + 1, b[1] * k + 1, (b[2] - b[0]) * k - 2, (b[3] - b[1]) * k - 2);
      g.fillText(String(i + 2), b[0] * k + 4, b[1] * k + 15);
    });
    return c;
  }
  function renderSees(t, images) {
    t.images = images;
    var all = conversationImages();
    var sees = t.sees;
    while (sees.childNodes.length > 1) sees.removeChild(sees.lastChild);
    var tokens = 0, crops = 0;
    images.forEach(function (s) { tokens += s.tokens || 0; crops += s.crops || 0; });
    sees.firstChild.textContent = 'What the model sees: ' + plural(images.length, 'image') + ', ' +
      plural(crops, 'crop') + ', ' + plural(tokens, 'image token');
    images.forEach(function (s, j) {
      var box = el('div', 'simg');
      box.dataset.index = String(s.index);
      var grid = s.grid || [1, 1];
      box.appendChild(el('p', 'meta', 'Image ' + (s.index + 1) + ' · ' + s.width + '×' + s.height + ' · grid ' +
        grid[0] + '×' + grid[1] + ' · ' + plural(s.crops, 'crop') + ' · ' + plural(s.tokens, 'token') +
        (s.cached ? ' · cached (no vision work)' : '')));
      var ul = el('ul', 'crops');
      ul.setAttribute('aria-label', 'Crops of image ' + (s.index + 1));
      box.appendChild(ul);
      sees.appendChild(box);
      var img = all[s.index];
      if (!img) { ul.appendChild(el('li', null, '(image not held by this page)')); return; }
      bitmapOf(img).then(function (src) {
        var sw = src.naturalWidth || src.width, sh = src.naturalHeight || src.height;
        var fx = sw / s.width, fy = sh / s.height; // 1 unless the browser rotated it (EXIF)
        var boxes = s.boxes || [];
        var cells = boxes.length > 1 ? boxes.slice(1) : boxes;
        if (boxes.length > 1) {
          var gli = el('li', 'gridmap');
          gli.appendChild(gridCanvas(src, cells, fx, fy, s.width, s.height,
            'Grid ' + grid[0] + ' by ' + grid[1] + ' over image ' + (s.index + 1)));
          gli.appendChild(el('span', null, 'grid'));
          ul.appendChild(gli);
        }
        boxes.forEach(function (b, i) {
          var li = el('li', 'crop');
          var whole = i === 0 && boxes.length > 1;
          var name = whole ? ' · whole' : '';
          li.appendChild(cropCanvas(src, b, fx, fy, 'Crop ' + (i + 1) + ' of ' + boxes.length + (whole ? ', the whole image' : '') +
            ': box ' + b.join(', ')));
          li.appendChild(el('span', null, (i + 1) + name));
          ul.appendChild(li);
        });
      }, function () { ul.appendChild(el('li', null, '(cannot draw this image here)')); });
    });
    sees.hidden = false;
  }

  // ---- one request -----------------------------------------------------------------------------
  function wireMessages() {
    return history.map(function (m) {
      var onlyText = m.parts.every(function (p) { return p.type === 'text'; });
      if (onlyText) return { role: m.role, content: m.parts.map(function (p) { return p.text; }).join('') };
      return { role: m.role, content: m.parts.map(function (p) {
        return p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image', data: p.img.dataUrl };
      }) };
    });
  }
  /** Reads a text/event-stream body, calling onEvent with each parsed data: JSON. */
  function readEvents(res, onEvent) {
    var reader = res.body.getReader(), decoder = new TextDecoder(), buf = '';
    function handle(block) {
      var data = [];
      block.split('\n').forEach(function (line) {
        if (line.indexOf('data:') === 0) data.push(line.slice(line.charAt(5) === ' ' ? 6 : 5));
      });
      if (!data.length) return; // a comment / keep-alive
      onEvent(JSON.parse(data.join('\n')));
    }
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) { buf += decoder.decode(); if (buf.trim()) handle(buf); return; }
        buf = (buf + decoder.decode(r.value, { stream: true })).replace(/\r\n/g, '\n');
        var i;
        while ((i = buf.indexOf('\n\n')) >= 0) { var block = buf.slice(0, i); buf = buf.slice(i + 2); handle(block); }
        return pump();
      });
    }
    return pump();
  }
  function errorText(e) {
    if (!e) return 'unknown error';
    var s = e.message || String(e);
    if (e.code) s = '[' + e.code + '] ' + s;
    return s;
  }

  function ask() {
    var options = readOptions();
    if (!options) return false;
    var t = addBotTurn();
    var controller = new AbortController();
    var job = busy = { controller: controller, turn: t, stopped: false, discarded: false };
    updateButtons();
    keepBottom(true);
    var finished = false;
    var body = JSON.stringify({ messages: wireMessages(), options: options });
    say('Working…');
    function onEvent(ev) {
      if (job.discarded) return;
      var was = nearBottom();
      switch (ev.type) {
        case 'queued':
          // position: 1-based among the waiting requests (1 = next), 0 once this one runs
          if (ev.position > 0) {
            progressTo(t, 'Queued: number ' + ev.position + ' in line (another request is running)', 0, 0);
            say('Waiting for the model: number ' + ev.position + ' in line.');
          } else progressTo(t, 'Starting…', 0, 0);
          break;
        case 'images': renderSees(t, ev.images || []); break;
        case 'progress':
          if (ev.stage === 'vision') progressTo(t, 'Encoding crop ' + ev.done + '/' + ev.total, ev.done, ev.total);
          else progressTo(t, 'Prefill: layer ' + ev.done + '/' + ev.total, ev.done, ev.total);
          break;
        case 'start':
          t.start = ev;
          t.el.dataset.promptTokens = String(ev.promptTokens);
          t.el.dataset.cachedTokens = String(ev.cachedTokens);
          progressTo(t, 'Prompt ' + plural(ev.promptTokens, 'token') + ' (' + ev.cachedTokens + ' cached) · generating…', 0, 0);
          say('Answering…');
          break;
        case 'text':
          t.text += ev.text;
          t.answer.textContent = t.text;
          break;
        case 'done': finished = true; finish(t, 'done', ev.result); break;
        case 'error': finished = true; fail(t, errorText(ev.error)); break;
      }
      keepBottom(was);
    }
    // a server started with --api-key wants it on /api/*: asked once on a 401, kept for the tab
    var headers = { 'content-type': 'application/json', accept: 'text/event-stream' };
    var key = null;
    try { key = sessionStorage.getItem('ovis-api-key'); } catch (e) { key = null; }
    if (key) headers.authorization = 'Bearer ' + key;
    fetch('api/chat', { method: 'POST', headers: headers, body: body, signal: controller.signal })
      .then(function (res) {
        if (res.status === 401) {
          var k = window.prompt('This server needs its API key (ovis serve --api-key). Key:');
          if (k) { try { sessionStorage.setItem('ovis-api-key', k.trim()); } catch (e) { /* not kept */ } }
          throw { message: k ? 'API key saved for this tab: send again' : 'this server needs an API key', fromServer: true };
        }
        if (!res.ok || !/event-stream/.test(res.headers.get('content-type') || '')) {
          return res.text().then(function (txt) {
            var msg = 'HTTP ' + res.status;
            try { var j = JSON.parse(txt); msg = errorText(j.error || j); } catch (e) { if (txt) msg += ': ' + txt.slice(0, 300); }
            throw { message: msg, fromServer: true };
          });
        }
        return readEvents(res, onEvent);
      })
      .then(function () {
        if (!finished && !job.discarded) fail(t, 'the connection closed before the answer was complete');
      }, function (e) {
        if (finished || job.discarded) return;
        if (job.stopped) finish(t, 'stopped', null);
        else fail(t, e && e.fromServer ? e.message : 'request failed: ' + errorText(e));
      });
    return true;
  }

  function endTurn(t, state) {
    t.el.dataset.state = state;
    t.el.removeAttribute('aria-busy');
    t.work.hidden = true;
    if (busy && busy.turn === t) busy = null;
    updateButtons();
  }
  function finish(t, state, result) {
    if (state === 'done') {
      var r = result || {};
      var tm = r.timings || {};
      t.text = typeof r.output === 'string' ? r.output : t.text;
      t.answer.textContent = t.text;
      t.el.dataset.promptTokens = String(r.promptTokens);
      t.el.dataset.cachedTokens = String(r.cachedTokens);
      t.el.dataset.stopReason = String(r.stopReason);
      var bits = [plural(r.completionTokens, 'token') + ' in ' + secs(tm.totalMs || 0)];
      if (tm.tokensPerSecond) bits.push(tm.tokensPerSecond.toFixed(1) + ' tokens/s');
      bits.push('prompt ' + plural(r.promptTokens, 'token') + ', ' + r.cachedTokens + ' cached');
      if (tm.visionMs) bits.push('vision ' + secs(tm.visionMs));
      if (tm.prefillMs != null) bits.push('prefill ' + secs(tm.prefillMs));
      if (tm.firstTokenMs != null) bits.push('first token ' + secs(tm.firstTokenMs));
      bits.push('stop: ' + ({ eos: 'end of answer', length: 'max new tokens', stop: 'stop string', aborted: 'stopped' }[r.stopReason] || r.stopReason));
      t.stats.textContent = bits.join(' · ');
      t.stats.hidden = false;
      history.push({ role: 'assistant', parts: [{ type: 'text', text: t.text }], el: t.el });
      endTurn(t, 'done');
      say('Answer ready (' + plural(r.completionTokens, 'token') + ').');
      return;
    }
    // stopped by the user
    if (t.text) {
      t.stats.textContent = 'Stopped after ' + t.text.length + ' characters' +
        (t.start ? ' · prompt ' + plural(t.start.promptTokens, 'token') + ', ' + t.start.cachedTokens + ' cached' : '') +
        ' · the partial answer stays in the conversation';
      t.stats.hidden = false;
      history.push({ role: 'assistant', parts: [{ type: 'text', text: t.text }], el: t.el });
      endTurn(t, 'stopped');
      say('Stopped.');
    } else {
      takeBackQuestion(t, 'Stopped before the answer began; the question is back in the box.');
      endTurn(t, 'stopped');
      say('Stopped. Your question is back in the box.');
    }
  }
  function fail(t, message) {
    var p = el('p', 'err', 'Error: ' + message);
    p.setAttribute('role', 'alert');
    t.el.appendChild(p);
    if (t.text) {
      // keep what came; it is not part of the conversation
      t.stats.textContent = 'Incomplete answer, not kept in the conversation.';
      t.stats.hidden = false;
    }
    takeBackQuestion(t, null);
    endTurn(t, 'error');
    say('Error: ' + message + ' — the question is back in the box.', true);
  }
  /** A turn that produced no answer leaves the conversation: its question returns to the box. */
  function takeBackQuestion(t, note) {
    var last = history[history.length - 1];
    t.el.classList.add('failed');
    if (note) t.stats.textContent = note, t.stats.hidden = false;
    if (!last || last.role !== 'user') return;
    history.pop();
    last.el.classList.add('failed');
    if (!prompt.value.trim() && !pending.length) {
      prompt.value = last.parts.filter(function (p) { return p.type === 'text'; }).map(function (p) { return p.text; }).join('');
      pending = last.parts.filter(function (p) { return p.type === 'image'; }).map(function (p) { return p.img; });
      renderTray();
    }
  }

  function send() {
    if (busy) { say('Wait for the answer, or press Stop.'); return; }
    var text = prompt.value.replace(/\s+$/, '');
    if (!text.trim() && !pending.length) { say('Type a question (and/or add an image) first.', true); prompt.focus(); return; }
    if (!readOptions()) return;
    var parts = pending.map(function (img) { return { type: 'image', img: img }; });
    if (text.trim()) parts.push({ type: 'text', text: text });
    var art = addUserTurn(parts);
    history.push({ role: 'user', parts: parts, el: art });
    pending = []; renderTray();
    prompt.value = '';
    ask();
  }
  function stop() {
    if (!busy) return;
    busy.stopped = true;
    busy.controller.abort();
    say('Stopping…');
  }
  function regenerate() {
    if (busy) return;
    var last = history[history.length - 1];
    if (!last || last.role !== 'assistant') return;
    history.pop();
    if (last.el && last.el.parentNode) last.el.parentNode.removeChild(last.el);
    ask();
  }
  function newChat() {
    if (busy) { busy.discarded = true; busy.stopped = true; busy.controller.abort(); busy = null; }
    history = [];
    pending = []; renderTray();
    Array.prototype.slice.call(log.querySelectorAll('.turn')).forEach(function (n) { n.parentNode.removeChild(n); });
    empty.hidden = false;
    prompt.value = '';
    prompt.focus();
    say('New conversation.');
    updateButtons();
  }
  function updateButtons() {
    sendBtn.disabled = !!busy;
    stopBtn.disabled = !busy;
    var last = history[history.length - 1];
    regenBtn.disabled = !!busy || !last || last.role !== 'assistant';
    document.body.dataset.busy = busy ? 'true' : 'false';
  }

  $('composer').addEventListener('submit', function (e) { e.preventDefault(); send(); });
  prompt.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); send(); }
  });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && busy) { e.preventDefault(); stop(); } });
  stopBtn.addEventListener('click', function () { stop(); prompt.focus(); });
  regenBtn.addEventListener('click', regenerate);
  newBtn.addEventListener('click', newChat);
  updateButtons();
  prompt.focus();
})();
</script>
</body>
</html>
`;
