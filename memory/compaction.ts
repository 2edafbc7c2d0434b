/**
 * Compaction: the oldest hot turns of a scope become lossless-tier pages.
 *
 * Idempotent by construction, so any number of workers may compact the same scope at once:
 * - automatic compaction cuts the turns into chunks from the oldest hot turn, each closed as soon
 *   as it holds half the hot budget (a chunk's extent depends only on its own turns, never on how
 *   many newer turns a worker happened to see), and takes whole chunks only;
 * - a page's id is derived from what it replaces (scope, tier, source turn ids), and a page
 *   already stored is not written again; two workers committing the same page at the same
 *   instant each keep only the copy with the smallest write id (store/page-dedupe.ts), so the
 *   store ends with one page per set of turns;
 * - the turns are removed only after their pages are committed (two phases), and an interrupted
 *   compaction is finished by removing turns that committed pages already hold.
 * On a local folder a lock file also serialises compaction across processes (an optimisation:
 * it saves the duplicated rendering work, not correctness).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { encode } from '../src/codec/codec.js';
import type { Decoder } from '../src/decoders/decoder.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';
import type { VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { readClock } from './clock.js';
import { recordForgettingPolicy, type ForgettingPolicy } from './forgetting-policy.js';
import { scopeKey } from './scope.js';
import { withFileLock } from './store/file-lock.js';
import type { MemoryStore, PageRow, Scope, TurnRow } from './store/store.js';
import type { Tiers } from './tiers.js';
import type { EncodeThread } from './encode-thread.js';
import { tracePhase } from '../src/internal/phase-trace.js';

export interface CompactResult {
  readonly turnsCompacted: number;
  readonly pagesWritten: number;
  readonly textTokens: number;
  readonly visualTokens: number;
  readonly meanFidelity: number | undefined;
}

export interface CompactProgress {
  readonly phase: 'rendering' | 'pages-committed' | 'turns-removed';
  readonly pages: number;
  readonly turns: number;
}

export interface CompactOptions {
  /** Compact every hot turn, not just what exceeds the budget. */
  readonly all?: boolean;
  /** Text tokens to leave hot. Default the hot budget; automatic compaction leaves half of it. */
  readonly keepTokens?: number;
  readonly onProgress?: (event: CompactProgress) => void;
}

export const CompactSchema = z
  .object({
    all: z.boolean().optional(),
    keepTokens: z.number().int('keepTokens must be a whole number of tokens').min(0, 'keepTokens must be >= 0').optional(),
    onProgress: z.function().optional(),
  })
  .strict();

export const NO_COMPACTION: CompactResult = { turnsCompacted: 0, pagesWritten: 0, textTokens: 0, visualTokens: 0, meanFidelity: undefined };

/**
 * Cut turns (oldest first) into chunks of at least `chunkTokens` text tokens. The last chunk may
 * be short (`complete: false`); every other chunk ends at the first turn that reaches the size.
 */
export function compactionChunks(turns: readonly TurnRow[], chunkTokens: number): { turns: TurnRow[]; complete: boolean }[] {
  const chunks: { turns: TurnRow[]; complete: boolean }[] = [];
  let current: TurnRow[] = [];
  let tokens = 0;
  for (const t of turns) {
    current.push(t);
    tokens += t.textTokens;
    if (tokens >= chunkTokens) {
      chunks.push({ turns: current, complete: true });
      current = [];
      tokens = 0;
    }
  }
  if (current.length) chunks.push({ turns: current, complete: false });
  return chunks;
}

/** A page's id from what it replaces: the same turns compacted into the same tier give the same id. */
export function pageIdFor(scope: Required<Scope>, tier: string, turnIds: readonly string[]): string {
  const h = createHash('sha256').update(JSON.stringify(['opticmem-page/1', scope.userId, scope.agentId, scope.sessionId, tier, turnIds])).digest('hex');
  // UUID-shaped (version nibble 8: a name-based id of our own) so ids look alike in every table.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface CompactorDeps {
  readonly store: MemoryStore;
  readonly tiers: Tiers;
  readonly tokenizer: TextTokenizer;
  readonly profile: VisionTokenProfile;
  readonly minGlyphPx: number;
  readonly tier: string;
  readonly policy: ForgettingPolicy;
  readonly initialStrength: number;
  readonly clock: () => number;
  /** Local store folder whose lock file serialises compaction across processes; undefined for none. */
  readonly lockDir: string | undefined;
  readonly decoder: () => Decoder;
  /** Draw and verify pages on this worker thread instead of the caller's (default reader, built-in profile and tokenizer only). */
  readonly thread?: EncodeThread;
  readonly embed?: (texts: readonly string[]) => Promise<number[][]>;
}

