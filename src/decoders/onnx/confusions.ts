/**
 * Repairs for confusions the Chinese-trained recognition model makes on rendered Latin text.
 * Only rules that cannot plausibly damage real text: a letter o inside a number, prime marks
 * (which the model emits for straight quotes and chat text almost never contains), and
 * full-width punctuation read among Latin characters.
 */
import { isWideCodePoint } from '../../../renderers/fonts.js';

// A run of digits and o/O that starts with a digit and touches no other letter: "1oo0" -> "1000".
const NUMBER_WITH_O = /(?<![\p{L}\p{N}])\d[\doO]*(?![\p{L}\p{N}])/gu;
/** Characters that make full-width punctuation next to them legitimate. */
const isWide = (ch: string): boolean => isWideCodePoint(ch.codePointAt(0)!);
const FULLWIDTH_FIRST = 0xff01;
const FULLWIDTH_LAST = 0xff5e;
const FULLWIDTH_OFFSET = 0xfee0;

/** Maps code point to code point: the result has as many code points as `text`, in place. */
export function fixConfusions(text: string): string {
  return asciiAmongLatin(text)
    .replace(NUMBER_WITH_O, (run) => run.replace(/[oO]/g, '0'))
    .replace(/\u2032/g, "'")
    .replace(/\u2033/g, '"');
}

function isFullwidthAscii(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  return cp >= FULLWIDTH_FIRST && cp <= FULLWIDTH_LAST;
}

/** Nearest character in direction `step` that is neither a space nor full-width ASCII. */
function context(chars: readonly string[], from: number, step: 1 | -1): string | undefined {
  for (let i = from + step; i >= 0 && i < chars.length; i += step) {
    const c = chars[i]!;
    if (c !== ' ' && !isFullwidthAscii(c)) return c;
  }
  return undefined;
}

/** Full-width ASCII forms ('（', '；') become ASCII unless a CJK character stands next to them. */
function asciiAmongLatin(text: string): string {
  if (!/[\uff01-\uff5e]/.test(text)) return text;
  const chars = [...text];
  return chars
    .map((c, i) => {
      if (!isFullwidthAscii(c)) return c;
      const prev = context(chars, i, -1);
      const next = context(chars, i, 1);
      if ((prev !== undefined && isWide(prev)) || (next !== undefined && isWide(next))) return c;
      return String.fromCodePoint(c.codePointAt(0)! - FULLWIDTH_OFFSET);
    })
    .join('');
}
