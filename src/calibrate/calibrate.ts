/**
 * `calibrate()`: measure a consuming model's legibility floor. Held-out chat text is drawn on
 * the profile's canvas at a ladder of glyph sizes (as the model sees them), the model
 * transcribes every page, and fidelity per size gives the floor and a legibility preset that
 * `Memory.open({ legibility: [preset] })` applies.
 *
 * Cheap against a paid API: the cost is estimated before any page is read (and a billed run
 * needs confirmation, see `checkBudget`), pages are read one at a time, and with `outDir` every
 * result goes to a state file so a rerun reads only what is missing.
 */
import { join } from 'node:path';
import { decode } from '../codec/codec.js';
import { fidelity } from '../codec/fidelity.js';
import { DecodeError } from '../errors.js';
import type { LegibilityPreset } from '../tokens/legibility.js';
import { createO200kTokenizer } from '../tokens/text-tokenizer.js';
import type { CanvasSize } from '../tokens/vision-token-profile.js';
import { CalibrationBudgetError, checkBudget, estimateCost, type CostEstimate, type SizeEstimate } from './estimate.js';
import { resolveCalibration, type CalibrateOptions, type ResolvedCalibration } from './options.js';
import { NEEDLE_ANSWER_TOKENS, NEEDLE_QUESTION_TOKENS, needleFor, needleFound, needleTurn } from './needles.js';
import { planCalibrationPage, renderCalibrationPage, type PlanPageInput } from './pages.js';
import { buildPreset, floorOf, floorRule, markdownReport, summarize, writeReport, type CalibrationRow, type ReportContext, type WrittenFiles } from './report.js';
import { loadState, resultKey, saveState, STATE_FILE, textDigest, type CalibrationState, type PageResult, type StateKey } from './state.js';

export type { CalibrateOptions, CalibrationProgress } from './options.js';
export { DEFAULT_SIZES } from './options.js';
export { CalibrationBudgetError, type CostEstimate } from './estimate.js';
export type { CalibrationRow } from './report.js';
export { createOpenAINeedleAsker, type NeedleAsker } from './needles.js';
export type { PageResult as CalibrationPageResult } from './state.js';

export interface CalibrationResult {
  readonly profile: string;
  readonly model: string;
  /** The decoder's own name, e.g. `openai:gpt-4o` or `onnx-ppocrv4`. */
  readonly decoder: string;
  readonly canvas: CanvasSize;
  readonly visualTokensPerPage: number;
  readonly minFidelity: number;
  readonly sizes: readonly number[];
  readonly rows: readonly CalibrationRow[];
  /** Every page of the run (read now or taken from the state file), by size then page. */
  readonly pages: readonly PageResult[];
  /** The measured floor (px), or undefined when the largest size is not legible. */
  readonly floor: number | undefined;
  /** The floor as a preset for `Memory.open({ legibility: [preset] })`; undefined without a floor. */
  readonly preset: LegibilityPreset | undefined;
  /** The rule the floor was chosen by, in words. */
  readonly floorRule: string;
  readonly markdown: string;
  readonly estimate: CostEstimate;
  /** Pages read (requests made) by this run. */
  readonly read: number;
  /** Pages taken from the state file of an earlier run. */
  readonly resumed: number;
  /** Files written to `outDir`. */
  readonly files?: WrittenFiles & { readonly state: string };
}

