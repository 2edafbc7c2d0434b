/**
 * Assembles the context for the next LLM call within a token budget counted as the consumer
 * counts it: turns recalled for a query first, then the recent turns, then older pages.
 *
 * What a consumer is handed it can read: a vision consumer gets a stored page only when its
 * glyphs, after the consumer's own resize, are at or above the consumer's legibility floor;
 * otherwise the page's decoded text is drawn again on the consumer's canvases at the highest
 * ratio the floor allows, or given as text when that costs less. Recalled turns come from the
 * turn-level index, so a text consumer gets the matching turns of a page, not the whole page.
 */
import { z } from 'zod';
import { resolveProfile } from '../src/codec/codec.js';
import { OpticMemError, parseInput } from '../src/errors.js';
import { readGeometry } from '../renderers/png.js';
import type { Legibility, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';
import { ConsumerPages, contentKey, storedGlyphPx, type ConsumerImage } from './consumer-pages.js';
import { parseScope } from './scope.js';
import type { MemoryStore, PageRow, Scope, TurnRow, TurnSearchHit } from './store/store.js';
import { searchTurns, turnsOfPages } from './turn-recall.js';

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
  /** Text tokens of the recalled turns, and the tokens they cost here (their images' when drawn). */
  readonly recalledTurnTokens: { readonly text: number; readonly used: number };
  readonly turns: number;
  readonly omitted: { readonly pages: number; readonly turns: number };
  /** The consumer's legibility floor (vision consumers). */
  readonly legibility?: Legibility;
}

/** What the builder reads: the memory's store, tokenizer and decoder, and its floors. */
export interface ContextSource {
  readonly tokenizer: TextTokenizer;
  readonly store: MemoryStore;
  readonly consumerPages: ConsumerPages;
  textOf(page: PageRow, scope: Scope): Promise<string>;
  legibilityOf(profile: VisionTokenProfile): Legibility;
}

const OptionsSchema = z
  .object({
    scope: z.unknown(),
    budgetTokens: z.number({ error: 'budgetTokens must be a number' }).int('budgetTokens must be a whole number').positive('budgetTokens must be > 0'),
    consumer: z.union([z.string().min(1, "consumer must be 'text' or a vision-token profile name"), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)]).optional(),
    query: z.string().max(4096).optional(),
    k: z.number().int().min(1).max(100).optional(),
    neighbours: z.number().int('neighbours must be a whole number').min(0, 'neighbours must be >= 0').max(5, 'neighbours must be <= 5').optional(),
  })
  .strict();

/** Share of the budget that what is recalled for the query may claim before recent turns. */
const RECALL_SHARE = 0.5;
/** Turns asked of the turn index for a query; the budget decides how many are kept. */
const TURN_CANDIDATES = 200;
/** Most text tokens per visual token tried when drawing recalled turns for a vision consumer. */
const DRAWN_TURNS_MAX_RATIO = 6;
const PAGES_PREAMBLE = 'Earlier conversation, kept by opticmem as rendered pages (oldest first):';
const TEXT_PREAMBLE = 'Earlier conversation, decoded from opticmem pages (oldest first):';
const TURNS_PREAMBLE = 'Earlier turns recalled for the current query (oldest first):';
const SEPARATOR = '\n\n';

/**
 * Tokens a chat format adds to each message besides its content: role, optional name and
 * delimiters. OpenAI's counting guide charges 3 per message plus 1 for a name; 4 covers both,
 * so a context within budget by this count is within budget for formats that add as much.
 */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/**
 * Tokens `messages` cost as a consumer counts them: text and names with `tokenizer`, images
 * with `imageTokens` (the consumer's profile at the image's size), plus MESSAGE_OVERHEAD_TOKENS
 * per message.
 */
export function contextTokens(messages: readonly ContextMessage[], tokenizer: TextTokenizer, imageTokens: (url: string) => number): number {
  let total = 0;
  for (const m of messages) {
    total += MESSAGE_OVERHEAD_TOKENS + (m.name ? tokenizer.count(m.name) : 0);
    if (typeof m.content === 'string') total += tokenizer.count(m.content);
    else for (const part of m.content) total += part.type === 'text' ? tokenizer.count(part.text) : imageTokens(part.image_url.url);
  }
  return total;
}

