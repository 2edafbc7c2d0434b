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
import type { PageRow, Scope } from './store/store.js';

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

export async function buildContextMessages(memory: Memory, options: BuildContextOptions): Promise<BuiltContext> {
  const o = parseInput(OptionsSchema, options, 'options');
  const scope = parseScope(o.scope, 'options.scope');
  const vision: VisionTokenProfile | undefined = o.consumer === undefined || o.consumer === 'text' ? undefined : resolveProfile(o.consumer);
  const tokenizer = memory.tokenizer;
  let budget = o.budgetTokens;

  const recalledIds: string[] = [];
  if (o.query?.trim()) {
    const hits = await memory.store.search(scope, { text: o.query, k: o.k ?? 5 });
    hits.forEach((h) => recalledIds.push(h.page.id));
  }
  const pages = await memory.store.listPages(scope, { withPng: vision !== undefined });
  const byId = new Map(pages.map((p) => [p.id, p]));
  const chosen: { page: PageRow; tokens: number; text?: string }[] = [];
  const costOf = async (page: PageRow) => {
    if (vision) return { tokens: vision.tokensFor(page.width, page.height) };
    const text = await memory.textOf(page, scope);
    return { tokens: tokenizer.count(text), text };
  };
  const take = async (page: PageRow, limit: number) => {
    if (chosen.some((c) => c.page.id === page.id)) return;
    const cost = await costOf(page);
    if (cost.tokens > limit) return;
    budget -= cost.tokens;
    chosen.push({ page, ...cost });
  };

  // Pages recalled for the query have the first claim, on at most half the budget: they are
  // why the query was given. Recent turns come next, then older pages fill what is left.
  const recallBudget = Math.floor(budget * RECALL_SHARE);
  for (const id of recalledIds) {
    const page = byId.get(id);
    if (page) await take(page, Math.min(budget, recallBudget - (o.budgetTokens - budget)));
  }

  const hot = await memory.store.listTurns(scope);
  const keptTurns = [];
  for (let i = hot.length - 1; i >= 0; i--) {
    if (hot[i]!.textTokens > budget) break;
    budget -= hot[i]!.textTokens;
    keptTurns.unshift(hot[i]!);
  }

  const byRecency = [...pages].sort((a, b) => b.lastSeq - a.lastSeq);
  for (const page of [...recalledIds.map((id) => byId.get(id)).filter((p): p is PageRow => p !== undefined), ...byRecency]) {
    await take(page, budget);
  }
  chosen.sort((a, b) => a.page.firstSeq - b.page.firstSeq);

  const messages: ContextMessage[] = [];
  if (chosen.length > 0) {
    if (vision) {
      messages.push({
        role: 'user',
        content: [
          { type: 'text', text: PAGES_PREAMBLE },
          ...chosen.map((c) => ({ type: 'image_url' as const, image_url: { url: `data:image/png;base64,${Buffer.from(c.page.png).toString('base64')}` } })),
        ],
      });
    } else {
      messages.push({ role: 'user', content: `${TEXT_PREAMBLE}\n\n${chosen.map((c) => c.text).join('\n\n')}` });
    }
  }
  for (const t of keptTurns) {
    messages.push({ role: t.role as ContextMessage['role'], content: t.content, ...(t.name ? { name: t.name } : {}) });
  }
  const usedTokens = o.budgetTokens - budget;
  const representedTokens = keptTurns.reduce((a, t) => a + t.textTokens, 0) + chosen.reduce((a, c) => a + c.page.textTokens, 0);
  return {
    messages,
    usedTokens,
    representedTokens,
    savedTokens: representedTokens - usedTokens,
    pages: chosen.map((c) => ({ id: c.page.id, as: vision ? 'image' : 'text', tokens: c.tokens, textTokens: c.page.textTokens, recalled: recalledIds.includes(c.page.id) })),
    turns: keptTurns.length,
    omitted: { pages: pages.length - chosen.length, turns: hot.length - keptTurns.length },
  };
}