/** Run a calibration. The decoder is the caller's: it is not closed. */
export async function calibrate(options: CalibrateOptions): Promise<CalibrationResult> {
  const o = resolveCalibration(options);
  const tokenizer = options.tokenizer ?? createO200kTokenizer();
  const key: StateKey = {
    profile: o.profile.name,
    canvas: { width: o.canvas.width, height: o.canvas.height },
    decoder: o.decoder.name,
    model: o.model,
    font: o.font,
    ...(o.needles ? { needles: o.needles.name } : {}),
    textSha256: textDigest(o.turns),
  };
  const state: CalibrationState = o.outDir ? await loadState(o.outDir, key) : { format: 'opticmem-calibration-state', version: 1, key, results: [] };
  // Written at once, so a folder that cannot be written is refused before any page is read.
  if (o.outDir) await saveState(o.outDir, state);
  const done = new Map(state.results.map((r) => [resultKey(r.glyphPx, r.page), r]));
  const input: PlanPageInput = {
    profile: o.profile,
    canvas: o.canvas,
    font: o.font,
    tokenizer,
    turns: o.turns,
    ...(o.needles ? { plant: (g: number, p: number) => needleTurn(needleFor(g, p)) } : {}),
  };
  const visualTokensPerPage = o.profile.tokensFor(o.canvas.width, o.canvas.height);

  // 1. The estimate, before any page is read: the first page still to read at each size stands for the rest.
  const pagesAt = (glyphPx: number) => Array.from({ length: o.pages }, (_, p) => p).filter((p) => !done.has(resultKey(glyphPx, p)));
  const sizes: SizeEstimate[] = o.sizes.map((glyphPx) => {
    const pending = pagesAt(glyphPx);
    const first = pending[0];
    return { glyphPx, pages: pending.length, textTokensPerPage: first === undefined ? 0 : planCalibrationPage(input, glyphPx, first).textTokens };
  });
  const total = o.sizes.length * o.pages;
  const estimate = estimateCost({
    profile: o.profile.name,
    canvas: key.canvas,
    visualTokensPerPage,
    promptTokens: o.promptTokens,
    resumed: total - sizes.reduce((a, s) => a + s.pages, 0),
    sizes,
    billed: o.billed,
    maxTokens: o.maxTokens,
    prices: o.prices,
    ...(o.needles ? { needles: { questionTokens: NEEDLE_QUESTION_TOKENS, answerTokens: NEEDLE_ANSWER_TOKENS } } : {}),
  });
  options.onEstimate?.(estimate);
  checkBudget(estimate, { yes: o.yes, interactive: o.interactive });
  if (estimate.billed && estimate.requests > 0 && !o.yes && options.confirm && !(await options.confirm(estimate))) {
    throw new CalibrationBudgetError('The run was not confirmed, so no page was read. Answer y to go ahead, or pass --yes (yes: true).', estimate);
  }

  // 2. Read the pages, smallest size first, one at a time; each result is saved as it comes.
  let finished = 0;
  let read = 0;
  for (const glyphPx of o.sizes) {
    for (let page = 0; page < o.pages; page++) {
      const k = resultKey(glyphPx, page);
      const earlier = done.get(k);
      if (earlier) {
        finished++;
        options.onPage?.({ glyphPx, page, fidelity: earlier.fidelity, done: finished, total, resumed: true });
        continue;
      }
      const result = await readPage(o, input, glyphPx, page, options.signal);
      read++;
      done.set(k, result);
      state.results.push(result);
      if (o.outDir) await saveState(o.outDir, state);
      finished++;
      options.onPage?.({ glyphPx, page, fidelity: result.fidelity, done: finished, total, resumed: false });
    }
  }

  // 3. The rows, the floor and the preset, over this run's sizes and page count.
  const results = o.sizes.flatMap((g) => Array.from({ length: o.pages }, (_, p) => done.get(resultKey(g, p))!));
  const rows = summarize(results, o.sizes, o.minFidelity);
  const floor = floorOf(rows);
  const ctx: ReportContext = {
    profile: o.profile.name,
    model: o.model,
    decoder: o.decoder.name,
    canvas: key.canvas,
    visualTokensPerPage,
    pagesPerSize: o.pages,
    minFidelity: o.minFidelity,
    textSource: o.textSource,
    measuredAt: (options.now ?? (() => new Date()))().toISOString(),
  };
  const preset = floor === undefined ? undefined : buildPreset(rows, floor, ctx);
  const markdown = markdownReport(rows, floor, ctx);
  const summary = {
    profile: ctx.profile,
    model: ctx.model,
    decoder: ctx.decoder,
    canvas: ctx.canvas,
    visualTokensPerPage,
    minFidelity: o.minFidelity,
    sizes: o.sizes,
    pagesPerSize: o.pages,
    textSource: o.textSource,
    measuredAt: ctx.measuredAt,
    floor: floor ?? null,
    floorRule: floorRule(o.minFidelity),
    rows,
    preset: preset ?? null,
    pages: results,
  };
  const base = { profile: ctx.profile, model: ctx.model, decoder: ctx.decoder, canvas: ctx.canvas, visualTokensPerPage, minFidelity: o.minFidelity, sizes: o.sizes, rows, pages: results, floor, preset, floorRule: floorRule(o.minFidelity), markdown, estimate, read, resumed: finished - read };
  if (!o.outDir) return base;
  const files = await writeReport(o.outDir, { markdown, json: summary, rows, preset, ctx });
  return { ...base, files: { ...files, state: join(o.outDir, STATE_FILE) } };
}

/** Draw one page, have the decoder read it, and score the reading. */
async function readPage(o: ResolvedCalibration, input: PlanPageInput, glyphPx: number, page: number, signal: AbortSignal | undefined): Promise<PageResult> {
  const decoder = o.decoder;
  const plan = planCalibrationPage(input, glyphPx, page);
  const rendered = await renderCalibrationPage(plan);
  const common = {
    glyphPx,
    page,
    seenGlyphPx: plan.seenGlyphPx,
    fontSize: plan.layout.fontSize,
    columns: plan.layout.columns ?? 1,
    start: plan.start,
    chars: plan.sourceText.length,
    textTokens: plan.textTokens,
    visualTokens: plan.visualTokens,
    ratio: plan.ratio,
  };
  const started = performance.now();
  let read: Pick<PageResult, 'fidelity' | 'decodedChars' | 'error'>;
  try {
    const decoded = await decode(rendered.png, { decoder, geometry: rendered.geometry, ...(signal ? { signal } : {}) });
    read = { fidelity: fidelity(decoded.text, plan.sourceText), decodedChars: decoded.text.length };
  } catch (error) {
    read = { fidelity: 0, decodedChars: 0, error: unread(error, signal) };
  }
  const elapsedMs = Math.round(performance.now() - started);
  if (!o.needles) return { ...common, ...read, elapsedMs };
  const needle = needleFor(glyphPx, page);
  let answer: string;
  try {
    answer = await o.needles.ask(rendered.png, needle.question, signal);
  } catch (error) {
    answer = `(no answer: ${unread(error, signal)})`;
  }
  return { ...common, ...read, elapsedMs, needle: { found: needleFound(needle, answer), answer: answer.slice(0, 200) } };
}

/**
 * The model answered but gave no text (a refusal, a reply cut at its token limit): the page was
 * not read, which is what a calibration measures. Anything else (a network failure, a bad key,
 * an abort) stops the run; the state file keeps what was read.
 */
function unread(error: unknown, signal: AbortSignal | undefined): string {
  if (!DecodeError.isInstance(error) || signal?.aborted) throw error;
  return error.message.slice(0, 300);
}
