/**
 * Which retention curve and ladder a store's pages fade under. Page tiers are ladder step names
 * and strengths are in the curve's units, so once a store is compacted or aged under one
 * policy, ageing it under another would misread them (a 'tiny' page of the mode ladder is not
 * on the ratio ladder and would look brand new). The names are kept in the store's meta the
 * first time either is written, and opening the store with a different one is refused.
 */
import { getProfile } from '../src/tokens/profiles/index.js';
import type { CanvasSize, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { InvalidInputError } from '../src/errors.js';
import { DEEPSEEK_MODE_LADDER, parseLadder, RATIO_LADDER, type Ladder } from './ladder.js';
import { getRetentionCurve, type RetentionCurve } from './retention.js';
import type { MemoryStore } from './store/store.js';

export const CURVE_KEY = 'forgetting_curve';
export const LADDER_KEY = 'forgetting_ladder';

export type CurveOption = 'ebbinghaus' | 'fsrs' | RetentionCurve;
export type LadderOption = 'ratio' | 'deepseek-modes' | Ladder;

export interface ForgettingPolicy {
  readonly curve: RetentionCurve;
  readonly ladder: Ladder;
  /** What the store's meta holds (or will hold) for each. */
  readonly curveId: string;
  readonly ladderId: string;
  /** Whether both are already in the store's meta. */
  readonly recorded: boolean;
}

const NAMED_LADDERS: Record<string, Ladder> = { ratio: RATIO_LADDER, 'deepseek-modes': DEEPSEEK_MODE_LADDER };

function ladderIdOf(ladder: Ladder): string {
  const json = JSON.stringify(ladder.steps);
  const named = Object.entries(NAMED_LADDERS).find(([, l]) => JSON.stringify(l.steps) === json);
  return named ? named[0] : `custom:${json}`;
}

function describeLadder(id: string): string {
  return id.startsWith('custom:') ? `a custom ladder (${id.slice(7)})` : `'${id}'`;
}

/**
 * The policy for a store: the options where given, else what the store recorded, else FSRS and
 * the ratio ladder. Throws when an option contradicts what the store recorded.
 */
export async function resolveForgettingPolicy(store: MemoryStore, options: { curve?: CurveOption; ladder?: LadderOption } = {}): Promise<ForgettingPolicy> {
  const [storedCurve, storedLadder] = await Promise.all([store.getMeta(CURVE_KEY), store.getMeta(LADDER_KEY)]);

  let curve: RetentionCurve;
  if (options.curve !== undefined) {
    curve = typeof options.curve === 'string' ? getRetentionCurve(options.curve) : options.curve;
    if (storedCurve !== undefined && storedCurve !== curve.name) {
      throw new InvalidInputError(
        'forgetting.curve',
        `This store's pages fade under the '${storedCurve}' curve, not '${curve.name}'. Leave 'forgetting.curve' out (CLI: no --curve) to use the stored one, or pass '${storedCurve}'.`,
      );
    }
  } else if (storedCurve === 'ebbinghaus' || storedCurve === 'fsrs') {
    curve = getRetentionCurve(storedCurve);
  } else if (storedCurve !== undefined) {
    throw new InvalidInputError('forgetting.curve', `This store's pages fade under a custom curve named '${storedCurve}'. Pass that curve as 'forgetting.curve'.`);
  } else {
    // FSRS by default: with MemoryBank's one-day strength, e^(-t/S) drops an unrecalled page
    // within days, while the power curve keeps it on the ladder for about a year
    // (eval/results/forgetting.md).
    curve = getRetentionCurve('fsrs');
  }

  let ladder: Ladder;
  if (options.ladder !== undefined) {
    ladder = typeof options.ladder === 'string' ? NAMED_LADDERS[options.ladder]! : parseLadder(options.ladder);
    const id = ladderIdOf(ladder);
    if (storedLadder !== undefined && storedLadder !== id) {
      const hint = storedLadder.startsWith('custom:') ? 'pass that ladder' : `pass '${storedLadder}' (CLI: --ladder ${storedLadder})`;
      throw new InvalidInputError(
        'forgetting.ladder',
        `This store's pages are on ${describeLadder(storedLadder)}, not ${describeLadder(id)}; their tiers are that ladder's steps. Leave 'forgetting.ladder' out to use the stored one, or ${hint}.`,
      );
    }
  } else if (storedLadder !== undefined) {
    ladder = NAMED_LADDERS[storedLadder] ?? parseLadder(JSON.parse(storedLadder.replace(/^custom:/, '')) as unknown);
  } else {
    // The ratio ladder by default, for DeepSeek-OCR profiles too: its first step is the
    // verified 10x page at the profile the caller chose, while the mode ladder starts every page
    // at Gundam (at least 456 tokens), more than the default Base page (256) costs.
    ladder = RATIO_LADDER;
  }
  return { curve, ladder, curveId: curve.name, ladderId: ladderIdOf(ladder), recorded: storedCurve !== undefined && storedLadder !== undefined };
}

/** Keep the policy's names in the store's meta (only the ones not there yet). */
export async function recordForgettingPolicy(store: MemoryStore, policy: ForgettingPolicy): Promise<void> {
  if (policy.recorded) return;
  if ((await store.getMeta(CURVE_KEY)) === undefined) await store.setMeta(CURVE_KEY, policy.curveId);
  if ((await store.getMeta(LADDER_KEY)) === undefined) await store.setMeta(LADDER_KEY, policy.ladderId);
}

const family = (profile: string) => profile.split(':')[0]!;

/** Mode ladders re-encode pages to their steps' profiles: those must be the memory profile's family. */
export function checkLadderProfile(ladder: Ladder, profile: VisionTokenProfile): void {
  const foreign = ladder.steps.find((s) => s.profile !== undefined && family(s.profile) !== family(profile.name));
  if (foreign) {
    throw new InvalidInputError(
      'forgetting.ladder',
      `The ladder's step '${foreign.name}' re-encodes pages for '${foreign.profile}', but this memory's profile is '${profile.name}'. Use a '${family(foreign.profile!)}:*' profile with this ladder, or the 'ratio' ladder.`,
    );
  }
  for (const s of ladder.steps) if (s.profile) getProfile(s.profile); // unknown names fail here, not mid-ageing
}

/**
 * The profile compaction plans pages for: the memory's own, or on a mode ladder the first
 * step's mode, limited to canvases that cost more than any canvas of the second step, so every
 * step down the ladder really lowers the page's visual tokens (Gundam without tiles is 256
 * tokens, fewer than Large's 400, so a Gundam page starts with at least two tiles).
 */
export function compactionProfile(ladder: Ladder, profile: VisionTokenProfile): VisionTokenProfile {
  const first = ladder.steps[0]?.profile;
  if (!first) return profile;
  const mode = getProfile(first);
  const next = ladder.steps[1]?.profile;
  if (!next) return mode;
  const nextProfile = getProfile(next);
  const ceiling = Math.max(...nextProfile.sizes().map((s) => nextProfile.tokensFor(s.width, s.height)));
  const sizes: readonly CanvasSize[] = mode.sizes().filter((s) => mode.tokensFor(s.width, s.height) > ceiling);
  if (sizes.length === 0) {
    throw new InvalidInputError('forgetting.ladder', `No canvas of '${first}' costs more than '${next}', so its first step could not shrink. Reorder the ladder's steps.`);
  }
  return { ...mode, sizes: () => sizes };
}
