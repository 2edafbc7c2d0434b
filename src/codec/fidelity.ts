/**
 * Fidelity = 1 - character edit distance / reference length, after whitespace normalisation
 * (the DeepSeek-OCR paper's precision is edit-distance based as well).
 */
import { distance } from 'fastest-levenshtein';
import { isWideCodePoint } from '../../renderers/fonts.js';

/** Collapse whitespace runs to one space and drop spaces next to CJK characters, where line wraps put them. */
export function normalizeForFidelity(text: string): string {
  const collapsed = text.replace(/\s+/gu, ' ').trim();
  let out = '';
  const chars = Array.from(collapsed);
  chars.forEach((ch, i) => {
    if (ch === ' ') {
      const prev = chars[i - 1]?.codePointAt(0);
      const next = chars[i + 1]?.codePointAt(0);
      if ((prev !== undefined && isWideCodePoint(prev)) || (next !== undefined && isWideCodePoint(next))) return;
    }
    out += ch;
  });
  return out;
}

export function editDistance(a: string, b: string): number {
  return distance(a, b);
}

/** 1 for an exact read-back, 0 for nothing right; never negative. */
export function fidelity(decoded: string, reference: string): number {
  const ref = normalizeForFidelity(reference);
  const dec = normalizeForFidelity(decoded);
  if (dec === ref) return 1;
  if (ref.length === 0) return 0;
  return Math.max(0, 1 - editDistance(dec, ref) / ref.length);
}
