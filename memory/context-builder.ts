/**
 * Assembles the context for the next LLM call: recent turns as text, then older pages as
 * image parts (for a vision consumer, charged with that consumer's vision-token profile) or
 * as decoded text (for a text-only consumer), with pages recalled for a query first.
 */
import { z } from 'zod';
import { resolveProfile } from '../src/codec/codec.js';
import { parseInput } from '../src/errors.js';
import type { VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import type { Memory } from './memory.js';
import { parseScope } from './scope.js';
import type { PageRow, Scope, TurnRow } from './store/store.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';

export interface BuildContextOptions {
  readonly scope: Scope;
  /** Most tokens the context may take, counted as the consumer counts them. */
  readonly budgetTokens: number;
  /** 'text' for a text-only model, or the vision-token profile of a vision model. Default 'text'. */
  readonly consumer?: string | VisionTokenProfile;
  /** Pages matching this query are included before older pages. */
  readonly query?: string;
  readonly k?: number;
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
  readonly recalled: boolean;
}

export interface BuiltContext {
  readonly messages: ContextMessage[];
  readonly usedTokens: number;
  /** Text tokens of everything included (hot turns plus the source of included pages). */
  readonly representedTokens: number;
  /** representedTokens - usedTokens: what sending the same history as text would have cost more. */
  readonly savedTokens: number;
  readonly pages: readonly ContextPage[];
  readonly turns: number;
  readonly omitted: { readonly pages: number; readonly turns: number };
}

const OptionsSchema = z
  .object({
    scope: z.unknown(),
    budgetTokens: z.number({ error: 'budgetTokens must be a number' }).int('budgetTokens must be a whole number').positive('budgetTokens must be > 0'),
    consumer: z.union([z.string().min(1), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)]).optional(),
    query: z.string().max(4096).optional(),
    k: z.number().int().min(1).max(100).optional(),
  })
  .strict();

/** Share of the budget that pages recalled for the query may claim before recent turns. */
const RECALL_SHARE = 0.5;
const PAGES_PREAMBLE = 'Earlier conversation, kept by opticmem as rendered pages (oldest first):';
const TEXT_PREAMBLE = 'Earlier conversation, decoded from opticmem pages (oldest first):';
const PAGE_SEPARATOR = '\n\n';

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

