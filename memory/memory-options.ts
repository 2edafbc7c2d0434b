/**
 * What `Memory` takes and gives at its public boundary: the options of `Memory.open`, `add`'s
 * result, recall's options and hits, and the zod schemas that check them (errors name the field
 * and the fix).
 */
import { z } from 'zod';
import type { Decoder } from '../src/decoders/decoder.js';
import type { Embedder } from '../src/embedders/embedder.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';
import type { VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import type { LegibilityInput } from '../src/tokens/legibility.js';
import type { OpticMemError } from '../src/errors.js';
import type { CompactResult } from './compaction.js';
import type { CompactionEvent } from './compaction-queue.js';
import type { Ladder } from './ladder.js';
import type { SkippedPage } from './page-fault.js';
import type { RetentionCurve } from './retention.js';
import type { MemoryStore, Scope } from './store/store.js';
import type { TiersInput } from './tiers.js';
export interface MemoryOptions {
  /** Local folder for the LanceDB store. Default './.opticmem'. */
  readonly path?: string;
  /** Any LanceDB URI (s3://bucket/prefix, gs://, az://, db://) instead of a folder. */
  readonly uri?: string;
  readonly storageOptions?: Record<string, string>;
  /** Vision-token profile pages are planned for. Default 'deepseek-ocr:base'. */
  readonly profile?: string | VisionTokenProfile;
  readonly tiers?: TiersInput;
  readonly tokenizer?: TextTokenizer;
  /** Decoder for recall and verification. Default: the local ONNX OCR model (closed with the memory). */
  readonly decoder?: Decoder;
  readonly embedder?: Embedder;
  /**
   * Compact automatically after `add` when the hot tier is over budget. Default true, for local
   * folders and object storage alike: automatic compaction is idempotent (a page's id comes from
   * the turns it replaces and pages are written insert-if-absent), so workers compacting the same
   * scope at once leave one page per set of turns. On object storage that needs a store whose
   * commits are conditional writes (AWS S3, MinIO, Cloudflare R2, GCS, Azure): see the README.
   */
  readonly autoCompact?: boolean;
  /**
   * Where automatic compaction runs. 'background' (default): `add` resolves once its turns are
   * stored and the scope is compacted by this memory's queue (`flush()` waits for it, `close()`
   * drains it, failures are retried and reported through `onCompaction`). 'inline': `add` waits
   * for compaction and reports it in its result.
   */
  readonly compaction?: 'background' | 'inline';
  /** Every background compaction's outcome, including failures and their retries. */
  readonly onCompaction?: (event: CompactionEvent) => void;
  /**
   * Serialise compaction across processes with a lock file in a local store folder. Default true;
   * correctness does not depend on it (compaction is idempotent), it saves duplicated drawing.
   * Turn it off on file systems where exclusive file creation is unreliable.
   */
  readonly compactionLock?: boolean;
  /**
   * Draw and verify pages on a worker thread, so compaction never stalls the thread serving
   * `add`, recall and the integrations. Default true; applies with the default reader, tokenizer
   * and a built-in profile (with a custom one of those, pages are drawn on the calling thread).
   */
  readonly compactionWorker?: boolean;
  /** Clock in ms since epoch; inject one to simulate time. */
  readonly now?: () => number;
  /** A store to use instead of opening LanceDB (another MemoryStore implementation). */
  readonly store?: MemoryStore;
  /**
   * How pages fade: the retention curve and the resolution ladder. Unset, each is what the store
   * recorded when it was first compacted or aged, else FSRS and the ratio ladder. The ratio
   * ladder is the default for DeepSeek-OCR profiles too: 'deepseek-modes' compacts every page at
   * Gundam (at least 456 tokens, more than a 256-token Base page) and re-encodes it to Large,
   * Base, Small and Tiny as it fades, so it is chosen explicitly. A store keeps one policy:
   * opening it with another curve or ladder than it recorded is refused.
   */
  readonly forgetting?: {
    readonly curve?: 'ebbinghaus' | 'fsrs' | RetentionCurve;
    readonly ladder?: 'ratio' | 'deepseek-modes' | Ladder;
  };
  /**
   * Open for reading only: no tables are created (a missing store is an error), no schema is
   * migrated, no interrupted compaction is finished and decoded text is not cached; every
   * write throws a ReadOnlyError. Default false.
   */
  readonly readOnly?: boolean;
  /**
   * Legibility floors that replace the built-in ones: presets written by `opticmem calibrate`
   * (JSON files, parsed) or `{ profile, minGlyphPx }` entries. Compaction plans pages no smaller
   * than the floor of the profile they are planned for, and `buildContext` draws a page again
   * for a consumer whose floor its glyphs fall below.
   */
  readonly legibility?: LegibilityInput;
}

export const OptionsSchema = z
  .object({
    path: z.string().min(1).optional(),
    uri: z.string().min(1).optional(),
    storageOptions: z.record(z.string(), z.string()).optional(),
    profile: z.union([z.string().min(1), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)]).optional(),
    tiers: z.unknown().optional(),
    tokenizer: z.custom<TextTokenizer>((v) => typeof v === 'object' && v !== null && 'count' in v).optional(),
    decoder: z.custom<Decoder>((v) => typeof v === 'object' && v !== null && 'decode' in v, 'decoder must implement Decoder').optional(),
    embedder: z.custom<Embedder>((v) => typeof v === 'object' && v !== null && 'embed' in v, 'embedder must implement Embedder').optional(),
    autoCompact: z.boolean().optional(),
    compaction: z.enum(['background', 'inline'], { error: "compaction must be 'background' or 'inline'" }).optional(),
    onCompaction: z.custom<(e: CompactionEvent) => void>((v) => typeof v === 'function', 'onCompaction must be a function').optional(),
    compactionLock: z.boolean().optional(),
    compactionWorker: z.boolean().optional(),
    now: z.function().optional(),
    store: z.custom<MemoryStore>((v) => typeof v === 'object' && v !== null && 'addPages' in v).optional(),
    forgetting: z
      .object({
        curve: z.union([z.enum(['ebbinghaus', 'fsrs']), z.custom<RetentionCurve>((v) => typeof v === 'object' && v !== null && 'retention' in v)]).optional(),
        ladder: z.union([z.enum(['ratio', 'deepseek-modes']), z.object({ steps: z.array(z.unknown()) })]).optional(),
      })
      .strict()
      .optional(),
    readOnly: z.boolean().optional(),
    legibility: z.unknown().optional(),
  })
  .strict()
  .refine((o) => !(o.path && o.uri), { message: "pass either 'path' or 'uri', not both", path: ['uri'] });

