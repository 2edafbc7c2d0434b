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
import { OpticMemError, parseInput, UnknownProfileError } from '../src/errors.js';
import type { VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';
import { contentKey, storedGlyphPx, type ConsumerImage } from './consumer-pages.js';
import type { BuildContextOptions, BuiltContext, ContextMessage, ContextPart, ContextSource } from './context-types.js';
import { pickTurns, type PickedTurn } from './recalled-turns.js';
import { pageFault, type SkippedPage } from './page-fault.js';
import { imagesOf, pngGlyphPx } from './page-images.js';
import { parseScope } from './scope.js';
import type { PageRow, TurnRow } from './store/store.js';
import { HOT_PAGE, smoothTurnScores, type RankedTurn } from './turn-ranking.js';
import { hotRow, recentFrom, searchHotTurns } from './hot-turn-search.js';
import { searchTurns, turnsOfPages } from './turn-recall.js';

export type { BuildContextOptions, BuiltContext, ContextMessage, ContextPage, ContextPart, ContextSource, ContextTurn } from './context-types.js';

const OptionsSchema = z
  .object({
    scope: z.unknown(),
    budgetTokens: z.number({ error: 'budgetTokens must be a number' }).int('budgetTokens must be a whole number').positive('budgetTokens must be > 0'),
    consumer: z.union([z.string().min(1, "consumer must be 'text' or a vision-token profile name"), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)]).optional(),
    query: z.string().max(4096).optional(),
    k: z.number().int().min(1).max(100).optional(),
    neighbours: z.number().int('neighbours must be a whole number').min(0, 'neighbours must be >= 0').max(5, 'neighbours must be <= 5').optional(),
    onSkippedPage: z.custom<(s: SkippedPage) => void>((v) => typeof v === 'function', 'onSkippedPage must be a function').optional(),
  })
  .strict();

/** Share of the budget that what is recalled for the query may claim before recent turns (which keep the rest). */
const RECALL_SHARE = 0.7;
/** Turns asked of the turn index for a query; the budget decides how many are kept. */
const TURN_CANDIDATES = 200;
/**
 * A recalled page goes in whole only when the consumer reads it at half the lossless tier's
 * ratio or better (DeepSeek-OCR at 10x): a page holds dozens of turns of which few match, so
 * anything costlier buys more evidence as matching turns.
 */