export async function buildContextMessages(memory: Memory, options: BuildContextOptions): Promise<BuiltContext> {
  const o = parseInput(OptionsSchema, options, 'options');
  const scope = parseScope(o.scope, 'options.scope');
  const vision: VisionTokenProfile | undefined = o.consumer === undefined || o.consumer === 'text' ? undefined : resolveProfile(o.consumer);
  const tokenizer = memory.tokenizer;
  const store = memory.store;
  const limit = o.budgetTokens;

  const recalledIds: string[] = [];
  if (o.query?.trim()) {
    const hits = await store.search(scope, { text: o.query, k: o.k ?? 5 });
    hits.forEach((h) => recalledIds.push(h.page.id));
  }
  // Pages are chosen from their metadata; image bytes are read for the chosen ones only.
  const pages: Listed[] = await store.listPages(scope, { withPng: false });
  const byId = new Map(pages.map((p) => [p.id, p]));
  const recalled = recalledIds.map((id) => byId.get(id)).filter((p): p is Listed => p !== undefined);
  const hot = await store.listTurns(scope);

  // Estimates from stored counts pick what to include; the messages are then counted exactly
  // and trimmed, so only chosen pages are decoded and tokenised.
  const wrapperCost = MESSAGE_OVERHEAD_TOKENS + tokenizer.count(vision ? PAGES_PREAMBLE : TEXT_PREAMBLE);
  // Text pages are estimated by the stored token count of their source turns (plus the separator).
  const pageEstimate = (p: Listed) => (vision ? vision.tokensFor(p.width, p.height) : p.textTokens + 1);
  const turnEstimate = (t: TurnRow) => t.textTokens + MESSAGE_OVERHEAD_TOKENS + (t.name ? tokenizer.count(t.name) : 0);
  const chosen = new Map<string, Listed>();
  let budget = limit;
  // The wrapper (preamble message) is paid once, with the first page, from the whole budget.
  const take = (page: Listed, room: number): number => {
    if (chosen.has(page.id)) return 0;
    const cost = pageEstimate(page);
    const wrapper = chosen.size === 0 ? wrapperCost : 0;
    if (cost > room || cost + wrapper > budget) return 0;
    budget -= cost + wrapper;
    chosen.set(page.id, page);
    return cost;
  };

  // Pages recalled for the query have the first claim, on at most half the budget: they are
  // why the query was given. Recent turns come next, then older pages fill what is left.
  let recallRoom = Math.floor(limit * RECALL_SHARE);
  for (const page of recalled) recallRoom -= take(page, recallRoom);
  let keptFrom = hot.length;
  for (let i = hot.length - 1; i >= 0; i--) {
    const cost = turnEstimate(hot[i]!);
    if (cost > budget) break;
    budget -= cost;
    keptFrom = i;
  }
  const keptTurns = hot.slice(keptFrom);
  const byRecency = [...pages].sort((a, b) => b.lastSeq - a.lastSeq);
  const smallest = pages.reduce((m, p) => Math.min(m, pageEstimate(p)), Number.POSITIVE_INFINITY);
  for (const page of [...recalled, ...byRecency]) {
    if (budget < smallest) break; // nothing else can fit
    take(page, budget);
  }

  // Exact count of the messages as sent; over budget (estimates can be low), the oldest pages
  // that were not recalled go first, then recalled ones, then the oldest turns.
  const texts = new Map<string, string>();
  const urls = new Map<string, string>();
  const urlTokens = new Map<string, number>();
  const render = async (): Promise<ContextMessage[]> => {
    const inOrder = [...chosen.values()].sort((a, b) => a.firstSeq - b.firstSeq);
    const messages: ContextMessage[] = [];
    if (inOrder.length > 0) {
      if (vision) {
        const missing = inOrder.filter((p) => !urls.has(p.id)).map((p) => p.id);
        for (const p of missing.length ? await store.listPages(scope, { ids: missing, withPng: true }) : []) {
          const url = `data:image/png;base64,${Buffer.from(p.png).toString('base64')}`;
          urls.set(p.id, url);
          urlTokens.set(url, vision.tokensFor(p.width, p.height));
        }
        // A page deleted since it was listed has no image and is left out.
        for (const p of inOrder) if (!urls.has(p.id)) chosen.delete(p.id);
        messages.push({
          role: 'user',
          content: [{ type: 'text', text: PAGES_PREAMBLE }, ...inOrder.filter((p) => urls.has(p.id)).map((p) => ({ type: 'image_url' as const, image_url: { url: urls.get(p.id)! } }))],
        });
      } else {
        for (const p of inOrder) if (!texts.has(p.id)) texts.set(p.id, await memory.textOf({ ...p, png: new Uint8Array(0) }, scope));
        messages.push({ role: 'user', content: [TEXT_PREAMBLE, ...inOrder.map((p) => texts.get(p.id)!)].join(PAGE_SEPARATOR) });
      }
    }
    for (const t of keptTurns) messages.push({ role: t.role as ContextMessage['role'], content: t.content, ...(t.name ? { name: t.name } : {}) });
    return messages;
  };
  const count = (messages: ContextMessage[]) => contextTokens(messages, tokenizer, (url) => urlTokens.get(url) ?? 0);
  let messages = await render();
  let usedTokens = count(messages);
  while (usedTokens > limit) {
    const drop =
      [...chosen.values()].filter((p) => !recalledIds.includes(p.id)).sort((a, b) => a.lastSeq - b.lastSeq)[0] ??
      [...chosen.values()].sort((a, b) => a.lastSeq - b.lastSeq)[0];
    if (drop) chosen.delete(drop.id);
    else keptTurns.shift();
    messages = await render();
    usedTokens = count(messages);
  }
  const included = [...chosen.values()].sort((a, b) => a.firstSeq - b.firstSeq);
  const representedTokens = keptTurns.reduce((a, t) => a + t.textTokens, 0) + included.reduce((a, p) => a + p.textTokens, 0);
  return {
    messages,
    usedTokens,
    representedTokens,
    savedTokens: representedTokens - usedTokens,
    pages: included.map((p) => ({
      id: p.id,
      as: vision ? 'image' : 'text',
      tokens: vision ? vision.tokensFor(p.width, p.height) : tokenizer.count(texts.get(p.id) ?? ''),
      textTokens: p.textTokens,
      recalled: recalledIds.includes(p.id),
    })),
    turns: keptTurns.length,
    omitted: { pages: pages.length - included.length, turns: hot.length - keptTurns.length },
  };
}