export class Compactor {
  /** Compactions of this memory run one after another (the lock file does the same across processes). */
  #lane: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: CompactorDeps) {}

  /**
   * Run `fn` after every compaction or ageing this memory started before it, under a lock file:
   * the store's, or with `scope` only that scope's, so processes compacting different scopes of
   * one folder work side by side.
   */
  exclusive<T>(fn: () => Promise<T>, scope?: Scope): Promise<T> {
    const name = scope ? (`compaction-${createHash('sha256').update(scopeKey(scope)).digest('hex').slice(0, 16)}` as const) : 'compaction';
    const run = this.#lane.catch(() => undefined).then(() => withFileLock(this.deps.lockDir, name, fn));
    this.#lane = run;
    return run;
  }

  /**
   * Compact `s`'s oldest hot turns. `wholeChunks` (automatic compaction) cuts them into chunks
   * and leaves a last chunk short of the chunk size hot, so workers with different views of the
   * newest turns draw the same pages.
   */
  compact(s: Scope, options: CompactOptions, wholeChunks = false): Promise<CompactResult> {
    return this.exclusive(async () => {
      const { store, tiers } = this.deps;
      await this.recover(s);
      const hot = await store.listTurns(s);
      const keep: TurnRow[] = [];
      if (!options.all) {
        const keepTokens = Math.min(options.keepTokens ?? tiers.hotBudgetTokens, tiers.hotBudgetTokens);
        let tokens = 0;
        for (let i = hot.length - 1; i >= 0; i--) {
          // The newest turn stays hot whenever it fits the whole budget.
          const limit = keep.length === 0 ? tiers.hotBudgetTokens : keepTokens;
          if (tokens + hot[i]!.textTokens > limit) break;
          tokens += hot[i]!.textTokens;
          keep.unshift(hot[i]!);
        }
      }
      const old = hot.slice(0, hot.length - keep.length);
      if (old.length === 0) return NO_COMPACTION;
      // Pages never mix scopes: group by the stored scope of each turn, then cut each into chunks.
      const groups = new Map<string, TurnRow[]>();
      for (const t of old) {
        const key = scopeKey({ userId: t.userId, agentId: t.agentId, sessionId: t.sessionId });
        groups.set(key, [...(groups.get(key) ?? []), t]);
      }
      // Automatic compaction: whole chunks of half the hot budget, so concurrent workers draw the
      // same pages. An explicit compaction draws each scope's turns in one batch, so pages fill up.
      const chunkTokens = Math.max(1, Math.floor(tiers.hotBudgetTokens / 2));
      const batches = wholeChunks
        ? [...groups.values()].flatMap((turns) => compactionChunks(turns, chunkTokens).filter((c) => c.complete).map((c) => c.turns))
        : [...groups.values()];
      if (batches.length === 0) return NO_COMPACTION;
      // Page tiers are the ladder's step names from here on: the store keeps to this policy.
      await recordForgettingPolicy(store, this.deps.policy);
      let result = NO_COMPACTION;
      let fidelitySum = 0;
      let fidelityN = 0;
      for (const turns of batches) {
        const pages = await this.#pagesFor(turns, (done) => options.onProgress?.({ phase: 'rendering', pages: done, turns: turns.length }));
        tracePhase('committing pages');
        await store.addPages(pages); // phase 1: one commit for every page of the chunk, insert-if-absent by id
        options.onProgress?.({ phase: 'pages-committed', pages: pages.length, turns: turns.length });
        tracePhase('removing replaced turns');
        await store.deleteTurns(s, turns.map((t) => t.id)); // phase 2
        options.onProgress?.({ phase: 'turns-removed', pages: pages.length, turns: turns.length });
        for (const p of pages) {
          if (p.fidelity >= 0) {
            fidelitySum += p.fidelity;
            fidelityN++;
          }
        }
        result = {
          turnsCompacted: result.turnsCompacted + turns.length,
          pagesWritten: result.pagesWritten + pages.length,
          textTokens: result.textTokens + pages.reduce((a, p) => a + p.textTokens, 0),
          visualTokens: result.visualTokens + pages.reduce((a, p) => a + p.visualTokens, 0),
          meanFidelity: undefined,
        };
      }
      return { ...result, meanFidelity: fidelityN ? fidelitySum / fidelityN : undefined };
    }, s);
  }

