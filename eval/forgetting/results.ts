/**
 * What the forgetting-curve experiment measures and how its results are shaped: shared by the
 * experiment that fills them (experiment.ts) and the report that prints them (report.ts).
 */
import type { DataSelection } from './dated-conversations.js';
import type { LadderId, OpticalPolicy } from './policies.js';
import type { TokenTurn } from './recency-truncation.js';

export interface ExperimentSettings {
  readonly mode: 'full' | 'quick';
  /** Vision-token profile of the ratio ladder's lossless pages (the mode ladder writes Gundam pages). */
  readonly profile: string;
  readonly hotBudgetTokens: number;
  /** Pages returned per question. */
  readonly k: number;
  /** Checkpoints, in days after each conversation's last session. */
  readonly checkpointDays: readonly number[];
  /** Pages decoded afresh per age bucket, policy and checkpoint. */
  readonly samplesPerBucket: number;
  readonly policies: readonly OpticalPolicy[];
  readonly selection: DataSelection;
}

export const AGE_BUCKETS: readonly { readonly label: string; readonly maxDays: number }[] = [
  { label: '≤ 1 week', maxDays: 7 },
  { label: '1 week – 1 month', maxDays: 30 },
  { label: '1–3 months', maxDays: 91 },
  { label: '3–6 months', maxDays: 182 },
  { label: '6–12 months', maxDays: 365 },
  { label: '> 1 year', maxDays: Number.POSITIVE_INFINITY },
];

export function bucketOf(ageDays: number): number {
  return AGE_BUCKETS.findIndex((b) => ageDays <= b.maxDays);
}

// ---------------------------------------------------------------- result shapes

export interface PageState {
  readonly pageId: string;
  readonly ageDays: number;
  /** Text tokens of the page's source. */
  readonly textTokens: number;
  /** Visual tokens of the page as compaction wrote it. */
  readonly writtenVisualTokens: number;
  readonly held: boolean;
  readonly tier: string;
  /** Vision-token profile of its current image ('dropped' once dropped). */
  readonly profile: string;
  readonly visualTokens: number;
  /** Fidelity of the page's current read against its source; 0 once dropped. */
  readonly fidelity: number;
}

export interface Snapshot {
  readonly conversation: string;
  readonly policy: string;
  readonly days: number;
  readonly hotTokens: number;
  readonly visualTokens: number;
  readonly tokens: number;
  readonly pages: readonly PageState[];
  /** Questions with evidence, and the summed per-question share of evidence recalled / held. */
  readonly questions: number;
  readonly evidenceRecalled: number;
  readonly evidenceHeld: number;
  /** Questions asked (with or without evidence): each is one recall. */
  readonly recalls: number;
  /** Pages the recalls returned (each one strengthened when the policy rehearses). */
  readonly pagesReturned: number;
}

export interface DecodeSample {
  readonly conversation: string;
  readonly policy: string;
  readonly days: number;
  readonly bucket: number;
  readonly pageId: string;
  readonly tier: string;
  readonly profile: string;
  /** The image is smaller than the one compaction wrote (re-encoded by ageing). */
  readonly shrunk: boolean;
  readonly fidelity: number;
  /** The fresh read equals the read stored on the page. */
  readonly agrees: boolean;
  /** Seconds the decode took; 0 when an identical image had been decoded before. */
  readonly seconds: number;
}

export interface TimelinePoint {
  readonly conversation: string;
  readonly policy: string;
  /** Days since the conversation's first session. */
  readonly day: number;
  /** Days since its last session (negative while the conversation runs). */
  readonly daysAfterLast: number;
  readonly tokens: number;
}

/** One ladder's compaction of one conversation. */
export interface CompactionSummary {
  readonly ladder: LadderId;
  /** Pages written per vision-token profile. */
  readonly profiles: Record<string, number>;
  readonly pagesWritten: number;
  readonly pageTextTokens: number;
  readonly pageVisualTokens: number;
  /** Fidelity of the verified reads at compaction (closed loop), token-weighted. */
  readonly writtenFidelity: number;
  readonly seconds: number;
}

export interface ConversationSummary {
  readonly id: string;
  readonly source: string;
  readonly lang: string;
  readonly sessions: number;
  readonly turns: number;
  readonly textTokens: number;
  readonly firstSession: string;
  readonly lastSession: string;
  readonly questions: number;
  readonly questionsWithEvidence: number;
  /** One per ladder the policies use. */
  readonly compactions: readonly CompactionSummary[];
}

/** Ladder moves of one kind: the same step, profiles and way of making the new image. */
export interface MoveTally {
  readonly from: string;
  readonly to: string;
  readonly profileBefore: string;
  readonly profileAfter: string;
  readonly strategy: string;
  readonly moves: number;
  /** Text tokens per visual token after the move, summed over the moves (divide by moves). */
  readonly ratioAfterSum: number;
}

export interface PolicyActivity {
  readonly policy: string;
  readonly moves: number;
  /** Moves that re-encoded the image smaller (the rest only relabelled a page that already met the step). */
  readonly shrinks: number;
  /** Re-renders asked for that fell back to downsampling (the text would not fit the smaller canvas legibly). */
  readonly fellBack: number;
  /** Page-ageings (summed over every `age` call) whose step could not make the image smaller, so the page stayed put. */
  readonly cannotShrink: number;
  readonly steps: readonly MoveTally[];
  readonly drops: number;
  /** Seconds spent in `Memory.age` (re-encoding and decoding the moved pages). */
  readonly ageingSeconds: number;
  readonly recalls: number;
  readonly pagesReturned: number;
  /** Mean strength (days) and recall count of the pages held at the last checkpoint. */
  readonly meanStrength: number;
  readonly meanRecallCount: number;
}

export interface RecencyTurns {
  readonly conversation: string;
  readonly turns: readonly TokenTurn[];
  readonly questions: readonly { readonly evidence: readonly string[] }[];
}

export interface ForgettingResults {
  readonly settings: ExperimentSettings & { readonly fixture: boolean; readonly data: string };
  readonly conversations: readonly ConversationSummary[];
  readonly snapshots: readonly Snapshot[];
  readonly samples: readonly DecodeSample[];
  readonly timeline: readonly TimelinePoint[];
  readonly activity: readonly PolicyActivity[];
  /** Turn tokens and evidence per conversation, for the recency baseline at any budget. */
  readonly recency: readonly RecencyTurns[];
  readonly seconds: { readonly total: number; readonly ingest: number; readonly ageing: number; readonly samples: number; readonly questions: number };
}
