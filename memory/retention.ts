/**
 * Forgetting curves: how much of a memory is retained after `t` days, and how a recall
 * strengthens it. Strength is in days; importance multiplies it.
 */
import { InvalidInputError } from '../src/errors.js';

export interface MemoryState {
  /** Strength (stability) in days. */
  readonly strength: number;
  /** >= 0; multiplies strength. 1 is ordinary. */
  readonly importance: number;
}

export interface RetentionCurveV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** Retention in [0, 1] after `elapsedDays` since the memory was last made or recalled. */
  retention(elapsedDays: number, state: MemoryState): number;
  /** Strength after a successful recall `elapsedDays` after the previous one. */
  strengthen(elapsedDays: number, state: MemoryState): number;
  readonly initialStrength: number;
}

export type RetentionCurve = RetentionCurveV1;

function checkElapsed(t: number): void {
  if (!Number.isFinite(t) || t < 0) throw new InvalidInputError('elapsedDays', `'elapsedDays' must be a finite number >= 0; got ${t}.`);
}

/**
 * Ebbinghaus R = e^(-t / S) with S raised by a fixed step on each recall, as MemoryBank models
 * it. (MemoryBank's reference code writes e^(-t/5*S), which evaluates as e^(-tS/5): stronger
 * memories would fade faster. Here S divides t.)
 */
export function createEbbinghausCurve(options: { initialStrength?: number; recallBoost?: number } = {}): RetentionCurve {
  const initialStrength = options.initialStrength ?? 1;
  const recallBoost = options.recallBoost ?? 1;
  if (!(initialStrength > 0)) throw new InvalidInputError('initialStrength', "'initialStrength' must be > 0 days.");
  if (!(recallBoost >= 0)) throw new InvalidInputError('recallBoost', "'recallBoost' must be >= 0 days.");
  return {
    specificationVersion: 'v1',
    name: 'ebbinghaus',
    initialStrength,
    retention(t, s) {
      checkElapsed(t);
      const S = s.strength * s.importance;
      return S <= 0 ? 0 : Math.exp(-t / S);
    },
    strengthen(t, s) {
      checkElapsed(t);
      return s.strength + recallBoost;
    },
  };
}

/**
 * FSRS-style power curve (FSRS-4.5): R = (1 + F t / S)^D with D = -0.5 and F = 19/81, so R = 0.9
 * when t = S. A recall at retrievability R multiplies stability by
 * 1 + e^w8 (11 - difficulty) S^-w9 (e^(w10 (1 - R)) - 1), FSRS-4.5's default weights for a 'good'
 * answer: recalling a fading memory strengthens it more than recalling a fresh one.
 */
export function createFsrsCurve(options: { initialStrength?: number; difficulty?: number } = {}): RetentionCurve {
  const DECAY = -0.5;
  const FACTOR = 19 / 81;
  const [w8, w9, w10] = [1.6474, 0.1367, 1.0461];
  const initialStrength = options.initialStrength ?? 3.7145; // FSRS-4.5 w2: first stability after 'good'
  const difficulty = options.difficulty ?? 5;
  if (!(initialStrength > 0)) throw new InvalidInputError('initialStrength', "'initialStrength' must be > 0 days.");
  if (!(difficulty >= 1 && difficulty <= 10)) throw new InvalidInputError('difficulty', "'difficulty' must be between 1 and 10.");
  const retention = (t: number, s: MemoryState) => {
    checkElapsed(t);
    const S = s.strength * s.importance;
    return S <= 0 ? 0 : Math.pow(1 + (FACTOR * t) / S, DECAY);
  };
  return {
    specificationVersion: 'v1',
    name: 'fsrs',
    initialStrength,
    retention,
    strengthen(t, s) {
      const R = retention(t, s);
      return s.strength * (1 + Math.exp(w8) * (11 - difficulty) * Math.pow(s.strength, -w9) * (Math.exp(w10 * (1 - R)) - 1));
    },
  };
}

export function getRetentionCurve(name: 'ebbinghaus' | 'fsrs'): RetentionCurve {
  if (name === 'ebbinghaus') return createEbbinghausCurve();
  if (name === 'fsrs') return createFsrsCurve();
  throw new InvalidInputError('curve', `Unknown retention curve '${String(name)}'. Use 'ebbinghaus' or 'fsrs'.`);
}
