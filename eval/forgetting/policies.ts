/**
 * The forgetting policies the experiment compares. Optical policies run on a real `Memory`;
 * recency truncation of plain text is computed from the turns (it has no store to age).
 */
import type { AgeingStrategy } from '../../memory/ageing.js';

/** The ratio ladder (lossless 10x -> 15x -> 20x -> 30x) or the DeepSeek-OCR paper's mode ladder (Gundam -> ... -> Tiny). */
export type LadderId = 'ratio' | 'deepseek-modes';

export interface OpticalPolicy {
  readonly id: string;
  readonly label: string;
  /** undefined: pages are never aged and stay as compaction wrote them. */
  readonly curve?: 'ebbinghaus' | 'fsrs';
  readonly strategy?: AgeingStrategy;
  /** Which ladder the pages fade down; each ladder has its own compaction. Default 'ratio'. */
  readonly ladder?: LadderId;
  /**
   * true: questions at checkpoints go through `Memory.recall`, which strengthens the pages it
   * returns (a rehearsal). false: the same search through the store, which changes nothing.
   */
  readonly rehearsal: boolean;
}

export const NO_FORGETTING: OpticalPolicy = { id: 'none', label: 'no forgetting', rehearsal: true };

export function ladderOf(policy: Pick<OpticalPolicy, 'ladder'>): LadderId {
  return policy.ladder ?? 'ratio';
}

function curvePolicy(curve: 'ebbinghaus' | 'fsrs', strategy: AgeingStrategy, rehearsal = true, ladder: LadderId = 'ratio'): OpticalPolicy {
  const name = curve === 'ebbinghaus' ? 'Ebbinghaus' : 'FSRS';
  const modes = ladder === 'deepseek-modes';
  return {
    id: `${curve}-${modes ? 'modes-' : ''}${strategy}${rehearsal ? '' : '-no-rehearsal'}`,
    label: `${name}${modes ? ', mode ladder' : ''}, ${strategy}${rehearsal ? '' : ', no rehearsal'}`,
    curve,
    strategy,
    ...(modes ? { ladder } : {}),
    rehearsal,
  };
}

export const CURVE_POLICIES: readonly OpticalPolicy[] = [
  curvePolicy('ebbinghaus', 'downsample'),
  curvePolicy('ebbinghaus', 'rerender'),
  curvePolicy('fsrs', 'downsample'),
  curvePolicy('fsrs', 'rerender'),
];

/** The paper's Fig. 13 ladder under FSRS: pages written at Gundam, re-encoded to Large, Base, Small and Tiny as they fade. */
export const MODE_LADDER_POLICIES: readonly OpticalPolicy[] = [curvePolicy('fsrs', 'downsample', true, 'deepseek-modes'), curvePolicy('fsrs', 'rerender', true, 'deepseek-modes')];

/** The same curves without rehearsal, to show what recalls buy. */
export const NO_REHEARSAL_POLICIES: readonly OpticalPolicy[] = [curvePolicy('ebbinghaus', 'downsample', false), curvePolicy('fsrs', 'downsample', false)];

/**
 * Every policy for a full run. A quick run leaves out the ablations and the mode ladder's
 * re-render (its own compaction at Gundam and the downsampled mode ladder still run).
 */
export function opticalPolicies(full: boolean): OpticalPolicy[] {
  return [NO_FORGETTING, ...CURVE_POLICIES, ...(full ? MODE_LADDER_POLICIES : MODE_LADDER_POLICIES.slice(0, 1)), ...(full ? NO_REHEARSAL_POLICIES : [])];
}
