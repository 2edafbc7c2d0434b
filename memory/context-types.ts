/** The shapes `buildContext` takes and returns, and what it reads from a memory. */
import type { SkippedPage } from './page-fault.js';
import type { ConsumerPages } from './consumer-pages.js';
import type { MemoryStore, PageRow, Scope } from './store/store.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';
import type { Legibility, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';

export interface BuildContextOptions {
  readonly scope: Scope;
  /** Most tokens the context may take, counted as the consumer counts them. */
  readonly budgetTokens: number;
  /** 'text' for a text-only model, or the vision-token profile of a vision model. Default 'text'. */
  readonly consumer?: string | VisionTokenProfile;
  /** Turns and pages matching this query are included before older ones. */
  readonly query?: string;
  /** Whole pages recalled for the query (vision consumers whose floor the stored pages meet). Default 5. */
  readonly k?: number;
  /** Turns either side of each recalled turn to include with it. Default 0. */
  readonly neighbours?: number;
  /** Called for each page left out because it cannot be read (also listed in `skippedPages`). */
  readonly onSkippedPage?: (skipped: SkippedPage) => void;
}

export type ContextPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ContextMessage {
  role: 'user' | 'assistant' | 'system' | 'developer' | 'tool';
  content: string | ContextPart[];
  name?: string;
}

export interface ContextPage {
  readonly id: string;
  readonly as: 'image' | 'text';
  /** Tokens the page costs in this context. */
  readonly tokens: number;
  /** Text tokens of the turns the page stands for. */
  readonly textTokens: number;
  /** textTokens / tokens: the compression this consumer really gets from the page. */
  readonly ratio: number;
  readonly recalled: boolean;
  /** Drawn again for this consumer because the stored page's glyphs are below its floor. */
  readonly redrawn: boolean;
  /** Smallest glyph on the page's images as the consumer sees them, px (images only). */
  readonly glyphPx?: number;
}

/** A turn recalled for the query, from the turn-level index of a page. */
export interface ContextTurn {
  /** The page the turn was read from; '' for a turn still held as text (hot) but older than the recent turns given. */
  readonly pageId: string;
  readonly turnId: string;
  readonly score: number;
  /** The hit itself, or a neighbour included with it. */
  readonly neighbour: boolean;
}

export interface BuiltContext {
  readonly messages: ContextMessage[];
  readonly usedTokens: number;
  /** Text tokens of everything included (hot turns, the source of included pages, recalled turns). */
  readonly representedTokens: number;
  /** representedTokens - usedTokens: what sending the same history as text would have cost more. */
  readonly savedTokens: number;
  readonly pages: readonly ContextPage[];
  /** Recalled turns, in the order they appear. */
  readonly recalledTurns: readonly ContextTurn[];
  /** How the recalled turns were given: as text, or drawn as images for the consumer. */
  readonly recalledTurnsAs: 'text' | 'image' | 'none';
  /**
   * Text tokens of the recalled turns and the tokens they cost here; `drawn`: of those, the
   * turns drawn as images (their text tokens, and their images' tokens).
   */
  readonly recalledTurnTokens: { readonly text: number; readonly used: number; readonly drawn?: { readonly text: number; readonly tokens: number } };
  readonly turns: number;
  readonly omitted: { readonly pages: number; readonly turns: number };
  /** The consumer's legibility floor (vision consumers). */
  readonly legibility?: Legibility;
  /** Pages left out because they cannot be read (a damaged image), each with its error; the rest is served. */
  readonly skippedPages: readonly SkippedPage[];
}

/** What the builder reads: the memory's store, tokenizer and decoder, and its floors. */
export interface ContextSource {
  readonly tokenizer: TextTokenizer;
  readonly store: MemoryStore;
  readonly consumerPages: ConsumerPages;
  textOf(page: PageRow, scope: Scope): Promise<string>;
  legibilityOf(profile: VisionTokenProfile): Legibility;
}