export interface AddResult {
  /** The id of each message, in order (given or generated), stored now or before. */
  readonly turnIds: string[];
  /** Messages skipped because the scope already held their id (set only when some were). */
  readonly skipped?: number;
  /** What inline compaction did (`compaction: 'inline'`). */
  readonly compacted?: CompactResult;
  /** True when the scope went over its hot budget and was queued for background compaction. */
  readonly compactionQueued?: boolean;
  /**
   * Why automatic compaction failed, when it did. The turns were stored before it ran and stay
   * hot; the next `add` or `compact` tries again. `add` never rejects once its turns are
   * stored, so a caller that retries a rejected `add` cannot store a turn twice.
   */
  readonly compactionError?: OpticMemError;
}

export interface RecallOptions {
  readonly scope: Scope;
  readonly k?: number;
  /** 'text' decodes hits; 'image' returns PNGs; 'both' does both. Default 'text'. */
  readonly as?: 'text' | 'image' | 'both';
  readonly mode?: 'fts' | 'vector' | 'hybrid';
  /** Count hits as rehearsals that strengthen their pages. Default true; false only looks (inspection). */
  readonly rehearse?: boolean;
  /**
   * Called for each hit left out because its page cannot be read (a damaged image, a failed
   * checksum): the other hits are still returned. Unset, such pages are left out silently.
   */
  readonly onSkippedPage?: (skipped: SkippedPage) => void;
}

/** A page recall left out, and why. */

export interface RecallHit {
  readonly pageId: string;
  readonly score: number;
  readonly tier: string;
  readonly turnIds: readonly string[];
  readonly startTime: number;
  readonly endTime: number;
  readonly text?: string;
  readonly png?: Uint8Array;
  readonly visualTokens: number;
  readonly textTokens: number;
}

export const RecallSchema = z
  .object({
    scope: z.unknown(),
    k: z.number().int().min(1, 'k must be >= 1').max(1000, 'k must be <= 1000').optional(),
    as: z.enum(['text', 'image', 'both']).optional(),
    mode: z.enum(['fts', 'vector', 'hybrid']).optional(),
    rehearse: z.boolean().optional(),
    onSkippedPage: z.custom<(s: SkippedPage) => void>((v) => typeof v === 'function', 'onSkippedPage must be a function').optional(),
  })
  .strict();


export const PageIdSchema = z.object({ pageId: z.string({ error: 'must be a page id string; list pages with memory.list(scope)' }).min(1, 'must not be empty') }).strict();
export const PinSchema = z.object({ pinned: z.boolean({ error: 'must be true or false' }) }).strict();
export const ImportanceSchema = z
  .object({ importance: z.number({ error: 'must be a number > 0 (1 is ordinary)' }).gt(0, 'must be > 0 (1 is ordinary; 2 fades half as fast)') })
  .strict();

export const ImportOptionsSchema = z.object({ onProgress: z.function().optional() }).strict();

export const MAX_QUERY_CHARS = 4096;
