// Decoders (tokenizers/src/decoders): tokens (strings) -> tokens -> joined text.
// Each is a `decode_chain` over the token list, as in Rust, because some act per token
// (Strip, Metaspace's first-token rule) and some fuse (ByteLevel, ByteFallback runs, Fuse).

import { TokenizerError } from '../errors.js';
import { asArr, asObj, bool, int, pattern, str, unsupported } from './json.js';
import { compileOnig } from './regex.js';
import { CHAR_TO_BYTE, utf8DecodeLossy, utf8DecodeStrict } from './unicode.js';

export type Decoder = (tokens: string[]) => string[];

const SUPPORTED = ['Sequence', 'ByteLevel', 'ByteFallback', 'Fuse', 'Strip', 'Replace', 'Metaspace'];

export function buildDecoder(spec: unknown, path: string): Decoder | null {
  if (spec === null || spec === undefined) return null;
  const o = asObj(spec, path);
  switch (o.type) {
    case 'Sequence': {
      const parts = asArr(o.decoders, `${path}.decoders`)
        .map((d, i) => buildDecoder(d, `${path}.decoders[${i}]`))
        .filter((d): d is Decoder => d !== null);
      return (t) => {
        for (const d of parts) t = d(t);
        return t;
      };
    }
    case 'ByteLevel':
      // Every char of a token maps back to a byte; a token with any other char (e.g. an added
      // token with a space) contributes its UTF-8 bytes as they are. Then lossy UTF-8.
      return (tokens) => {
        const bytes: number[] = [];
        for (const t of tokens) {
          const mark = bytes.length;
          let ok = true;
          for (let i = 0; i < t.length; i++) {
            const b = CHAR_TO_BYTE.get(t[i]!);
            if (b === undefined) {
              ok = false;
              break;
            }
            bytes.push(b);
          }
          if (!ok) {
            bytes.length = mark;
            for (const b of new TextEncoder().encode(t)) bytes.push(b);
          }
        }
        return [utf8DecodeLossy(Uint8Array.from(bytes))];
      };
    case 'ByteFallback':
      // runs of <0xXX> tokens become their bytes; an invalid run -> one U+FFFD per byte
      return (tokens) => {
        const out: string[] = [];
        let run: number[] = [];
        const flush = (): void => {
          if (run.length === 0) return;
          const s = utf8DecodeStrict(Uint8Array.from(run));
          if (s !== undefined) out.push(s);
          else for (let i = 0; i < run.length; i++) out.push('\uFFFD');
          run = [];
        };
        for (const t of tokens) {
          if (t.length === 6 && t.startsWith('<0x') && t.endsWith('>')) {
            const b = /^[0-9a-fA-F]{2}$/.test(t.slice(3, 5)) ? parseInt(t.slice(3, 5), 16) : NaN;
            if (!Number.isNaN(b)) {
              run.push(b);
              continue;
            }
          }
          flush();
          out.push(t);
        }
        flush();
        return out;
      };
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip': {
      const content = str(o, 'content', path);
      const start = int(o, 'start', path, 0);
      const stop = int(o, 'stop', path, 0);
      return (tokens) =>
        tokens.map((t) => {
          const chars = [...t];
          let a = 0;
          while (a < start && a < chars.length && chars[a] === content) a++;
          let b = chars.length;
          while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
          return chars.slice(a, b).join('');
        });
    }
    case 'Replace': {
      const p = pattern(o.pattern, `${path}.pattern`);
      const content = str(o, 'content', path);
      if (p.kind === 'string') return p.value === '' ? (t) => t : (tokens) => tokens.map((t) => t.replaceAll(p.value, content));
      const re = compileOnig(p.value, `${path}.pattern.Regex`);
      const lit = content.replace(/\$/g, '$$$$');
      return (tokens) => tokens.map((t) => t.replace(re.pick(t), lit));
    }
    case 'Metaspace': {
      const replacement = str(o, 'replacement', path, '\u2581');
      let scheme = o.prepend_scheme as string | undefined;
      if (scheme === undefined) scheme = bool(o, 'add_prefix_space', path, true) ? 'always' : 'never';
      if (!['always', 'first', 'never'].includes(scheme))
        throw new TokenizerError(`${path}.prepend_scheme: expected "always", "first" or "never", got ${JSON.stringify(scheme)}`);
      // Rust drops EVERY replacement char of the first token (not just a leading one)
      return (tokens) => tokens.map((t, i) => t.replaceAll(replacement, i === 0 && scheme !== 'never' ? '' : ' '));
    }
    default:
      return unsupported('decoder', o.type, path, SUPPORTED);
  }
}
