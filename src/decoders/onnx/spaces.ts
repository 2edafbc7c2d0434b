/**
 * The recognition model was trained mostly on Chinese, where spaces barely exist: in Latin
 * text it drops some word spaces (often next to punctuation, and in monospaced code) and
 * invents a few. The ink settles both: a word space leaves a blank gap between two characters
 * that no gap inside a word reaches.
 */
import { isWideCodePoint } from '../../../renderers/fonts.js';
import type { CtcResult } from './ctc.js';

/** CJK characters sit in wide cells whose side gaps are not spaces. */
const isWide = (ch: string): boolean => isWideCodePoint(ch.codePointAt(0)!);

export interface SpaceGaps {
  /** A blank run at least this wide between two characters is a space. */
  readonly space: number;
  /** A space the model read over a blank run narrower than this is not one. */
  readonly noSpace: number;
}

/**
 * Add and remove spaces between characters whose peaks (output steps, `stride` columns of
 * `blank` each) straddle a blank run of at least `gaps.space` / under `gaps.noSpace` columns.
 */
export function restoreSpaces(read: CtcResult, blank: Uint8Array, gaps: SpaceGaps, stride: number): CtcResult {
  const chars = [...read.text];
  if (chars.length < 2) return read;
  const gapBetween = (i: number, j: number): number =>
    longestRun(blank, Math.floor((read.steps[i]! + 0.5) * stride), Math.min(blank.length, Math.ceil((read.steps[j]! + 0.5) * stride)));
  const latin = (c: string | undefined): boolean => c !== undefined && c !== ' ' && !isWide(c);
  const text: string[] = [];
  const confidences: number[] = [];
  const steps: number[] = [];
  const alternatives: (readonly string[])[] = [];
  const keep = (i: number) => {
    text.push(chars[i]!);
    confidences.push(read.confidences[i]!);
    steps.push(read.steps[i]!);
    alternatives.push(read.alternatives[i] ?? []);
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ' ' && latin(chars[i - 1]) && latin(chars[i + 1]) && gapBetween(i - 1, i + 1) < gaps.noSpace) continue;
    if (i > 0 && latin(c) && latin(chars[i - 1]) && gapBetween(i - 1, i) >= gaps.space) {
      text.push(' ');
      confidences.push(Math.min(read.confidences[i - 1]!, read.confidences[i]!));
      steps.push(read.steps[i - 1]!);
      alternatives.push([]);
    }
    keep(i);
  }
  return { text: text.join(''), confidences, steps, alternatives };
}

function longestRun(blank: Uint8Array, from: number, to: number): number {
  let best = 0;
  let run = 0;
  for (let x = Math.max(0, from); x < to; x++) {
    run = blank[x] ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}
