// Random hostile text for tokenizer / formatter / template / CLI cases.
const PIECES = ['hello', ' world', 'The', ' quick', '  ', '\n', '\n\n', '\t', '\r\n', '123', '4567890', '3.14', "'s", "n't", '!!!', '...', '<image>', '<|begin_of_text|>', '<|eot_id|>',
  '<|start_header_id|>', '<start_of_turn>', '<end_of_turn>', '<bos>', '<eos>', '<pad>', '<unk>', '<|im_start|>', 'é', 'e\u0301', 'ß', 'İ', 'ﬁ', '中文', '日本語', '한국어', 'العربية', 'Ελληνικά',
  '😀', '👨‍👩‍👧', '🇫🇷', '\u200b', '\u00a0', '\u3000', '\ufeff', '\u0000', '\u001f', '\uFFFD', '\uD800', '\uDC00', '▁', 'Ġ', 'Ċ', '<0x0A>', '\\u0000', '%', '{{', '}}', '{%', '\u0301\u0301\u0301'];
export function randomText(rng, maxPieces = 24) {
  const k = rng.weighted([[8, 'mix'], [1, 'long'], [1, 'bytes'], [1, 'empty']]);
  if (k === 'empty') return rng.pick(['', ' ', '\n', '<image>']);
  if (k === 'long') return rng.pick(['a', ' ', '1', 'ab', '😀', 'é', '\n', ' a']).repeat(rng.pick([1000, 20000, 100000]));
  if (k === 'bytes') return Array.from({ length: rng.range(1, 64) }, () => String.fromCharCode(rng.bool(0.7) ? rng.int(128) : rng.int(0x10000))).join('');
  let s = '';
  for (let i = rng.range(1, maxPieces); i > 0; i--) s += rng.pick(PIECES);
  return s;
}
