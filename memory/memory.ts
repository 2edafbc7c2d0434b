/**
 * The memory layer agents call: recent turns stay as text, older turns are compacted into
 * optical pages in LanceDB, recalled by search and decoded on demand, and assembled into a
 * context within a token budget.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { decode, resolveProfile } from '../src/codec/codec.js';
import type { Decoder } from '../src/decoders/decoder.js';
import { createLocalDecoder } from '../src/decoders/local-decoder.js';
import type { Embedder } from '../src/embedders/embedder.js';
import { CorruptPageError, InvalidInputError, OpticMemError, parseInput, ReadOnlyError, StoreError } from '../src/errors.js';
import { createO200kTokenizer, type TextTokenizer } from '../src/tokens/text-tokenizer.js';
import type { VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { legibilityOf, parseLegibility, type Legibility } from '../src/tokens/legibility.js';
import { buildContextMessages, type BuildContextOptions, type BuiltContext } from './context-builder.js';
import { parseMessages, type ChatMessage } from './messages.js';
import { ExportSchema, type MemoryExport } from './export-format.js';
import { fullScope, IdSchema, parseScope, scopeKey } from './scope.js';
import { openLanceStore } from './store/index.js';
import { pngDigest } from './store/page-digest.js';
import type { MemoryStore, PageRow, PageUpdate, Scope, TurnRow } from './store/store.js';
import { TiersSchema, type Tiers } from './tiers.js';
import { agePages, DAY_MS, parseAgeOptions, type AgeOptions, type AgeResult } from './ageing.js';
import { readClock } from './clock.js';
import { checkLadderProfile, compactionProfile, recordForgettingPolicy, resolveForgettingPolicy, type ForgettingPolicy } from './forgetting-policy.js';
import { CompactSchema, Compactor, type CompactOptions, type CompactResult } from './compaction.js';
import { EncodeThread } from './encode-thread.js';
import { pageFault } from './page-fault.js';
import { checkStore, type CheckReport } from './check.js';
import { getProfile } from '../src/tokens/profiles/index.js';
import { asCompactionError, CompactionQueue, type CompactionEvent, type FlushResult } from './compaction-queue.js';
import { parseLadder, type Ladder } from './ladder.js';
import type { RetentionCurve } from './retention.js';
import { readOnlyStore } from './store/read-only-store.js';
import { parseStoredGeometry } from './store/stored-geometry.js';
import { ConsumerPages } from './consumer-pages.js';
import { parseRecallTurnsOptions, searchTurns, withNeighbours, type RecallTurnsOptions, type TurnHit } from './turn-recall.js';
import { tracePhase } from '../src/internal/phase-trace.js';
import { ImportanceSchema, ImportOptionsSchema, MAX_QUERY_CHARS, OptionsSchema, PageIdSchema, PinSchema, RecallSchema, type AddResult, type MemoryOptions, type RecallHit, type RecallOptions } from './memory-options.js';

export type { AddResult, MemoryOptions, RecallHit, RecallOptions } from './memory-options.js';
export type { SkippedPage } from './page-fault.js';
export { MAX_QUERY_CHARS } from './memory-options.js';

export class Memory {
  readonly tiers: Tiers;
  readonly profile: VisionTokenProfile;
  readonly tokenizer: TextTokenizer;
  #store: MemoryStore;
  #decoder: Decoder | undefined;
  readonly #ownsDecoder: boolean;
  readonly #embedder: Embedder | undefined;
  readonly #autoCompact: boolean;
  readonly #background: boolean;
  readonly #now: () => number;
  readonly #compactor: Compactor;
  readonly #queue: CompactionQueue;
  readonly #thread: EncodeThread | undefined;
  /** Hot text tokens per scope as this process last counted them (see add). */
  readonly #hotTokens = new Map<string, number>();
  readonly curve: RetentionCurve;
  readonly ladder: Ladder;
  readonly readOnly: boolean;
  readonly #policy: ForgettingPolicy;
  readonly #legibility: ReadonlyMap<string, Legibility>;
  /** Pages drawn again for consumers whose legibility floor the stored ones miss. */
  readonly #consumerPages: ConsumerPages;
  #seq = 0;
  #closed = false;

  private constructor(
    store: MemoryStore,
    o: MemoryOptions,
    tiers: Tiers,
    lockDir: string | undefined,
    policy: ForgettingPolicy,
    profile: VisionTokenProfile,
    legibility: ReadonlyMap<string, Legibility>,
  ) {
    this.#legibility = legibility;
    this.#store = store;
    this.tiers = tiers;
    this.profile = profile;
    this.tokenizer = o.tokenizer ?? createO200kTokenizer();
    this.#consumerPages = new ConsumerPages(this.tokenizer);
    this.#decoder = o.decoder;
    this.#ownsDecoder = o.decoder === undefined;
    this.#embedder = o.embedder;
    this.#autoCompact = o.autoCompact ?? true;
    this.#background = o.compaction !== 'inline';
    this.#now = o.now ?? Date.now;
    this.readOnly = o.readOnly === true;
    this.#policy = policy;
    this.curve = policy.curve;
    this.ladder = policy.ladder;
    // The memory's profile, or on a mode ladder its first mode (see compactionProfile).
    const planned = compactionProfile(policy.ladder, profile);
    this.#thread = o.compactionWorker !== false && o.decoder === undefined && o.tokenizer === undefined && isBuiltIn(planned) ? new EncodeThread() : undefined;
    this.#compactor = new Compactor({
      store,
      tiers,
      tokenizer: this.tokenizer,
      profile: planned,
      minGlyphPx: this.legibilityOf(planned).minGlyphPx,
      tier: policy.ladder.steps[0]!.name,
      policy,
      initialStrength: policy.curve.initialStrength,
      clock: this.#now,
      lockDir: o.compactionLock === false ? undefined : lockDir,
      decoder: () => this.#decoderInstance(),
      ...(this.#thread ? { thread: this.#thread } : {}),
      ...(o.embedder ? { embed: (texts: readonly string[]) => this.#embed(texts) } : {}),
    });
    this.#queue = new CompactionQueue((scope) => this.#compactScope(scope, { keepTokens: Math.floor(this.tiers.hotBudgetTokens / 2) }, true));
    if (o.onCompaction) this.#queue.subscribe(o.onCompaction);
  }

  /** Open (or create) a memory. Finishes any compaction a crash interrupted (unless read-only). */
  static async open(options: MemoryOptions = {}): Promise<Memory> {
    const o = parseInput(OptionsSchema, options, 'options') as MemoryOptions;
    const tiers = parseInput(TiersSchema, o.tiers ?? {}, 'tiers');
    // What can be refused is checked before a folder or table is created.
    const profile = resolveProfile(o.profile);
    const legibility = o.legibility === undefined ? new Map<string, Legibility>() : parseLegibility(o.legibility, 'legibility');
    for (const name of legibility.keys()) resolveProfile(name); // an unknown profile is refused by name
    if (typeof o.forgetting?.ladder === 'object') parseLadder(o.forgetting.ladder);
    const local = !o.uri || !/^[a-z][a-z0-9+.-]*:\/\//i.test(o.uri);
    const location = o.uri ?? o.path ?? '.opticmem';
    const readOnly = o.readOnly === true;
    const opened =
      o.store ??
      (await openLanceStore({
        uri: location,
        ...(o.embedder ? { vectorDimension: o.embedder.dimension } : {}),
        ...(o.storageOptions ? { storageOptions: o.storageOptions } : {}),
        ...(readOnly ? { readOnly } : {}),
      }));
    const store = readOnly && o.store ? readOnlyStore(o.store) : opened;
    try {
      const policy = await resolveForgettingPolicy(store, o.forgetting);
      checkLadderProfile(policy.ladder, profile);
      const memory = new Memory(store, o, tiers, local && !o.store ? location : undefined, policy, profile, legibility);
      if (!readOnly) await memory.#compactor.recover();
      return memory;
    } catch (error) {
      if (!o.store) await store.close();
      throw error;
    }
  }

  /** The legibility floor this memory applies to `profile`'s model: a preset or override given to `open`, else the default. */
  legibilityOf(profile: string | VisionTokenProfile): Legibility {
    return legibilityOf(resolveProfile(profile), this.#legibility);
  }

  get store(): MemoryStore {
    return this.#store;
  }

  /** The embedder's vectors, checked: one per input, each of the embedder's dimension. */
  async #embed(texts: readonly string[]): Promise<number[][]> {
    const embedder = this.#embedder!;
    const vectors: unknown = await embedder.embed(texts);
    if (!Array.isArray(vectors) || vectors.length !== texts.length) {
      throw new InvalidInputError('embedder', `Embedder '${embedder.name}' returned ${Array.isArray(vectors) ? `${vectors.length} vectors` : 'no array'} for ${texts.length} texts. An embedder must return one vector per input, in order.`);
    }
    const bad = vectors.findIndex((v) => !Array.isArray(v) || v.length !== embedder.dimension || !v.every(Number.isFinite));
    if (bad !== -1) {
      throw new InvalidInputError('embedder', `Embedder '${embedder.name}' returned a vector at index ${bad} that is not ${embedder.dimension} finite numbers (its 'dimension'). Fix the embedder or its 'dimension'.`);
    }
    return vectors as number[][];
  }

  #decoderInstance(): Decoder {
    this.#decoder ??= createLocalDecoder();
    return this.#decoder;
  }

  #assertOpen(): void {
    if (this.#closed) throw new OpticMemError('closed', 'This Memory is closed. Open a new one with Memory.open().');
  }

  #assertWritable(action: string): void {
    this.#assertOpen();
    if (this.readOnly) throw new ReadOnlyError(action);
  }

  #nextSeq(at: number): number {
    // Unique and increasing within this process; ties across processes are broken by id.
    this.#seq = Math.max(this.#seq + 1, at * 1000);
    return this.#seq;
  }

  /** Store messages as hot text turns; compacts when the hot tier goes over budget. */
  async add(messages: ChatMessage | readonly ChatMessage[], scope: Scope): Promise<AddResult> {
    this.#assertOpen();
    const s = parseScope(scope, 'scope', { stored: true });
    const parsed = parseMessages(messages);
    const now = readClock(this.#now);
    // Messages with their own ids that the scope already holds are not stored again.
    const held = await this.#heldTurnIds(s, parsed.flatMap((m) => (m.id === undefined ? [] : [m.id])));
    const ids = parsed.map((m) => m.id ?? randomUUID());
    const rows: TurnRow[] = parsed.flatMap((m, i) => {
      if (held.has(ids[i]!)) return [];
      const createdAt = m.createdAt ?? now;
      return {
        id: ids[i]!,
        ...fullScope(s),
        seq: this.#nextSeq(createdAt),
        role: m.role,
        name: m.name,
        content: m.content,
        textTokens: this.tokenizer.count(m.content),
        createdAt,
      };
    });
    tracePhase('adding turns');
    await this.#store.addTurns(rows);
    const result: AddResult = { turnIds: ids, ...(held.size ? { skipped: parsed.length - rows.length } : {}) };
    if (!this.#autoCompact || rows.length === 0) return result;
    try {
      // This process's count of the scope's hot tokens: read from the store after each compaction,
      // added to by each add in between (another process's adds show up at the next read).
      const key = scopeKey(s);
      const known = this.#hotTokens.get(key);
      const hotTokens =
        known !== undefined
          ? known + rows.reduce((a, r) => a + r.textTokens, 0)
          : this.#store.hotTokens
            ? await this.#store.hotTokens(s)
            : (await this.#store.listTurns(s)).reduce((a, t) => a + t.textTokens, 0);
      this.#hotTokens.set(key, hotTokens);
      if (hotTokens <= this.tiers.hotBudgetTokens) return result;
      if (this.#background) {
        this.#queue.enqueue(fullScope(s));
        return { ...result, compactionQueued: true };
      }
      // Compacting down to half the budget makes each automatic batch at least half a budget of
      // text, so pages fill up instead of one small page per turn that overflows.
      return { ...result, compacted: await this.#compactScope(s, { keepTokens: Math.floor(this.tiers.hotBudgetTokens / 2) }, true) };
    } catch (cause) {
      // The turns are committed: report the failure instead of rejecting, so a retry cannot duplicate them.
      return { ...result, compactionError: asCompactionError(cause) };
    }
  }

  /** Which of these turn ids the scope holds, hot or on a page. */
  async #heldTurnIds(s: Scope, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const wanted = new Set(ids);
    const held = new Set((await this.#store.listTurns(s)).filter((t) => wanted.has(t.id)).map((t) => t.id));
    const covering = await this.#store.pagesCoveringTurns(s, ids);
    if (covering.length) for (const p of await this.#store.listPages(s, { ids: covering, withPng: false })) for (const t of p.turnIds) if (wanted.has(t)) held.add(t);
    return held;
  }

  /**
   * Wait for background compaction: every scope queued so far is compacted (or its retries are
   * spent). Resolves with what finished since the last flush, failures included; never rejects
   * for a failed compaction, whose turns stay stored and hot.
   */
  async flush(): Promise<FlushResult> {
    return this.#queue.flush();
  }

  /**
   * Listen to background compaction's outcomes, of every scope or of one stored scope; returns
   * the function that stops listening. A final failure nobody listens to becomes a process warning.
   */
  onCompaction(listener: (event: CompactionEvent) => void, scope?: Scope): () => void {
    const s = scope === undefined ? undefined : parseScope(scope, 'scope', { stored: true });
    return this.#queue.subscribe(listener, s && fullScope(s));
  }

  /**
   * Move the oldest hot turns of `scope` into lossless-tier pages until the hot tier fits its
   * budget. Two-phase: pages are committed before the turns they replace are deleted, so a
   * crash at any moment loses nothing and a rerun duplicates nothing.
   */
  async compact(scope: Scope, options: CompactOptions = {}): Promise<CompactResult> {
    this.#assertWritable('compact()');
    const s = parseScope(scope);
    parseInput(CompactSchema, options, 'options');
    readClock(this.#now);
    return this.#compactScope(s, options);
  }

  /** Compact, then count the scope's hot tokens afresh on the next add. */
  async #compactScope(s: Scope, options: CompactOptions, wholeChunks = false): Promise<CompactResult> {
    try {
      return await this.#compactor.compact(s, options, wholeChunks);
    } finally {
      this.#hotTokens.delete(scopeKey(s));
    }
  }

  /** Search the scope's pages; hits are decoded on demand and count as rehearsal. */
  async recall(query: string, options: RecallOptions): Promise<RecallHit[]> {
    this.#assertOpen();
    if (typeof query !== 'string') throw new InvalidInputError('query', "'query' must be a string.");
    if (query.length > MAX_QUERY_CHARS) throw new InvalidInputError('query', `'query' is ${query.length} characters; the limit is ${MAX_QUERY_CHARS}. Shorten it.`);
    const o = parseInput(RecallSchema, options, 'options');
    const scope = parseScope(o.scope, 'options.scope');
    const k = o.k ?? 5;
    const as = o.as ?? 'text';
    if ((o.mode === 'vector' || o.mode === 'hybrid') && !this.#embedder) {
      throw new InvalidInputError('options.mode', `'options.mode' is '${o.mode}', which needs an embedder. Open the memory with Memory.open({ embedder }), or use mode 'fts'.`);
    }
    if (!query.trim()) return [];
    const vector = this.#embedder && o.mode !== 'fts' ? (await this.#embed([query]))[0] : undefined;
    const search = { text: query, ...(vector ? { vector } : {}), k, ...(o.mode ? { mode: o.mode } : {}) };
    const skip = (pageId: string, error: OpticMemError) => o.onSkippedPage?.({ pageId, error });
    let hits: Awaited<ReturnType<MemoryStore['search']>>;
    try {
      hits = await this.#store.search(scope, { ...search, withPng: as !== 'text', onDamaged: skip });
    } catch (error) {
      if (!CorruptPageError.isInstance(error)) throw error;
      // One damaged image: search again without images and fetch each hit's on its own.
      hits = [];
      for (const hit of await this.#store.search(scope, { ...search, withPng: false, onDamaged: skip })) {
        try {
          const full = await this.#store.getPage(scope, hit.page.id);
          if (full) hits.push({ ...hit, page: full });
        } catch (e) {
          if (!pageFault(e)) throw e;
          skip(hit.page.id, e);
        }
      }
    }
    const out: RecallHit[] = [];
    const rehearsed: PageRow[] = [];
    for (const { page, score } of hits) {
      let text: string | undefined;
      if (as !== 'image') {
        try {
          text = await this.textOf(page, scope);
        } catch (error) {
          if (!pageFault(error)) throw error;
          skip(page.id, error);
          continue;
        }
      }
      rehearsed.push(page);
      out.push({
        pageId: page.id,
        score,
        tier: page.tier,
        turnIds: page.turnIds,
        startTime: page.startTime,
        endTime: page.endTime,
        visualTokens: page.visualTokens,
        textTokens: page.textTokens,
        ...(text !== undefined ? { text } : {}),
        ...(as !== 'text' ? { png: page.png } : {}),
      });
    }
    if (o.rehearse !== false) await this.#rehearse(scope, rehearsed);
    return out;
  }

  /**
   * A recall is a rehearsal: the curve raises each page's strength and restarts its clock. One
   * commit for all pages keeps recall fast and the table from fragmenting.
   */
  async #rehearse(scope: Scope, pages: readonly Pick<PageRow, 'id' | 'lastRecalledAt' | 'endTime' | 'strength' | 'importance' | 'recallCount'>[]): Promise<void> {
    const now = readClock(this.#now);
    const rehearsals = pages.map((page) => {
      const elapsedDays = Math.max(0, now - Math.max(page.lastRecalledAt, page.endTime)) / DAY_MS;
      const update: PageUpdate = {
        strength: this.curve.strengthen(elapsedDays, { strength: page.strength, importance: page.importance }),
        recallCount: page.recallCount + 1,
        lastRecalledAt: now,
        updatedAt: now,
      };
      return { id: page.id, update };
    });
    if (this.#store.updatePages) await this.#store.updatePages(scope, rehearsals);
    else for (const r of rehearsals) await this.#store.updatePage(scope, r.id, r.update);
  }

  /**
   * The turns of the scope's pages that match `query`, best first, each with its page and (with
   * `neighbours`) the turns around it on the page. Searches the turn-level index of the pages'
   * decoded text; hits count as rehearsals of their pages unless `rehearse: false`.
   */
  async recallTurns(query: string, options: RecallTurnsOptions): Promise<TurnHit[]> {
    this.#assertOpen();
    if (typeof query !== 'string') throw new InvalidInputError('query', "'query' must be a string.");
    if (query.length > MAX_QUERY_CHARS) throw new InvalidInputError('query', `'query' is ${query.length} characters; the limit is ${MAX_QUERY_CHARS}. Shorten it.`);
    const o = parseRecallTurnsOptions(options);
    const scope = parseScope(o.scope, 'options.scope');
    if (!query.trim()) return [];
    const hits = await withNeighbours(this.#store, scope, await searchTurns(this.#store, scope, query, o.k ?? 10), o.neighbours ?? 0);
    if (o.rehearse !== false && hits.length > 0) {
      const pages = await this.#store.listPages(scope, { ids: [...new Set(hits.map((h) => h.pageId))], withPng: false });
      await this.#rehearse(scope, pages);
    }
    return hits;
  }

  /** Messages for the next LLM call within `budgetTokens`, with the tokens used and saved. */
  async buildContext(options: BuildContextOptions): Promise<BuiltContext> {
    this.#assertOpen();
    return buildContextMessages(
      {
        tokenizer: this.tokenizer,
        store: this.#store,
        consumerPages: this.#consumerPages,
        textOf: (page, scope) => this.textOf(page, scope),
        legibilityOf: (profile) => this.legibilityOf(profile),
      },
      options,
    );
  }

  /** Every scope the store holds, exactly as stored ('' for absent parts), with its counts. */
  async scopes(): Promise<{ scope: Required<Scope>; turns: number; pages: number }[]> {
    this.#assertOpen();
    return this.#store.scopes();
  }

  /** Hot turns and pages (without image bytes) of a scope; `limit` keeps the most recent of each. */
  async list(scope: Scope, options: { limit?: number } = {}): Promise<{ turns: TurnRow[]; pages: Omit<PageRow, 'png'>[] }> {
    this.#assertOpen();
    const s = parseScope(scope);
    const o = parseInput(ListSchema, options, 'options');
    const limit = o.limit === undefined ? {} : { limit: o.limit };
    const [turns, pages] = await Promise.all([this.#store.listTurns(s, limit), this.#store.listPages(s, { ...limit, withPng: false })]);
    return { turns, pages };
  }

  async get(pageId: string, scope: Scope): Promise<PageRow | undefined> {
    this.#assertOpen();
    const s = parseScope(scope);
    return this.#store.getPage(s, parsePageId(pageId));
  }

  /**
   * Delete every turn and page of a scope, with its tombstones and ladder history: nothing of
   * it is left. The scope is exact unless a part is '*', so one user's delete never reaches
   * another's rows, nor the same user's other sessions unless asked with sessionId: '*'.
   */
  async delete(scope: Scope): Promise<{ turns: number; pages: number }> {
    this.#assertOpen();
    const s = parseScope(scope);
    // After any compaction of this memory already running, so none writes pages for deleted turns.
    return this.#compactor.exclusive(async () => {
      this.#hotTokens.clear();
      const turns = await this.#store.listTurns(s);
      if (turns.length) await this.#store.deleteTurns(s, turns.map((t) => t.id));
      const pages = await this.#store.deletePages(s);
      await this.#store.deleteTombstones?.(s);
      await this.#store.deleteMoves?.(s);
      return { turns: turns.length, pages };
    });
  }

  /** Every row of a scope as JSON-safe records (PNG as base64), for backup or moving stores. */
  async export(scope: Scope): Promise<MemoryExport> {
    this.#assertOpen();
    const s = parseScope(scope);
    const [turns, pages] = await Promise.all([this.#store.listTurns(s), this.#store.listPages(s, { withPng: true })]);
    return {
      format: 'opticmem-export',
      version: 1,
      turns,
      // The images were checked against their stored digest when read; the document carries it.
      pages: pages.map((p) => ({ ...p, png: Buffer.from(p.png).toString('base64'), pngSha256: pngDigest(p.png), vector: [...p.vector] })),
    };
  }

  /**
   * Load an export; rows whose ids already exist in their scope are skipped, so importing twice
   * is harmless. Every row is validated before anything is written; pages go in first (in
   * bulk, then folded into the search index), then turns.
   */
  async import(data: MemoryExport, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<{ turns: number; pages: number }> {
    this.#hotTokens.clear(); // imported turns are counted afresh
    this.#assertOpen();
    const d = parseInput(ExportSchema, data, 'data');
    parseInput(ImportOptionsSchema, options, 'options');
    const onProgress = options.onProgress;
    const byScope = <T extends { userId: string; agentId: string; sessionId: string }>(rows: readonly T[]) => {
      const groups = new Map<string, { scope: Scope; rows: T[] }>();
      for (const r of rows) {
        const key = scopeKey(r);
        const g = groups.get(key) ?? { scope: { userId: r.userId, agentId: r.agentId, sessionId: r.sessionId }, rows: [] };
        g.rows.push(r);
        groups.set(key, g);
      }
      return [...groups.values()];
    };
    const newPages: PageRow[] = [];
    for (const { scope, rows } of byScope(d.pages)) {
      const existing = new Set<string>();
      for (let i = 0; i < rows.length; i += 500) {
        for (const p of await this.#store.listPages(scope, { ids: rows.slice(i, i + 500).map((r) => r.id), withPng: false })) existing.add(p.id);
      }
      // The schema checked each PNG against its pngSha256; the store writes the digest anew.
      for (const { pngSha256: _, ...p } of rows) if (!existing.has(p.id)) newPages.push({ ...p, png: new Uint8Array(Buffer.from(p.png, 'base64')) });
    }
    const newTurns: TurnRow[] = [];
    for (const { scope, rows } of byScope(d.turns)) {
      const existing = new Set((await this.#store.listTurns(scope)).map((t) => t.id));
      newTurns.push(...rows.filter((t) => !existing.has(t.id)));
    }
    const total = newPages.length + newTurns.length;
    for (let i = 0; i < newPages.length; i += IMPORT_BATCH) {
      await this.#store.addPages(newPages.slice(i, i + IMPORT_BATCH));
      onProgress?.(Math.min(newPages.length, i + IMPORT_BATCH), total);
    }
    if (newPages.length) await this.#store.optimize?.();
    for (let i = 0; i < newTurns.length; i += IMPORT_BATCH) {
      tracePhase('import');
      await this.#store.addTurns(newTurns.slice(i, i + IMPORT_BATCH));
      onProgress?.(newPages.length + Math.min(newTurns.length, i + IMPORT_BATCH), total);
    }
    return { turns: newTurns.length, pages: newPages.length };
  }

  /**
   * Move pages down the forgetting ladder as of `now` (idempotent for the same `now`; a page
   * moves up only by being recalled, which restarts its curve, never by ageing).
   */
  async age(options: AgeOptions = {}): Promise<AgeResult> {
    this.#assertWritable('age()');
    const o = parseAgeOptions(options);
    const scope = o.scope === undefined ? undefined : parseScope(o.scope, 'options.scope');
    return this.#compactor.exclusive(async () => {
      await recordForgettingPolicy(this.#store, this.#policy);
      return agePages(
        { store: this.#store, decoder: () => this.#decoderInstance(), curve: this.curve, ladder: this.ladder, clock: this.#now },
        { ...o, ...(scope ? { scope } : {}) },
      );
    });
  }

  async #pageToChange(pageId: string, scope: Scope, action: string): Promise<{ s: Scope; now: number }> {
    this.#assertWritable(action);
    const s = parseScope(scope);
    parseInput(PageIdSchema, { pageId }, '');
    const now = readClock(this.#now);
    if ((await this.#store.listPages(s, { ids: [pageId], withPng: false })).length === 0) throw new InvalidInputError('pageId', `No page '${pageId}' in this scope. List pages with memory.list(scope).`);
    return { s, now };
  }

  /** Pin a page (it never fades) or unpin it. */
  async pin(pageId: string, scope: Scope, pinned = true): Promise<void> {
    parseInput(PinSchema, { pinned }, '');
    const { s, now } = await this.#pageToChange(pageId, scope, 'pin()');
    await this.#store.updatePage(s, pageId, { pinned, updatedAt: now });
  }

  /** Importance multiplies a page's strength: 2 fades half as fast, 0.5 twice as fast. */
  async setImportance(pageId: string, scope: Scope, importance: number): Promise<void> {
    parseInput(ImportanceSchema, { importance }, '');
    const { s, now } = await this.#pageToChange(pageId, scope, 'setImportance()');
    await this.#store.updatePage(s, pageId, { importance, updatedAt: now });
  }

  /**
   * A page's text: the cached decode, or a fresh decode that is then cached on the page
   * (not on a read-only memory, nor with `{ cache: false }`, which only look).
   */
  async textOf(page: PageRow, scope: Scope, options: { cache?: boolean } = {}): Promise<string> {
    if (page.decodedText) return page.decodedText;
    const full = page.png.length > 0 ? page : await this.#store.getPage(scope, page.id);
    if (!full) throw new StoreError(`Page '${page.id}' is gone from the store; it was deleted while being read.`);
    // The geometry column copies the PNG's own chunk; without a usable copy the PNG's is read.
    const geometry = parseStoredGeometry(full.geometry);
    const text = (await decode(full.png, { decoder: this.#decoderInstance(), ...(geometry ? { geometry } : {}) })).text;
    if (!this.readOnly && options.cache !== false) await this.#store.updatePage(scope, page.id, { decodedText: text, updatedAt: readClock(this.#now) });
    return text;
  }

  now(): number {
    return readClock(this.#now);
  }

  /**
   * Check the store's integrity (see check.ts): schema, every page's image and geometry, hot
   * turns a page already holds, turns on two pages, duplicate page rows, stray tombstones. With
   * `repair`, finish half-done compactions and remove duplicate page rows (never a readable page
   * or a turn no page holds). Works on a read-only memory without `repair`.
   */
  async check(options: { repair?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<CheckReport> {
    const o = parseInput(CheckSchema, options, 'options');
    if (o.repair) this.#assertWritable('check({ repair: true })');
    else this.#assertOpen();
    const run = () => checkStore({ store: this.#store, recover: (scope) => this.#compactor.recover(scope), ...(options.onProgress ? { onProgress: options.onProgress } : {}) }, { repair: o.repair === true });
    // Repairs wait for compaction like any writer; a look takes no lock (a read-only store gets no lock file).
    return o.repair ? this.#compactor.exclusive(run) : run();
  }

  /** Fold every stored page into the search index now; useful after `import` or a bulk load. */
  async optimize(): Promise<void> {
    this.#assertWritable('optimize()');
    await this.#store.optimize?.();
  }

  /** Drain background compaction, then release the decoder and the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue.close();
    this.#closed = true;
    try {
      await this.#thread?.close();
      if (this.#ownsDecoder) await this.#decoder?.close();
    } finally {
      await this.#store.close();
    }
  }
}

export type { MemoryExport };

/** A profile the worker thread can look up by name: one of the built-in ones, not a user's object. */
function isBuiltIn(profile: VisionTokenProfile): boolean {
  try {
    return getProfile(profile.name) === profile;
  } catch {
    return false;
  }
}
export type { CompactOptions, CompactProgress, CompactResult } from './compaction.js';
export type { CompactionEvent, FlushResult } from './compaction-queue.js';
export type { CheckProblem, CheckProblemKind, CheckReport } from './check.js';

/** Rows per write when importing: large enough to be bulk, small enough to bound memory. */
const IMPORT_BATCH = 500;

const CheckSchema = z.object({ repair: z.boolean({ error: 'repair must be true or false' }).optional(), onProgress: z.function().optional() }).strict();

const ListSchema = z
  .object({ limit: z.number({ error: 'limit must be a number' }).int('limit must be a whole number').min(1, 'limit must be >= 1').optional() })
  .strict();

function parsePageId(pageId: unknown): string {
  return parseInput(IdSchema, pageId, 'pageId');
}