type Listed = Omit<PageRow, 'png'>;

/** How one page goes into this context. */
interface PageForm {
  readonly as: 'image' | 'text';
  readonly tokens: number;
  /** Images to send: the stored page (loaded when rendered) or a drawing for the consumer. */
  readonly images?: readonly ConsumerImage[];
  readonly stored: boolean;
  readonly glyphPx?: number;
}

const dataUrl = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

export async function buildContextMessages(source: ContextSource, options: BuildContextOptions): Promise<BuiltContext> {
  const o = parseInput(OptionsSchema, options, 'options');
  const scope = parseScope(o.scope, 'options.scope');
  const vision: VisionTokenProfile | undefined = o.consumer === undefined || o.consumer === 'text' ? undefined : resolveProfile(o.consumer);
  const legibility = vision ? source.legibilityOf(vision) : undefined;
  const { tokenizer, store } = source;
  const limit = o.budgetTokens;
  const query = o.query?.trim() ? o.query : undefined;

  const pageHits = query ? (await store.search(scope, { text: query, k: o.k ?? 5 })).map((h) => h.page.id) : [];
  const turnHits: TurnSearchHit[] = query ? await searchTurns(store, scope, query, TURN_CANDIDATES) : [];
  // A page is recalled when the page search finds it or it holds a recalled turn.
  const recalledIds = [...new Set([...pageHits, ...turnHits.map((h) => h.turn.pageId)])];
  // Pages are chosen from their metadata; image bytes are read for the chosen ones only.
  const pages: Listed[] = await store.listPages(scope, { withPng: false });
  const byId = new Map(pages.map((p) => [p.id, p]));
  const hot = await store.listTurns(scope);

  const texts = new Map<string, string>();
  const textOf = async (p: Listed) => {
    if (!texts.has(p.id)) texts.set(p.id, await source.textOf({ ...p, png: new Uint8Array(0) }, scope));
    return texts.get(p.id)!;
  };
  const forms = new Map<string, PageForm>();
  const formOf = async (p: Listed): Promise<PageForm> => {
    const known = forms.get(p.id);
    if (known) return known;
    let form: PageForm;
    const textForm = async (): Promise<PageForm> => ({ as: 'text', tokens: tokenizer.count(await textOf(p)) + 1, stored: false });
    if (!vision || !legibility) form = await textForm();
    else {
      const seen = storedGlyphPx(p.geometry, vision) ?? (await pngGlyphPx(store, scope, p.id, vision));
      if (seen !== undefined && seen >= legibility.minGlyphPx - 1e-9) {
        form = { as: 'image', tokens: vision.tokensFor(p.width, p.height), stored: true, glyphPx: seen };
      } else {
        // Drawn again from the page's text, one piece per turn so turns keep their own lines.
        const text = await textOf(p);
        const turns = (await turnsOfPages(store, scope, [p.id])).map((t) => t.text);
        const drawn = await source.consumerPages.draw(contentKey({ ...p, decodedText: text }), turns.length ? turns : [text], vision, legibility, Math.max(1, p.ratio));
        const asText = await textForm();
        form = drawn.tokens > 0 && drawn.tokens < asText.tokens
          ? { as: 'image', tokens: drawn.tokens, images: drawn.images, stored: false, glyphPx: Math.min(...drawn.images.map((i) => i.glyphPx)) }
          : asText;
      }
    }
    forms.set(p.id, form);
    return form;
  };

  const wrapperCost = MESSAGE_OVERHEAD_TOKENS + tokenizer.count(vision ? PAGES_PREAMBLE : TEXT_PREAMBLE);
  const turnsWrapperCost = MESSAGE_OVERHEAD_TOKENS + tokenizer.count(TURNS_PREAMBLE);
  const turnEstimate = (t: TurnRow) => t.textTokens + MESSAGE_OVERHEAD_TOKENS + (t.name ? tokenizer.count(t.name) : 0);
  const chosen = new Map<string, Listed>();
  let budget = limit;
  const take = async (page: Listed, room: number): Promise<number> => {
    if (chosen.has(page.id)) return 0;
    const cost = (await formOf(page)).tokens;
    const wrapper = chosen.size === 0 ? wrapperCost : 0;
    // The wrapper (preamble message) is paid once, with the first page, from the whole budget.
    if (cost > room || cost + wrapper > budget) return 0;
    budget -= cost + wrapper;
    chosen.set(page.id, page);
    return cost;
  };

  // 1. What the query recalls, on at most RECALL_SHARE of the budget: whole pages where the
  // consumer reads the stored page (cheap: DeepSeek-OCR at 10x), then matching turns.
  let recallRoom = Math.floor(limit * RECALL_SHARE);
  for (const id of vision ? pageHits : []) {
    const page = byId.get(id);
    if (page && (await formOf(page)).stored) recallRoom -= await take(page, recallRoom);
  }
  const picked = await pickTurns(source, scope, turnHits, chosen, o.neighbours ?? 0);
  const keptHits: PickedTurn[] = [];
  // Turns fill the recall room at their text cost, or, drawn for a vision consumer, at the
  // ratio the first drawing achieved (then drawn again with the turns that fit).
  const selectTurns = (ratio: number) => {
    keptHits.length = 0;
    let room = Math.min(recallRoom, budget) - turnsWrapperCost;
    for (const t of picked) {
      const cost = t.tokens / ratio;
      if (cost > room) continue;
      room -= cost;
      keptHits.push(t);
    }
  };
  let turnImages: readonly ConsumerImage[] | undefined;
  const turnBlock = () => [...keptHits].sort((a, b) => a.seq - b.seq);
  const drawTurns = async () => {
    turnImages = undefined;
    if (!vision || !legibility || keptHits.length === 0) return;
    const block = turnBlock();
    const key = `turns:${block.map((t) => `${t.pageId}:${t.turn}`).join(',')}`;
    const drawn = await source.consumerPages.draw(key, block.map((t) => t.text), vision, legibility, 10);
    if (drawn.tokens > 0 && drawn.tokens < block.reduce((a, t) => a + t.tokens, 0)) turnImages = drawn.images;
  };
  // Drawn for a vision consumer, turns cost less than their text by a ratio known only once
  // drawn: the most turns whose drawing fits the room are found by bisecting the ratio they
  // are selected at, from text cost (1) up to a generous DRAWN_TURNS_MAX_RATIO.
  const room = Math.min(recallRoom, budget) - turnsWrapperCost;
  selectTurns(1);
  await drawTurns();
  if (turnImages) {
    const drawnTokens = () => turnImages!.reduce((a, i) => a + i.tokens, 0);
    let best = { hits: [...keptHits], images: turnImages };
    let lo = 1;
    let hi = DRAWN_TURNS_MAX_RATIO;
    for (let attempt = 0; attempt < 5 && hi - lo > 0.05; attempt++) {
      const ratio = attempt === 0 ? hi : (lo + hi) / 2;
      selectTurns(ratio);
      await drawTurns();
      if (turnImages && drawnTokens() <= room) {
        if (keptHits.length > best.hits.length) best = { hits: [...keptHits], images: turnImages };
        lo = ratio;
        if (attempt === 0) break;
      } else hi = ratio;
    }
    keptHits.splice(0, keptHits.length, ...best.hits);
    turnImages = best.images;
  }
  const turnsCost = keptHits.length === 0 ? 0 : turnsWrapperCost + (turnImages ? turnImages.reduce((a, i) => a + i.tokens, 0) : keptHits.reduce((a, t) => a + t.tokens, 0));
  budget -= turnsCost;
  // 2. Recent turns, newest first.
  let keptFrom = hot.length;
  for (let i = hot.length - 1; i >= 0; i--) {
    const cost = turnEstimate(hot[i]!);
    if (cost > budget) break;
    budget -= cost;
    keptFrom = i;
  }
  const keptTurns = hot.slice(keptFrom);
  // 3. Older pages, newest first, in what is left.
  for (const page of [...pages].sort((a, b) => b.lastSeq - a.lastSeq)) {
    if (budget < MESSAGE_OVERHEAD_TOKENS + 1) break;
    // A page that cannot fit at its lowest possible cost is not drawn or decoded to find out.
    if (!forms.has(page.id) && (vision ? page.visualTokens : page.textTokens) > budget) continue;
    await take(page, budget);
  }

  // Turns of pages that made it in whole are there already.
  if (keptHits.some((t) => chosen.has(t.pageId))) {
    keptHits.splice(0, keptHits.length, ...keptHits.filter((t) => !chosen.has(t.pageId)));
    await drawTurns();
  }
  const urlTokens = new Map<string, number>();
  const storedUrls = new Map<string, string>();
  const render = async (): Promise<ContextMessage[]> => {
    const inOrder = [...chosen.values()].sort((a, b) => a.firstSeq - b.firstSeq);
    const messages: ContextMessage[] = [];
    const missing = inOrder.filter((p) => forms.get(p.id)?.stored && !storedUrls.has(p.id)).map((p) => p.id);
    for (const p of missing.length ? await store.listPages(scope, { ids: missing, withPng: true }) : []) {
      const url = dataUrl(p.png);
      storedUrls.set(p.id, url);
      urlTokens.set(url, forms.get(p.id)!.tokens);
    }
    // A page deleted since it was listed has no image and is left out.
    for (const p of inOrder) if (forms.get(p.id)?.stored && !storedUrls.has(p.id)) chosen.delete(p.id);
    const parts: ContextPart[] = [];
    const textParts: string[] = [];
    for (const p of inOrder.filter((x) => chosen.has(x.id))) {
      const form = forms.get(p.id)!;
      if (form.as === 'text') textParts.push(await textOf(p));
      else if (form.stored) parts.push({ type: 'image_url', image_url: { url: storedUrls.get(p.id)! } });
      else for (const img of form.images ?? []) parts.push({ type: 'image_url', image_url: { url: imageUrl(img, urlTokens) } });
    }
    // One message holds everything earlier: page images, pages as text, then recalled turns.
    const texts = [...(textParts.length ? [TEXT_PREAMBLE, ...textParts] : []), ...(keptHits.length && !turnImages ? [TURNS_PREAMBLE, ...turnBlock().map((t) => t.text)] : [])];
    if (vision && (parts.length || turnImages)) {
      const content: ContextPart[] = [];
      if (parts.length) content.push({ type: 'text', text: PAGES_PREAMBLE }, ...parts);
      if (keptHits.length && turnImages) content.push({ type: 'text', text: TURNS_PREAMBLE }, ...turnImages.map((img) => ({ type: 'image_url' as const, image_url: { url: imageUrl(img, urlTokens) } })));
      if (texts.length) content.push({ type: 'text', text: texts.join(SEPARATOR) });
      messages.push({ role: 'user', content });
    } else if (texts.length) messages.push({ role: 'user', content: texts.join(SEPARATOR) });
    for (const t of keptTurns) messages.push({ role: t.role as ContextMessage['role'], content: t.content, ...(t.name ? { name: t.name } : {}) });
    return messages;
  };
  const count = (messages: ContextMessage[]) => contextTokens(messages, tokenizer, (url) => urlTokens.get(url) ?? 0);
  let messages = await render();
  let usedTokens = count(messages);
  // Over budget (estimates can be low): older pages that were not recalled go first, then the
  // lowest-ranked recalled turns, then recalled pages, then the oldest recent turns.
  while (usedTokens > limit) {
    const notRecalled = [...chosen.values()].filter((p) => !recalledIds.includes(p.id)).sort((a, b) => a.lastSeq - b.lastSeq)[0];
    if (notRecalled) chosen.delete(notRecalled.id);
    else if (keptHits.length) {
      keptHits.splice(Math.max(0, keptHits.length - Math.ceil(keptHits.length * Math.min(0.5, (usedTokens - limit) / Math.max(1, turnsCost)))));
      await drawTurns();
    } else {
      const recalled = [...chosen.values()].sort((a, b) => a.lastSeq - b.lastSeq)[0];
      if (recalled) chosen.delete(recalled.id);
      else keptTurns.shift();
    }
    messages = await render();
    usedTokens = count(messages);
  }

  const included = [...chosen.values()].sort((a, b) => a.firstSeq - b.firstSeq);
  const recalledTurnTokens = keptHits.reduce((a, t) => a + t.tokens, 0);
  const representedTokens = keptTurns.reduce((a, t) => a + t.textTokens, 0) + included.reduce((a, p) => a + p.textTokens, 0) + recalledTurnTokens;
  return {
    messages,
    usedTokens,
    representedTokens,
    savedTokens: representedTokens - usedTokens,
    pages: included.map((p) => {
      const form = forms.get(p.id)!;
      return {
        id: p.id,
        as: form.as,
        tokens: form.tokens,
        textTokens: p.textTokens,
        ratio: p.textTokens / Math.max(1, form.tokens),
        recalled: recalledIds.includes(p.id),
        redrawn: form.as === 'image' && !form.stored,
        ...(form.glyphPx !== undefined && form.as === 'image' ? { glyphPx: form.glyphPx } : {}),
      };
    }),
    recalledTurns: turnBlock().map((t) => ({ pageId: t.pageId, turnId: t.turnId, score: t.score, neighbour: t.neighbour })),
    recalledTurnsAs: keptHits.length === 0 ? 'none' : turnImages ? 'image' : 'text',
    recalledTurnTokens: { text: recalledTurnTokens, used: turnImages ? turnImages.reduce((a, i) => a + i.tokens, 0) : recalledTurnTokens },
    turns: keptTurns.length,
    omitted: { pages: pages.length - included.length, turns: hot.length - keptTurns.length },
    ...(legibility ? { legibility } : {}),
  };
}

