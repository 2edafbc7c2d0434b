/**
 * What a calibration run will cost, worked out before any page is read: visual tokens per page
 * from the profile (exact), prompt tokens, and output tokens estimated as the text tokens of
 * the first page at each size (a transcription is about as long as the text it reads), times
 * the pages still to read at that size.
 */
import { InvalidInputError } from '../errors.js';

export interface SizeEstimate {
  readonly glyphPx: number;
  /** Pages still to read at this size (pages in the state file are not counted). */
  readonly pages: number;
  /** Text tokens of a page at this size (its first page). */
  readonly textTokensPerPage: number;
}

export interface CostEstimate {
  readonly profile: string;
  readonly canvas: { readonly width: number; readonly height: number };
  /** What the profile charges for one page image. */
  readonly visualTokensPerPage: number;
  /** Pages still to read. */
  readonly pages: number;
  /** Requests still to make: one a page, two with needle questions. */
  readonly requests: number;
  /** Pages already read by an earlier run (taken from the state file). */
  readonly resumed: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
  /** USD, when prices were given. */
  readonly usd?: number;
  /** False for opticmem's local readers: pages cost nothing. */
  readonly billed: boolean;
  readonly maxTokens: number;
  readonly sizes: readonly SizeEstimate[];
}

export interface EstimateInput {
  /** Needle questions: one more request a page, the image again with a question, a short answer. */
  readonly needles?: { readonly questionTokens: number; readonly answerTokens: number };
  readonly profile: string;
  readonly canvas: { readonly width: number; readonly height: number };
  readonly visualTokensPerPage: number;
  readonly promptTokens: number;
  readonly resumed: number;
  readonly sizes: readonly SizeEstimate[];
  readonly billed: boolean;
  readonly maxTokens: number;
  readonly prices: { readonly inputPerMTok?: number; readonly outputPerMTok?: number };
}

export function estimateCost(input: EstimateInput): CostEstimate {
  const pages = input.sizes.reduce((a, s) => a + s.pages, 0);
  const needles = input.needles;
  const requests = needles ? 2 * pages : pages;
  const inputTokens = pages * (input.visualTokensPerPage + input.promptTokens) + (needles ? pages * (input.visualTokensPerPage + needles.questionTokens) : 0);
  const outputTokens = input.sizes.reduce((a, s) => a + s.pages * s.textTokensPerPage, 0) + (needles ? pages * needles.answerTokens : 0);
  const { inputPerMTok, outputPerMTok } = input.prices;
  const priced = inputPerMTok !== undefined || outputPerMTok !== undefined;
  return {
    profile: input.profile,
    canvas: input.canvas,
    visualTokensPerPage: input.visualTokensPerPage,
    pages,
    requests,
    resumed: input.resumed,
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    ...(priced ? { usd: (inputTokens * (inputPerMTok ?? 0) + outputTokens * (outputPerMTok ?? 0)) / 1e6 } : {}),
    billed: input.billed,
    maxTokens: input.maxTokens,
    sizes: input.sizes,
  };
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');

/** The estimate as a few lines for a terminal. */
export function formatEstimate(e: CostEstimate): string {
  const lines = [
    `Estimate: ${e.pages} page${e.pages === 1 ? '' : 's'} to read on ${e.profile} ${e.canvas.width}x${e.canvas.height} (${n(e.visualTokensPerPage)} visual tokens a page)${e.requests !== e.pages ? `, ${e.requests} requests with the needle questions` : ''}${e.resumed ? `, ${e.resumed} already read by an earlier run` : ''}.`,
    `  input  ~${n(e.inputTokens)} tokens (images and prompt)`,
    `  output ~${n(e.outputTokens)} tokens (transcriptions, from the pages' text tokens)`,
    e.usd !== undefined ? `  cost   ~$${e.usd.toFixed(2)} at the prices given` : e.billed ? '  cost   (pass --price-in and --price-out, USD per 1M tokens, for a dollar figure)' : '  cost   none: a local reader',
  ];
  return lines.join('\n');
}

/** A billed run that was not confirmed: the estimate is over the limit, or nobody saw it. */
export class CalibrationBudgetError extends InvalidInputError {
  declare static isInstance: (e: unknown) => e is CalibrationBudgetError;
  readonly estimate: CostEstimate;
  constructor(message: string, estimate: CostEstimate) {
    super('yes', message);
    this.estimate = estimate;
  }
}
Object.defineProperty(CalibrationBudgetError.prototype, Symbol.for('opticmem.error.calibration_budget'), { value: true });
Object.defineProperty(CalibrationBudgetError, 'isInstance', {
  value: (e: unknown) => typeof e === 'object' && e !== null && Symbol.for('opticmem.error.calibration_budget') in e,
});

/**
 * Whether the run may go ahead: local readers and runs with nothing left to read always may; a
 * billed run needs `yes`, unless it is interactive (a terminal showed the estimate) and within
 * `maxTokens`.
 */
export function checkBudget(e: CostEstimate, confirm: { readonly yes: boolean; readonly interactive: boolean }): void {
  if (!e.billed || e.requests === 0 || confirm.yes) return;
  const cost = e.usd !== undefined ? ` (~$${e.usd.toFixed(2)})` : '';
  if (e.totalTokens > e.maxTokens) {
    throw new CalibrationBudgetError(
      `The run would send ~${n(e.totalTokens)} tokens${cost}, over the limit of ${n(e.maxTokens)}. Pass --yes (yes: true) to spend them, or read fewer pages (--pages, --sizes) or raise --max-tokens.`,
      e,
    );
  }
  if (!confirm.interactive) {
    throw new CalibrationBudgetError(
      `The run would send ~${n(e.totalTokens)} tokens${cost} to a billed endpoint and nobody at a terminal saw the estimate. Pass --yes (yes: true) to go ahead.`,
      e,
    );
  }
}