const WHOLE_PAGE_MIN_RATIO = 5;
/** Most text tokens per visual token tried when drawing recalled turns for a vision consumer. */
const DRAWN_TURNS_MAX_RATIO = 6;
/** Ratio recalled turns are planned at when drawn: the lossless tier's, which the floor then caps. */
const DRAWN_TURNS_RATIO = 10;
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
/** A page that cannot be read: it never fits. */
const UNREADABLE: PageForm = { as: 'text', tokens: Infinity, stored: false };

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
  const vision: VisionTokenProfile | undefined = o.consumer === undefined || o.consumer === 'text' ? undefined : consumerProfile(o.consumer);
  const legibility = vision ? source.legibilityOf(vision) : undefined;
  const { tokenizer, store } = source;
  const limit = o.budgetTokens;
  const query = o.query?.trim() ? o.query : undefined;

  // A page that cannot be read is left out, named in `skippedPages`, and the rest is served.
  const skippedPages: SkippedPage[] = [];
  const skip = (pageId: string, error: OpticMemError) => {
    if (skippedPages.some((s) => s.pageId === pageId)) return;
    skippedPages.push({ pageId, error });
    o.onSkippedPage?.({ pageId, error });
  };
  const pageHits = query ? (await store.search(scope, { text: query, k: o.k ?? 5, onDamaged: skip })).map((h) => h.page.id) : [];
  const turnHits: RankedTurn[] = query ? await searchTurns(store, scope, query, TURN_CANDIDATES) : [];
  // A page is recalled when the page search finds it or it holds a recalled turn.
  const recalledIds = [...new Set([...pageHits, ...turnHits.map((h) => h.turn.pageId)])];
  // Pages are chosen from their metadata; image bytes are read for the chosen ones only.
  const pages: Listed[] = await store.listPages(scope, { withPng: false, onDamaged: skip });
  const byId = new Map(pages.map((p) => [p.id, p]));
  const hot = await store.listTurns(scope);
  const turnEstimate = (t: TurnRow) => t.textTokens + MESSAGE_OVERHEAD_TOKENS + (t.name ? tokenizer.count(t.name) : 0);
  // Hot turns older than the recent turns this budget surely keeps are searched as well, and
  // ranked with the turns of pages (hot-turn-search.ts).
  const surelyRecent = recentFrom(hot, limit - Math.floor(limit * RECALL_SHARE), turnEstimate);
  const hotRows = hot.slice(0, surelyRecent).map(hotRow);
  const hotHits = query ? searchHotTurns(hotRows.map((r) => r.text), query) : [];
  // Turns of pages left out (deleted meanwhile, or damaged and skipped) are left out too.
  const rankedTurns = [...turnHits.filter((h) => byId.has(h.turn.pageId)), ...smoothTurnScores(hotHits.map((h) => ({ turn: hotRows[h.index]!, score: h.score })), hotRows)].sort((a, b) => b.score - a.score || a.turn.seq - b.turn.seq);

  const texts = new Map<string, string | undefined>();
  const textOf = async (p: Listed): Promise<string | undefined> => {
    if (!texts.has(p.id)) {
      try {
        texts.set(p.id, await source.textOf({ ...p, png: new Uint8Array(0) }, scope));
      } catch (error) {
        if (!pageFault(error)) throw error;
        skip(p.id, error);
        texts.set(p.id, undefined);
      }
    }
    return texts.get(p.id);
  };
  const forms = new Map<string, PageForm>();
  const formOf = async (p: Listed): Promise<PageForm> => {
    const known = forms.get(p.id);
    if (known) return known;
    let form: PageForm;
    const textForm = async (): Promise<PageForm> => {
      const text = await textOf(p);
      return text === undefined ? UNREADABLE : { as: 'text', tokens: tokenizer.count(text) + 1, stored: false };
    };
    if (!vision || !legibility) form = await textForm();
    else {
      const seen = storedGlyphPx(p.geometry, vision) ?? (await pngGlyphPx(store, scope, p.id, vision));
      if (seen !== undefined && seen >= legibility.minGlyphPx - 1e-9) {
        form = { as: 'image', tokens: vision.tokensFor(p.width, p.height), stored: true, glyphPx: seen };
      } else {
        // Drawn again from the page's text, one piece per turn so turns keep their own lines.
        const text = await textOf(p);
        if (text === undefined) {
          forms.set(p.id, UNREADABLE);
          return UNREADABLE;
        }
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

  // 1. What the query recalls, on at most RECALL_SHARE of the budget: whole pages the page
  // search found where the consumer reads the stored page (cheap: DeepSeek-OCR at 10x), then
  // matching turns. (Also taking whole the pages of the best-ranked turns was measured worse:
  // DeepSeek-OCR consumers at 15% of LoCoMo 98.2% -> 96.0% on Base pages, 98.5% -> 94.9% on
  // Small: the room went to pages the turns would have used better.)
  let recallRoom = Math.floor(limit * RECALL_SHARE);
  for (const id of vision ? pageHits : []) {
    const page = byId.get(id);
    const form = page ? await formOf(page) : undefined;
    if (page && form?.stored && page.textTokens / form.tokens >= WHOLE_PAGE_MIN_RATIO) recallRoom -= await take(page, recallRoom);
  }
  const picked = await pickTurns(source, scope, rankedTurns, chosen, o.neighbours ?? 0, hotRows);
  const keptHits: PickedTurn[] = [];
  let turnImages: readonly ConsumerImage[] | undefined;
  /** Turns given as text beside the drawn ones, in the room the drawing leaves. */
  const extraText: PickedTurn[] = [];
  const turnBlock = () => [...keptHits].sort((a, b) => a.seq - b.seq);
  // Turns selected in rank order at `ratio` text tokens per token of room (1: their text cost).
  const selectTurns = (ratio: number, room: number) => {
    keptHits.length = 0;
    for (const t of picked) {
      const cost = t.tokens / ratio;
      if (cost > room) continue;
      room -= cost;
      keptHits.push(t);
    }
  };
  const drawTurns = async () => {
    turnImages = undefined;
    if (!vision || !legibility || keptHits.length === 0) return;
    const block = turnBlock();
    const key = `turns:${block.map((t) => `${t.pageId}:${t.turn}`).join(',')}`;
    const drawn = await source.consumerPages.draw(key, block.map((t) => t.text), vision, legibility, DRAWN_TURNS_RATIO);
    if (drawn.tokens > 0 && drawn.tokens < sumTokens(block)) turnImages = drawn.images;
  };
  // What a drawing of the kept turns would cost, from its plan (nothing rendered); undefined when not cheaper than their text.
  const plannedCost = (): number | undefined => {
    if (!vision || !legibility || keptHits.length === 0) return undefined;
    const block = turnBlock();
    const tokens = source.consumerPages.planTokens(block.map((t) => t.text), vision, legibility, DRAWN_TURNS_RATIO);
    return tokens > 0 && tokens < sumTokens(block) ? tokens : undefined;
  };
  /**
   * The recalled turns that fit `room`: as text, or drawn for a vision consumer when that
   * costs less. A drawing's ratio is known only once drawn, so the most turns whose drawing
   * fits are found by bisecting the ratio they are selected at, from 1 up to a generous
   * DRAWN_TURNS_MAX_RATIO; the room a drawing leaves (it fills whole canvases) takes more
   * turns as text.
   */
  const chooseTurns = async (room: number) => {
    extraText.length = 0;
    turnImages = undefined;
    selectTurns(1, room);
    if (plannedCost() === undefined) return;
    let best = [...keptHits];
    // Bisect from the ratio drawings for this consumer lately achieved (else a generous guess):
    // the first try usually fits, and a plan costs far less than a drawing.
    const hint = vision && legibility ? source.consumerPages.ratioHint(vision, legibility) : undefined;
    let lo = 1;
    let hi = hint ? Math.min(DRAWN_TURNS_MAX_RATIO, hint * 1.02) : DRAWN_TURNS_MAX_RATIO;
    for (let attempt = 0; attempt < 4 && hi - lo > 0.05; attempt++) {
      const ratio = attempt === 0 ? hi : (lo + hi) / 2;
      selectTurns(ratio, room);
      const cost = plannedCost();
      if (cost !== undefined && cost <= room) {
        if (keptHits.length > best.length) best = [...keptHits];
        lo = ratio;
        if (attempt === 0) break;
      } else hi = ratio;
    }
    keptHits.splice(0, keptHits.length, ...best);
    await drawTurns();
    if (!turnImages) return;
    if (vision && legibility) source.consumerPages.noteRatio(vision, legibility, sumTokens(keptHits) / sumTokens(turnImages));
    let left = room - sumTokens(turnImages);
    const drawnSet = new Set(keptHits);
    for (const t of picked) {
      if (drawnSet.has(t) || t.tokens > left) continue;
      left -= t.tokens;
      extraText.push(t);
    }
  };
  const turnsCostNow = () => (keptHits.length === 0 ? 0 : turnsWrapperCost + (turnImages ? sumTokens(turnImages) + sumTokens(extraText) : sumTokens(keptHits)));
  await chooseTurns(Math.min(recallRoom, budget) - turnsWrapperCost);
  budget -= turnsCostNow();
  // 2. Recent turns, newest first.
  // The recent turns stop at a hot turn already given among the recalled ones (no turn twice).
  const recalledHot = new Set([...keptHits, ...extraText].filter((t) => t.pageId === HOT_PAGE).map((t) => t.turnId));
  const keptTurns = hot.slice(recentFrom(hot, budget, turnEstimate, (t) => recalledHot.has(t.id)));
  for (const t of keptTurns) budget -= turnEstimate(t);
  // 3. Older pages, newest first, in what is left.
  for (const page of [...pages].sort((a, b) => b.lastSeq - a.lastSeq)) {
    if (budget < MESSAGE_OVERHEAD_TOKENS + 1) break;
    // A page that cannot fit at its lowest possible cost is not drawn or decoded to find out.
    if (!forms.has(page.id) && (vision ? page.visualTokens : page.textTokens) > budget) continue;
    await take(page, budget);
  }

  // Turns of pages that made it in whole are there already.
  if ([...keptHits, ...extraText].some((t) => chosen.has(t.pageId))) {
    const room = turnsCostNow() - turnsWrapperCost;
    picked.splice(0, picked.length, ...picked.filter((t) => !chosen.has(t.pageId)));
    await chooseTurns(room);
  }
  const urlTokens = new Map<string, number>();
  const storedUrls = new Map<string, string>();
  const render = async (): Promise<ContextMessage[]> => {
    const inOrder = [...chosen.values()].sort((a, b) => a.firstSeq - b.firstSeq);
    const messages: ContextMessage[] = [];
    const missing = inOrder.filter((p) => forms.get(p.id)?.stored && !storedUrls.has(p.id)).map((p) => p.id);
    for (const p of missing.length ? await imagesOf(store, scope, missing, skip) : []) {
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
      if (form.as === 'text') textParts.push((await textOf(p))!);
      else if (form.stored) parts.push({ type: 'image_url', image_url: { url: storedUrls.get(p.id)! } });
      else for (const img of form.images ?? []) parts.push({ type: 'image_url', image_url: { url: imageUrl(img, urlTokens) } });
    }
    // One message holds everything earlier: page images, pages as text, then recalled turns.
    const turnTexts = turnImages ? [...extraText].sort((a, b) => a.seq - b.seq).map((t) => t.text) : turnBlock().map((t) => t.text);
    const texts = [...(textParts.length ? [TEXT_PREAMBLE, ...textParts] : []), ...(keptHits.length && !turnImages ? [TURNS_PREAMBLE] : []), ...(keptHits.length ? turnTexts : [])];
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
      // The turns chosen again for a room smaller by the overflow (at least one turn's worth less).
      const room = turnsCostNow() - turnsWrapperCost - Math.max(usedTokens - limit, Math.min(...[...keptHits, ...extraText].map((t) => t.tokens)));
      if (room <= 0) {
        keptHits.length = 0;
        extraText.length = 0;
        turnImages = undefined;
      } else await chooseTurns(room);
    } else {
      const recalled = [...chosen.values()].sort((a, b) => a.lastSeq - b.lastSeq)[0];
      if (recalled) chosen.delete(recalled.id);
      else keptTurns.shift();
    }
    messages = await render();
    usedTokens = count(messages);
  }

  const included = [...chosen.values()].sort((a, b) => a.firstSeq - b.firstSeq);
  const recalledTurnTokens = sumTokens(keptHits) + sumTokens(extraText);
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
    recalledTurns: [...keptHits, ...extraText].sort((a, b) => a.seq - b.seq).map((t) => ({ pageId: t.pageId, turnId: t.turnId, score: t.score, neighbour: t.neighbour })),
    recalledTurnsAs: keptHits.length === 0 ? 'none' : turnImages ? 'image' : 'text',
    recalledTurnTokens: turnImages
      ? { text: recalledTurnTokens, used: sumTokens(turnImages) + sumTokens(extraText), drawn: { text: sumTokens(keptHits), tokens: sumTokens(turnImages) } }
      : { text: recalledTurnTokens, used: recalledTurnTokens },
    turns: keptTurns.length,
    omitted: { pages: pages.length - included.length, turns: hot.length - keptTurns.length },
    ...(legibility ? { legibility } : {}),
    skippedPages,
  };
}

const sumTokens = (turns: readonly { tokens: number }[]) => turns.reduce((a, t) => a + t.tokens, 0);

/** The consumer's profile; an unknown name is refused naming 'consumer'. */
function consumerProfile(consumer: string | VisionTokenProfile): VisionTokenProfile {
  try {
    return resolveProfile(consumer);
  } catch (error) {
    if (UnknownProfileError.isInstance(error)) throw new UnknownProfileError(error.profileName, error.known, 'consumer');
    throw error;
  }
}


function imageUrl(img: ConsumerImage, urlTokens: Map<string, number>): string {
  const url = dataUrl(img.png);
  urlTokens.set(url, img.tokens);
  return url;
}
