/**
 * The forgetting-curve experiment: dated conversations are replayed over simulated time into
 * real `Memory` stores (LanceDB in temp folders, the canvas renderer, the local ONNX decoder)
 * with an injected clock, one store per policy, and measured at checkpoints after the last
 * session: tokens held, how well the pages still decode, and whether the evidence of each
 * question can still be recalled. Recency truncation of plain text is the baseline.
 *
 * Compaction is the same for every policy on one ladder (ageing never touches hot turns), so it
 * runs once per conversation and ladder: the ratio ladder's lossless pages at the experiment's
 * profile, the mode ladder's at Gundam (a memory opened with that ladder plans them). Each
 * policy's store then replays its ladder's turns and pages session by session, ageing at every
 * session date as a periodic job would, so pages fade in between.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { DAY_MS, type AgeResult } from '../../memory/ageing.js';
import { Memory } from '../../memory/memory.js';
import type { PageRow, Scope, TurnRow } from '../../memory/store/store.js';
import { TiersSchema } from '../../memory/tiers.js';
import { decode } from '../../src/codec/codec.js';
import { fidelity } from '../../src/codec/fidelity.js';
import type { Decoder } from '../../src/decoders/decoder.js';
import { createOnnxDecoder } from '../../src/decoders/onnx/index.js';
import { loadExperimentData, type DatedConversation, type DatedTurn } from './dated-conversations.js';
import { pageReference } from './page-reference.js';
import { ladderOf, opticalPolicies, type LadderId, type OpticalPolicy } from './policies.js';
import type { TokenTurn } from './recency-truncation.js';
import { writeForgettingReport } from './report.js';
import { AGE_BUCKETS, bucketOf, type ExperimentSettings, type PageState, type Snapshot, type DecodeSample, type TimelinePoint, type CompactionSummary, type ConversationSummary, type MoveTally, type RecencyTurns, type ForgettingResults } from './results.js';

export interface ForgettingExperimentOptions {
  readonly quick?: boolean;
  /** Print the results as JSON on stdout instead of the Markdown report. */
  readonly json?: boolean;
  readonly outDir: string;
  /** Use the repo fixture even when the shared data folder is present. */
  readonly fixture?: boolean;
  /** Folder with the shared data; default `dataDir()`. */
  readonly dataDir?: string;
  /** Progress bar on stderr. Default true. */
  readonly progress?: boolean;
  readonly log?: (line: string) => void;
  /** Output file names without extension; default 'forgetting' ('forgetting-quick' with quick). */
  readonly name?: string;
  /** Print the report on stdout when done. Default true. */
  readonly print?: boolean;
  /** Replace parts of the mode's settings (smaller runs, other checkpoints or policies). */
  readonly settings?: Partial<ExperimentSettings>;
}


// Base pages (1024x1024, 256 visual tokens): the ratio ladder's later steps then have two
// smaller DeepSeek-OCR canvases to re-encode to, Small (100) and Tiny (64). From Small pages
// only Tiny is smaller, so most steps could only be skipped.
const PROFILE = 'deepseek-ocr:base';

// The library's default hot budget (2000). Compaction leaves half of it hot, so each batch is at
// least about 1000 tokens: a Base page holds 2560 at 10x, and pages under ~960 tokens would go
// from Base straight to Tiny (the 15x step's fewest tokens at or below 15x), skipping Small.
const HOT_BUDGET = TiersSchema.parse({}).hotBudgetTokens;

const FULL: ExperimentSettings = {
  mode: 'full',
  profile: PROFILE,
  hotBudgetTokens: HOT_BUDGET,
  k: 3,
  checkpointDays: [1, 7, 30, 91, 365],
  samplesPerBucket: 1,
  policies: opticalPolicies(true),
  selection: { locomoConversations: 2, memoryBankUsers: { en: 1, zh: 1 } },
};

const QUICK: ExperimentSettings = {
  mode: 'quick',
  profile: PROFILE,
  hotBudgetTokens: HOT_BUDGET,
  k: 3,
  checkpointDays: [1, 30, 365],
  samplesPerBucket: 1,
  policies: opticalPolicies(false),
  // Six LoCoMo sessions (about 4,100 tokens) compact twice at this hot budget; a MemoryBank
  // user's ten days (about 2,900) once.
  selection: { locomoConversations: 1, locomoSessions: 6, memoryBankUsers: { en: 1, zh: 0 } },
};