/**
 * Without a usable geometry column, the glyph size comes from the PNG's own geometry chunk; the
 * image is read (and checked against its digest, so a damaged page is refused by name).
 */
async function pngGlyphPx(store: MemoryStore, scope: Scope, id: string, profile: VisionTokenProfile): Promise<number | undefined> {
  const page = await store.getPage(scope, id);
  if (!page) return undefined;
  let geometry;
  try {
    geometry = readGeometry(page.png, 'png');
  } catch (error) {
    if (OpticMemError.isInstance(error) && error.code === 'invalid_image') return undefined; // drawn again from its text
    throw error;
  }
  return geometry ? storedGlyphPx(JSON.stringify(geometry), profile) : undefined;
}

function imageUrl(img: ConsumerImage, urlTokens: Map<string, number>): string {
  const url = dataUrl(img.png);
  urlTokens.set(url, img.tokens);
  return url;
}

interface PickedTurn {
  readonly pageId: string;
  readonly turnId: string;
  readonly turn: number;
  readonly seq: number;
  readonly text: string;
  readonly tokens: number;
  readonly score: number;
  readonly neighbour: boolean;
}

/**
 * Recalled turns in rank order, each hit followed by its neighbours on the page, without
 * repeats and without turns of pages already included whole.
 */
async function pickTurns(source: ContextSource, scope: Scope, hits: readonly TurnSearchHit[], whole: ReadonlyMap<string, unknown>, neighbours: number): Promise<PickedTurn[]> {
  const seen = new Set<string>();
  const out: PickedTurn[] = [];
  const onPage = new Map<string, { turn: number; turnId: string; text: string; seq: number }[]>();
  if (neighbours > 0) {
    for (const row of await turnsOfPages(source.store, scope, [...new Set(hits.map((h) => h.turn.pageId))])) {
      onPage.set(row.pageId, [...(onPage.get(row.pageId) ?? []), row]);
    }
  }
  const add = (t: { pageId: string; turnId: string; turn: number; seq: number; text: string }, score: number, neighbour: boolean) => {
    const key = `${t.pageId}:${t.turn}`;
    if (seen.has(key) || whole.has(t.pageId)) return;
    seen.add(key);
    out.push({ ...t, tokens: source.tokenizer.count(t.text) + 1, score, neighbour });
  };
  for (const { turn, score } of hits) {
    add(turn, score, false);
    if (neighbours === 0) continue;
    const rows = (onPage.get(turn.pageId) ?? []).sort((a, b) => a.turn - b.turn);
    const at = rows.findIndex((r) => r.turn === turn.turn);
    if (at < 0) continue;
    for (const r of [...rows.slice(Math.max(0, at - neighbours), at), ...rows.slice(at + 1, at + 1 + neighbours)]) add({ ...r, pageId: turn.pageId }, score, true);
  }
  return out;
}
