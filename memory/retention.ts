/**
 * Forgetting curves: how much of a memory is retained after `t` days, and how a recall
 * strengthens it. Strength is in days; importance multiplies it.
 */
import { InvalidInputError } from '../src/errors.js';

export interface MemoryState {
  /** Strength (stability) in days, > 0. */
  readonly strength: number;
  /** > 0; multiplies strength. 1 is ordinary, 2 fades half as fast. */
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
 * Strength and importance must be finite and > 0: an importance of 0 would make R = 0 even at
 * t = 0, and a NaN would quietly read as "forgotten" and drop the page.
 */
function checkState(s: MemoryState): void {
  if (!(Number.isFinite(s.strength) && s.strength > 0)) throw new InvalidInputError('strength', `'strength' must be a finite number of days > 0; got ${s.strength}.`);
  if (!(Number.isFinite(s.importance) && s.importance > 0)) throw new InvalidInputError('importance', `'importance' must be a finite number > 0 (1 is ordinary); got ${s.importance}.`);
}

/**
 * Ebbinghaus R = e^(-t / S) with S raised on each recall, as MemoryBank models it. (MemoryBank's
 * reference code writes e^(-t/5*S), which evaluates as e^(-tS/5): stronger memories would fade
 * faster. Here S divides t.)
 *
 * MemoryBank adds a fixed day per recall, so recalls at the same instant (massed rehearsal)
 * would stack: 730 recalls in one go made a 731-day memory. Here the boost grows with the time
 * since the previous recall, reaching the full `recallBoost` after `spacingDays` (spacing
 * effect): a recall right after another adds almost nothing.
 */
export function createEbbinghausCurve(options: { initialStrength?: number; recallBoost?: number; spacingDays?: number } = {}): RetentionCurve {
  const initialStrength = options.initialStrength ?? 1;
  const recallBoost = options.recallBoost ?? 1;
  const spacingDays = options.spacingDays ?? 1;
  if (!(Number.isFinite(initialStrength) && initialStrength > 0)) throw new InvalidInputError('initialStrength', "'initialStrength' must be > 0 days.");
  if (!(Number.isFinite(recallBoost) && recallBoost >= 0)) throw new InvalidInputError('recallBoost', "'recallBoost' must be >= 0 days.");
  if (!(Number.isFinite(spacingDays) && spacingDays > 0)) throw new InvalidInputError('spacingDays', "'spacingDays' must be > 0 days.");
  return {
    specificationVersion: 'v1',
    name: 'ebbinghaus',
    initialStrength,
    retention(t, s) {
      checkElapsed(t);
      checkState(s);
      return Math.exp(-t / (s.strength * s.importance));
    },
    strengthen(t, s) {
      checkElapsed(t);
      checkState(s);
      return s.strength + recallBoost * Math.min(1, t / spacingDays);
    },
  };
}

/** FSRS-4.5 default weights w2 and w4, w8..w10 (the ones an always-'good' history uses). */
const FSRS45 = { w2: 3.7145, w4: 5.1618, w8: 1.6474, w9: 0.1367, w10: 1.0461 } as const;

/**
 * FSRS-style power curve (FSRS-4.5): R = (1 + F t / S)^D with D = -0.5 and F = 19/81, so R = 0.9
 * when t = S. A recall at retrievability R multiplies stability by
 * 1 + e^w8 (11 - difficulty) S^-w9 (e^(w10 (1 - R)) - 1), FSRS-4.5's update for a 'good'
 * answer: recalling a fading memory strengthens it more than recalling a fresh one, and a
 * recall at t = 0 (R = 1) adds nothing, so massed rehearsal does not stack.
 *
 * Difficulty defaults to w4 = 5.1618, FSRS-4.5's initial difficulty for 'good'; since its
 * update after 'good' is w7 w4 + (1 - w7) D, a memory only ever recalled (never failed) keeps
 * exactly that difficulty, so a constant is the model, not a simplification.
 *
 * Not built on ts-fsrs: that package schedules review cards under FSRS-6 (21 trained weights,
 * ratings, due dates); this layer needs only these two formulas of FSRS-4.5 for one kind of
 * answer, and a dependency would change the model the experiments were run with.
 */
export function createFsrsCurve(options: { initialStrength?: number; difficulty?: number } = {}): RetentionCurve {
  const DECAY = -0.5;
  const FACTOR = 19 / 81;
  const { w8, w9, w10 } = FSRS45;
  const initialStrength = options.initialStrength ?? FSRS45.w2; // first stability after 'good'
  const difficulty = options.difficulty ?? FSRS45.w4;
  if (!(Number.isFinite(initialStrength) && initialStrength > 0)) throw new InvalidInputError('initialStrength', "'initialStrength' must be > 0 days.");
  if (!(difficulty >= 1 && difficulty <= 10)) throw new InvalidInputError('difficulty', "'difficulty' must be between 1 and 10.");
  const retention = (t: number, s: MemoryState) => {
    checkElapsed(t);
    checkState(s);
    return Math.pow(1 + (FACTOR * t) / (s.strength * s.importance), DECAY);
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