/** The fixture is a tenth the size of a LoCoMo conversation; a smaller hot tier still pages most of it. */
const FIXTURE_HOT_BUDGET = 250;

// ---------------------------------------------------------------- ingest (once per conversation and ladder)

interface IngestedPage {
  readonly id: string;
  readonly reference: string;
  readonly textTokens: number;
  readonly visualTokens: number;
  readonly endTime: number;
}

interface SessionDelta {
  readonly time: number;
  readonly added: readonly TurnRow[];
  readonly removed: readonly string[];
  readonly pages: readonly PageRow[];
}

interface Ingested {
  readonly ladder: LadderId;
  readonly deltas: readonly SessionDelta[];
  readonly pages: readonly IngestedPage[];
  /** Store turn id -> source turn id (dia_id). */
  readonly sourceId: ReadonlyMap<string, string>;
  readonly turns: readonly TokenTurn[];
  readonly compaction: CompactionSummary;
}

interface Context {
  readonly settings: ExperimentSettings;
  readonly decoder: Decoder;
  readonly tick: (phase: string) => void;
}

const MINUTE_MS = 60_000;

function openMemory(path: string, ctx: Context, clock: { now: number }, ladder: LadderId, curve?: OpticalPolicy['curve']): Promise<Memory> {
  return Memory.open({
    path,
    decoder: ctx.decoder,
    profile: ctx.settings.profile,
    tiers: { hotBudgetTokens: ctx.settings.hotBudgetTokens },
    autoCompact: false,
    now: () => clock.now,
    // The mode ladder is never a default: a memory opened with it plans its pages at Gundam.
    ...(curve || ladder !== 'ratio' ? { forgetting: { ...(curve ? { curve } : {}), ...(ladder !== 'ratio' ? { ladder } : {}) } } : {}),
  });
}