  async #pagesFor(turns: readonly TurnRow[], onPage?: (done: number) => void): Promise<PageRow[]> {
    const d = this.deps;
    const first = turns[0]!;
    const scope = { userId: first.userId, agentId: first.agentId, sessionId: first.sessionId };
    const source = turns.map((t) => ({ role: t.role, content: t.content, ...(t.name ? { label: `${t.name}:` } : {}) }));
    // Lossless pages stay legible to the model they are planned for (minGlyphPx).
    const encoded = d.thread
      ? await d.thread.encode(source, { ratio: d.tiers.lossless.ratio, profile: d.profile.name, minGlyphPx: d.minGlyphPx, minFidelity: d.tiers.lossless.minFidelity }).then((pages) => {
          pages.forEach((_, i) => onPage?.(i + 1));
          return pages;
        })
      : await encode(source, {
          ratio: d.tiers.lossless.ratio,
          profile: d.profile,
          tokenizer: d.tokenizer,
          minGlyphPx: d.minGlyphPx,
          verify: { decoder: d.decoder(), minFidelity: d.tiers.lossless.minFidelity },
          onPage: (_, i) => onPage?.(i + 1),
        });
    const vectors = d.embed ? await d.embed(encoded.map((p) => p.decodedText ?? '')) : undefined;
    const now = readClock(d.clock);
    return encoded.map((p, i) => {
      const covered = [...new Set(p.slices.map((s) => s.turn))].map((ti) => turns[ti]!);
      const turnIds = covered.map((t) => t.id);
      return {
        id: pageIdFor(scope, d.tier, turnIds),
        ...scope,
        turnIds,
        firstSeq: covered[0]!.seq,
        lastSeq: covered[covered.length - 1]!.seq,
        startTime: covered[0]!.createdAt,
        endTime: covered[covered.length - 1]!.createdAt,
        tier: d.tier,
        profile: p.profile,
        png: p.png,
        geometry: JSON.stringify(p.geometry),
        width: p.geometry.width,
        height: p.geometry.height,
        textTokens: p.textTokens,
        visualTokens: p.visualTokens,
        ratio: p.ratio,
        targetRatio: p.targetRatio,
        fidelity: p.fidelity ?? -1,
        decodedText: p.decodedText ?? '',
        vector: vectors?.[i] ?? [],
        strength: d.initialStrength,
        recallCount: 0,
        lastRecalledAt: 0,
        pinned: false,
        importance: 1,
        createdAt: now,
        updatedAt: now,
      };
    });
  }

  /** Finish an interrupted compaction: turns already held by committed pages are removed. */
  async recover(scope?: Scope): Promise<void> {
    const { store } = this.deps;
    const scopes = scope ? [scope] : (await store.scopes()).filter((x) => x.turns > 0 && x.pages > 0).map((x) => x.scope);
    for (const sc of scopes) {
      const filter = { ...(sc.userId ? { userId: sc.userId } : {}), ...(sc.agentId ? { agentId: sc.agentId } : {}), ...(sc.sessionId ? { sessionId: sc.sessionId } : {}) };
      if (!filter.userId && !filter.agentId && !filter.sessionId) continue;
      const turns = await store.listTurns(filter);
      if (turns.length === 0) continue;
      const covering = await store.pagesCoveringTurns(filter, turns.map((t) => t.id));
      if (covering.length === 0) continue;
      const covered = new Set<string>();
      // Only the turn ids: a page whose image is damaged does not stop the others being recovered.
      for (const page of await store.listPages(filter, { ids: covering, withPng: false })) page.turnIds.forEach((t) => covered.add(t));
      const ids = turns.filter((t) => covered.has(t.id)).map((t) => t.id);
      if (ids.length) await store.deleteTurns(filter, ids);
    }
  }
}
