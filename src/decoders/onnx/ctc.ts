/**
 * Greedy CTC decoding of the recognition model's per-timestep class probabilities: take the
 * best class at each step, merge repeats, drop blanks.
 */
import { readFileSync } from 'node:fs';
import { ModelLoadError } from '../../errors.js';

/** Class labels of the recognition output: index 0 is the CTC blank. */
export type CtcCharset = readonly string[];

/**
 * PaddleOCR's layout: blank, then one character per line of the key file, then the space the
 * model was trained with (`use_space_char`).
 */
export function loadCharset(dictionaryPath: string): CtcCharset {
  let raw: string;
  try {
    raw = readFileSync(dictionaryPath, 'utf8');
  } catch (cause) {
    throw new ModelLoadError(`Could not read the OCR dictionary at ${dictionaryPath}. Reinstall dependencies with 'npm install' or check 'modelPaths.dictionary'.`, {
      cause,
      field: 'modelPaths.dictionary',
    });
  }
  const keys = raw.split(/\r?\n/);
  if (keys[keys.length - 1] === '') keys.pop();
  return ['', ...keys, ' '];
}

export interface CtcResult {
  readonly text: string;
  /** Probability of each emitted character (best step of its run), aligned with the code points of `text`. */
  readonly confidences: readonly number[];
  /** Output step at which each character peaked (its position along the line), aligned likewise. */
  readonly steps: readonly number[];
  /**
   * The model's runner-up characters at each character's peak, most likely first (a few, each
   * above a small probability), aligned likewise: what a check of the reading tries instead.
   */
  readonly alternatives: readonly (readonly string[])[];
}

/** Runner-ups kept per character, and the least probability worth keeping. */
const ALTERNATIVES = 4;
const MIN_ALTERNATIVE_P = 0.002;

/**
 * Decode one sequence from `probs`, laid out [steps, classes] starting at `offset`.
 * `steps` may be fewer than the tensor holds, to ignore the padded tail of a batch item.
 */
export function ctcGreedyDecode(probs: Float32Array, offset: number, steps: number, classes: number, charset: CtcCharset): CtcResult {
  let text = '';
  const confidences: number[] = [];
  const peaks: number[] = [];
  let previous = 0;
  for (let t = 0; t < steps; t++) {
    const row = offset + t * classes;
    let best = 0;
    let bestP = probs[row]!;
    // Softmax rows sum to 1: a class above 0.5 cannot be beaten, and most steps are blank.
    if (bestP <= 0.5) {
      for (let c = 1; c < classes; c++) {
        const p = probs[row + c]!;
        if (p > bestP) {
          bestP = p;
          best = c;
          if (p > 0.5) break;
        }
      }
    }
    if (best !== 0) {
      if (best === previous) {
        const last = confidences.length - 1;
        if (bestP > confidences[last]!) {
          confidences[last] = bestP;
          peaks[last] = t;
        }
      } else {
        // One entry per code point keeps text, confidences and steps aligned.
        for (const ch of charset[best] ?? '') {
          text += ch;
          confidences.push(bestP);
          peaks.push(t);
        }
      }
    }
    previous = best;
  }
  const alternatives = peaks.map((t, i) => runnerUps(probs, offset + t * classes, classes, charset, text.codePointAt(indexOfCodePoint(text, i))!));
  return { text, confidences, steps: peaks, alternatives };
}

/** Index in `text` (UTF-16) of its `n`th code point. */
function indexOfCodePoint(text: string, n: number): number {
  let i = 0;
  for (let k = 0; k < n; k++) i += text.codePointAt(i)! > 0xffff ? 2 : 1;
  return i;
}

/** The most probable classes of one step other than the blank and `chosen`, as characters. */
function runnerUps(probs: Float32Array, row: number, classes: number, charset: CtcCharset, chosen: number): string[] {
  const best: { c: number; p: number }[] = [];
  for (let c = 1; c < classes; c++) {
    const p = probs[row + c]!;
    if (p < MIN_ALTERNATIVE_P || (best.length === ALTERNATIVES && p <= best[best.length - 1]!.p)) continue;
    best.push({ c, p });
    best.sort((a, b) => b.p - a.p);
    if (best.length > ALTERNATIVES + 1) best.pop();
  }
  return best
    .map((b) => charset[b.c] ?? '')
    .filter((ch) => ch.length > 0 && ch.codePointAt(0) !== chosen && [...ch].length === 1)
    .slice(0, ALTERNATIVES);
}

export function meanConfidence(confidences: readonly number[]): number {
  if (confidences.length === 0) return 0;
  let sum = 0;
  for (const c of confidences) sum += c;
  return sum / confidences.length;
}