async function ingest(conv: DatedConversation, ladder: LadderId, ctx: Context, workDir: string): Promise<Ingested> {
  const started = performance.now();
  const scope: Scope = { userId: conv.id };
  const clock = { now: conv.sessions[0]!.time };
  const memory = await openMemory(join(workDir, `ingest-${ladder}`), ctx, clock, ladder);
  const sourceId = new Map<string, string>();
  const sourceTurn = new Map<string, DatedTurn>();
  const deltas: SessionDelta[] = [];
  const pages: IngestedPage[] = [];
  const turns: TokenTurn[] = [];
  const profiles: Record<string, number> = {};
  let writtenFidelity = 0;
  let pageTextTokens = 0;
  let pageVisualTokens = 0;
  try {
    for (const session of conv.sessions) {
      clock.now = session.time;
      const before = new Set((await memory.store.listPages(scope, { withPng: false })).map((p) => p.id));
      const { turnIds } = await memory.add(
        session.turns.map((t, i) => ({ role: t.role, content: t.content, ...(t.name ? { name: t.name } : {}), createdAt: session.time + i * MINUTE_MS })),
        scope,
      );
      turnIds.forEach((id, i) => {
        sourceId.set(id, session.turns[i]!.id);
        sourceTurn.set(id, session.turns[i]!);
      });
      const fresh = new Set(turnIds);
      const hot = await memory.store.listTurns(scope);
      const added = hot.filter((t) => fresh.has(t.id));
      for (const t of added) turns.push({ id: sourceId.get(t.id)!, tokens: t.textTokens, time: t.createdAt });
      // Compaction runs when the session ends, as `add` with autoCompact would after its last
      // turn: down to half the hot budget, so each batch fills its pages.
      clock.now = session.time + session.turns.length * MINUTE_MS;
      if (hot.reduce((a, t) => a + t.textTokens, 0) > ctx.settings.hotBudgetTokens) {
        await memory.compact(scope, { keepTokens: Math.floor(ctx.settings.hotBudgetTokens / 2) });
      }
      const stillHot = new Set((await memory.store.listTurns(scope)).map((t) => t.id));
      const newPages = (await memory.store.listPages(scope, { withPng: true })).filter((p) => !before.has(p.id));
      for (const p of newPages) {
        const covered = p.turnIds.map((id) => sourceTurn.get(id)!);
        pages.push({ id: p.id, reference: pageReference(p.decodedText, covered), textTokens: p.textTokens, visualTokens: p.visualTokens, endTime: p.endTime });
        writtenFidelity += Math.max(0, p.fidelity) * p.textTokens;
        pageTextTokens += p.textTokens;
        pageVisualTokens += p.visualTokens;
        profiles[p.profile] = (profiles[p.profile] ?? 0) + 1;
      }
      deltas.push({ time: session.time, added, removed: hot.filter((t) => !stillHot.has(t.id)).map((t) => t.id), pages: newPages });
      ctx.tick(`${conv.id}: compacting (${ladder} ladder)`);
    }
  } finally {
    await memory.close();
  }
  return {
    ladder,
    deltas,
    pages,
    sourceId,
    turns,
    compaction: {
      ladder,
      profiles,
      pagesWritten: pages.length,
      pageTextTokens,
      pageVisualTokens,
      writtenFidelity: pageTextTokens ? writtenFidelity / pageTextTokens : Number.NaN,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

function conversationSummary(conv: DatedConversation, ingested: readonly Ingested[]): ConversationSummary {
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  // Every ladder's compaction saw the same turns; the first one's token counts stand for all.
  const turns = ingested[0]!.turns;
  return {
    id: conv.id,
    source: conv.source,
    lang: conv.lang,
    sessions: conv.sessions.length,
    turns: turns.length,
    textTokens: turns.reduce((a, t) => a + t.tokens, 0),
    firstSession: iso(conv.sessions[0]!.time),
    lastSession: iso(conv.sessions.at(-1)!.time),
    questions: conv.questions.length,
    questionsWithEvidence: conv.questions.filter((q) => q.evidence.length > 0).length,
    compactions: ingested.map((i) => i.compaction),
  };
}

// ---------------------------------------------------------------- one policy over time

interface PolicyRun {
  readonly snapshots: Snapshot[];
  readonly samples: DecodeSample[];
  readonly timeline: TimelinePoint[];
  readonly steps: Map<string, MoveTally>;
  moves: number;
  shrinks: number;
  fellBack: number;
  cannotShrink: number;
  drops: number;
  ageingSeconds: number;
  sampleSeconds: number;
  questionSeconds: number;
  strengthSum: number;
  recallCountSum: number;
  heldAtEnd: number;
}

/** Reads of identical images, by hash: the decoder is deterministic, so one decode serves all. */
type ReadCache = Map<string, string>;

async function tokensHeld(memory: Memory, scope: Scope): Promise<{ hot: number; visual: number }> {
  const { turns, pages } = await memory.list(scope);
  return { hot: turns.reduce((a, t) => a + t.textTokens, 0), visual: pages.reduce((a, p) => a + p.visualTokens, 0) };
}

function tallyMoves(run: PolicyRun, result: AgeResult, asked: string): void {
  run.moves += result.moved.length;
  run.drops += result.dropped.length;
  run.cannotShrink += result.cannotShrink;
  for (const m of result.moved) {
    if (m.strategy !== 'kept') run.shrinks++;
    if (asked === 'rerender' && m.strategy === 'downsample') run.fellBack++;
    const key = [m.from, m.to, m.profileBefore, m.profileAfter, m.strategy].join('\u0000');
    const t = run.steps.get(key) ?? { from: m.from, to: m.to, profileBefore: m.profileBefore, profileAfter: m.profileAfter, strategy: m.strategy, moves: 0, ratioAfterSum: 0 };
    run.steps.set(key, { ...t, moves: t.moves + 1, ratioAfterSum: t.ratioAfterSum + m.ratioAfter });
  }
}

async function runPolicy(conv: DatedConversation, ing: Ingested, policy: OpticalPolicy, ctx: Context, workDir: string, reads: ReadCache): Promise<PolicyRun> {
  const { settings } = ctx;
  const scope: Scope = { userId: conv.id };
  const first = conv.sessions[0]!.time;
  const last = conv.sessions.at(-1)!.time;
  const clock = { now: first };
  const memory = await openMemory(join(workDir, policy.id), ctx, clock, ladderOf(policy), policy.curve);
  const run: PolicyRun = {
    snapshots: [], samples: [], timeline: [], steps: new Map(), moves: 0, shrinks: 0, fellBack: 0, cannotShrink: 0, drops: 0,
    ageingSeconds: 0, sampleSeconds: 0, questionSeconds: 0, strengthSum: 0, recallCountSum: 0, heldAtEnd: 0,
  };
  const age = async (now: number) => {
    if (!policy.curve) return;
    const t0 = performance.now();
    const r = await memory.age({ now, ...(policy.strategy ? { strategy: policy.strategy } : {}) });
    run.ageingSeconds += (performance.now() - t0) / 1000;
    tallyMoves(run, r, policy.strategy ?? 'downsample');
  };
  const mark = async (now: number) => {
    const held = await tokensHeld(memory, scope);
    run.timeline.push({ conversation: conv.id, policy: policy.id, day: (now - first) / DAY_MS, daysAfterLast: (now - last) / DAY_MS, tokens: held.hot + held.visual });
  };
  try {
    for (const [i, delta] of ing.deltas.entries()) {
      clock.now = delta.time;
      // A periodic ageing job: pages fade between sessions, not only after the last one.
      if (i > 0) await age(delta.time);
      if (delta.added.length) await memory.store.addTurns(delta.added);
      // The compaction every policy on this ladder would have made; pages start at this curve's strength.
      if (delta.pages.length) await memory.store.addPages(delta.pages.map((p) => ({ ...p, strength: memory.curve.initialStrength })));
      if (delta.removed.length) await memory.store.deleteTurns(scope, delta.removed);
      await mark(delta.time);
      ctx.tick(`${conv.id}: ${policy.id} replay`);
    }
    for (const days of settings.checkpointDays) {
      const now = last + days * DAY_MS;
      clock.now = now;
      await age(now);
      run.snapshots.push(await checkpoint(memory, conv, ing, policy, days, now, ctx, reads, run));
      await mark(now);
      ctx.tick(`${conv.id}: ${policy.id} +${days}d`);
    }
    for (const p of (await memory.list(scope)).pages) {
      run.strengthSum += p.strength;
      run.recallCountSum += p.recallCount;
      run.heldAtEnd++;
    }
  } finally {
    await memory.close();
  }
  return run;
}

async function checkpoint(
  memory: Memory,
  conv: DatedConversation,
  ing: Ingested,
  policy: OpticalPolicy,
  days: number,
  now: number,
  ctx: Context,
  reads: ReadCache,
  run: PolicyRun,
): Promise<Snapshot> {
  const { settings } = ctx;
  const scope: Scope = { userId: conv.id };
  const { turns, pages } = await memory.list(scope);
  const current = new Map(pages.map((p) => [p.id, p]));
  const states: PageState[] = ing.pages.map((p) => {
    const page = current.get(p.id);
    return {
      pageId: p.id,
      ageDays: (now - p.endTime) / DAY_MS,
      textTokens: p.textTokens,
      writtenVisualTokens: p.visualTokens,
      held: page !== undefined,
      tier: page?.tier ?? 'dropped',
      profile: page?.profile ?? 'dropped',
      visualTokens: page?.visualTokens ?? 0,
      fidelity: page ? fidelity(page.decodedText, p.reference) : 0,
    };
  });

  // Fresh decodes of a fixed number of held pages per age bucket check the read stored on the
  // page. Picking by id picks the same page in every policy's store on one ladder (they share
  // page ids), so an image no policy has changed is decoded once.
  const t0 = performance.now();
  const written = new Map(ing.pages.map((p) => [p.id, p]));
  for (let b = 0; b < AGE_BUCKETS.length; b++) {
    const inBucket = states
      .filter((s) => s.held && bucketOf(s.ageDays) === b)
      .map((s) => current.get(s.pageId)!)
      .sort((x, y) => (x.id < y.id ? -1 : 1));
    for (const meta of inBucket.slice(0, settings.samplesPerBucket)) {
      const page = (await memory.get(meta.id, scope))!;
      const hash = createHash('sha256').update(page.png).digest('hex');
      let read = reads.get(hash);
      const d0 = performance.now();
      if (read === undefined) {
        read = (await decode(page.png, { decoder: ctx.decoder, geometry: JSON.parse(page.geometry) })).text;
        reads.set(hash, read);
      }
      run.samples.push({
        conversation: conv.id,
        policy: policy.id,
        days,
        bucket: b,
        pageId: page.id,
        tier: page.tier,
        profile: page.profile,
        shrunk: page.visualTokens < written.get(page.id)!.visualTokens,
        fidelity: fidelity(read, written.get(page.id)!.reference),
        agrees: read === page.decodedText,
        seconds: (performance.now() - d0) / 1000,
      });
    }
  }
  run.sampleSeconds += (performance.now() - t0) / 1000;

  // Questions: the hot tier is always in context; pages must be found by search. With
  // rehearsal each question is a `Memory.recall`, which strengthens every page it returns.
  const q0 = performance.now();
  const source = (ids: Iterable<string>) => new Set([...ids].map((id) => ing.sourceId.get(id)).filter((x): x is string => x !== undefined));
  const hot = turns.map((t) => t.id);
  const held = source([...hot, ...pages.flatMap((p) => p.turnIds)]);
  let questions = 0;
  let evidenceRecalled = 0;
  let evidenceHeld = 0;
  let pagesReturned = 0;
  for (const q of conv.questions) {
    const hits = policy.rehearsal
      ? await memory.recall(q.question, { scope, k: settings.k, as: 'image' })
      : (await memory.store.search(scope, { text: q.question, k: settings.k })).map((h) => h.page);
    pagesReturned += hits.length;
    if (q.evidence.length === 0) continue;
    const found = source([...hot, ...hits.flatMap((h) => h.turnIds)]);
    questions++;
    evidenceRecalled += q.evidence.filter((e) => found.has(e)).length / q.evidence.length;
    evidenceHeld += q.evidence.filter((e) => held.has(e)).length / q.evidence.length;
  }
  run.questionSeconds += (performance.now() - q0) / 1000;
  const hotTokens = turns.reduce((a, t) => a + t.textTokens, 0);
  const visualTokens = pages.reduce((a, p) => a + p.visualTokens, 0);
  return {
    conversation: conv.id,
    policy: policy.id,
    days,
    hotTokens,
    visualTokens,
    tokens: hotTokens + visualTokens,
    pages: states,
    questions,
    evidenceRecalled,
    evidenceHeld,
    recalls: conv.questions.length,
    pagesReturned,
  };
}

// ---------------------------------------------------------------- the run

export function settingsFor(quick: boolean): ExperimentSettings {
  return quick ? QUICK : FULL;
}

export async function runForgettingExperiment(options: ForgettingExperimentOptions): Promise<ForgettingResults> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const started = performance.now();
  const base: ExperimentSettings = { ...settingsFor(options.quick === true), ...options.settings };
  const data = await loadExperimentData(base.selection, { ...(options.fixture ? { fixture: true } : {}), ...(options.dataDir ? { dir: options.dataDir } : {}) });
  const settings: ExperimentSettings = data.fixture ? { ...base, hotBudgetTokens: FIXTURE_HOT_BUDGET } : base;
  log(`forgetting experiment (${settings.mode}): ${data.description}`);
  if (data.fixture && !options.fixture) log('NOTE: shared data folder missing; results come from the small repo fixture and are not comparable to a full run.');

  // Ratio-ladder policies share one compaction; the mode ladder has its own (Gundam pages).
  const ladders = [...new Set(settings.policies.map(ladderOf))];
  const units = data.conversations.reduce((a, c) => a + c.sessions.length * (ladders.length + settings.policies.length) + settings.checkpointDays.length * settings.policies.length, 0);
  const bar =
    options.progress === false
      ? undefined
      : new cliProgress.SingleBar(
          { format: 'forgetting [{bar}] {value}/{total} {duration_formatted} {phase}', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 15_000 },
          cliProgress.Presets.shades_classic,
        );
  bar?.start(units, 0, { phase: 'starting' });
  const decoder = createOnnxDecoder();
  const ctx: Context = { settings, decoder, tick: (phase) => bar?.increment(1, { phase }) };
  const reads: ReadCache = new Map();
  const conversations: ConversationSummary[] = [];
  const snapshots: Snapshot[] = [];
  const samples: DecodeSample[] = [];
  const timeline: TimelinePoint[] = [];
  const recency: RecencyTurns[] = [];
  const activity = new Map(
    settings.policies.map((p) => [
      p.id,
      { moves: 0, shrinks: 0, fellBack: 0, cannotShrink: 0, steps: new Map<string, MoveTally>(), drops: 0, ageingSeconds: 0, recalls: 0, pagesReturned: 0, strength: 0, recallCount: 0, held: 0 },
    ]),
  );
  const seconds = { ingest: 0, ageing: 0, samples: 0, questions: 0 };
  try {
    for (const conv of data.conversations) {
      const workDir = await mkdtemp(join(tmpdir(), 'opticmem-forgetting-'));
      try {
        const ingested = new Map<LadderId, Ingested>();
        for (const ladder of ladders) {
          const ing = await ingest(conv, ladder, ctx, workDir);
          ingested.set(ladder, ing);
          seconds.ingest += ing.compaction.seconds;
        }
        const summary = conversationSummary(conv, [...ingested.values()]);
        conversations.push(summary);
        recency.push({ conversation: conv.id, turns: ingested.get(ladders[0]!)!.turns, questions: conv.questions.filter((q) => q.evidence.length > 0).map((q) => ({ evidence: q.evidence })) });
        for (const policy of settings.policies) {
          const run = await runPolicy(conv, ingested.get(ladderOf(policy))!, policy, ctx, workDir, reads);
          snapshots.push(...run.snapshots);
          samples.push(...run.samples);
          timeline.push(...run.timeline);
          const a = activity.get(policy.id)!;
          a.moves += run.moves;
          a.shrinks += run.shrinks;
          a.fellBack += run.fellBack;
          a.cannotShrink += run.cannotShrink;
          for (const [key, t] of run.steps) {
            const prev = a.steps.get(key);
            a.steps.set(key, prev ? { ...prev, moves: prev.moves + t.moves, ratioAfterSum: prev.ratioAfterSum + t.ratioAfterSum } : t);
          }
          a.drops += run.drops;
          a.ageingSeconds += run.ageingSeconds;
          a.recalls += run.snapshots.reduce((x, s) => x + s.recalls, 0);
          a.pagesReturned += run.snapshots.reduce((x, s) => x + s.pagesReturned, 0);
          a.strength += run.strengthSum;
          a.recallCount += run.recallCountSum;
          a.held += run.heldAtEnd;
          seconds.ageing += run.ageingSeconds;
          seconds.samples += run.sampleSeconds;
          seconds.questions += run.questionSeconds;
        }
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
  } finally {
    bar?.stop();
    await decoder.close();
  }
  const results: ForgettingResults = {
    settings: { ...settings, fixture: data.fixture, data: data.description },
    conversations,
    snapshots,
    samples,
    timeline,
    activity: settings.policies.map((p) => {
      const a = activity.get(p.id)!;
      return {
        policy: p.id,
        moves: a.moves,
        shrinks: a.shrinks,
        fellBack: a.fellBack,
        cannotShrink: a.cannotShrink,
        steps: [...a.steps.values()],
        drops: a.drops,
        ageingSeconds: a.ageingSeconds,
        recalls: a.recalls,
        pagesReturned: a.pagesReturned,
        meanStrength: a.held ? a.strength / a.held : Number.NaN,
        meanRecallCount: a.held ? a.recallCount / a.held : Number.NaN,
      };
    }),
    recency,
    seconds: { total: (performance.now() - started) / 1000, ...seconds },
  };
  const name = options.name ?? (settings.mode === 'quick' ? 'forgetting-quick' : 'forgetting');
  const report = await writeForgettingReport(results, { outDir: options.outDir, name });
  if (options.print !== false) process.stdout.write(options.json ? JSON.stringify(report.json, null, 2) + '\n' : report.markdown + '\n');
  log(`forgetting experiment done in ${(results.seconds.total / 60).toFixed(1)} min; wrote ${report.files.join(', ')}`);
  return results;
}
