/**
 * The forgetting policies the experiment compares. Optical policies run on a real `Memory`;
 * recency truncation of plain text is computed from the turns (it has no store to age).
 */
import type { AgeingStrategy } from '../../memory/ageing.js';

export interface OpticalPolicy {
  readonly id: string;
  readonly label: string;
  /** undefined: pages are never aged and stay at the lossless 10x tier. */
  readonly curve?: 'ebbinghaus' | 'fsrs';
  readonly strategy?: AgeingStrategy;
  /**
   * true: questions at checkpoints go through `Memory.recall`, which strengthens the pages it
   * returns (a rehearsal). false: the same search through the store, which changes nothing.
   */
  readonly rehearsal: boolean;
}

export const NO_FORGETTING: OpticalPolicy = { id: 'none', label: 'no forgetting (10x)', rehearsal: true };

function curvePolicy(curve: 'ebbinghaus' | 'fsrs', strategy: AgeingStrategy, rehearsal = true): OpticalPolicy {
  const name = curve === 'ebbinghaus' ? 'Ebbinghaus' : 'FSRS';
  return {
    id: `${curve}-${strategy}${rehearsal ? '' : '-no-rehearsal'}`,
    label: `${name}, ${strategy}${rehearsal ? '' : ', no rehearsal'}`,
    curve,
    strategy,
    rehearsal,
  };
}

export const CURVE_POLICIES: readonly OpticalPolicy[] = [
  curvePolicy('ebbinghaus', 'downsample'),
  curvePolicy('ebbinghaus', 'rerender'),
  curvePolicy('fsrs', 'downsample'),
  curvePolicy('fsrs', 'rerender'),
];

/** The same curves without rehearsal, to show what recalls buy. */
export const NO_REHEARSAL_POLICIES: readonly OpticalPolicy[] = [curvePolicy('ebbinghaus', 'downsample', false), curvePolicy('fsrs', 'downsample', false)];

export function opticalPolicies(withAblations: boolean): OpticalPolicy[] {
  return [NO_FORGETTING, ...CURVE_POLICIES, ...(withAblations ? NO_REHEARSAL_POLICIES : [])];
}
