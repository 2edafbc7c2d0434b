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

const PAGES_PREAMBLE = 'Earlier conversation, kept by opticmem as rendered pages (oldest first):';
const TEXT_PREAMBLE = 'Earlier conversation, decoded from opticmem pages (oldest first):';

export async function buildContextMessages(memory: Memory, options: BuildContextOptions): Promise<BuiltContext> {
  const o = parseInput(OptionsSchema, options, 'options');
  const scope = parseScope(o.scope, 'options.scope');
  const vision: VisionTokenProfile | undefined = o.consumer === undefined || o.consumer === 'text' ? undefined : resolveProfile(o.consumer);
  const tokenizer = memory.tokenizer;
  let budget = o.budgetTokens;

  // Recent turns first: they are what the conversation is about now.
  const hot = await memory.store.listTurns(scope);
  const keptTurns = [];
  for (let i = hot.length - 1; i >= 0; i--) {
    if (hot[i]!.textTokens > budget) break;
    budget -= hot[i]!.textTokens;
    keptTurns.unshift(hot[i]!);
  }

  const recalledIds = new Set<string>();
  if (o.query?.trim()) {
    const hits = await memory.store.search(scope, { text: o.query, k: o.k ?? 5 });
    hits.forEach((h) => recalledIds.add(h.page.id));
  }
  const pages = await memory.store.listPages(scope, { withPng: vision !== undefined });
  const byRecency = [...pages].sort((a, b) => b.lastSeq - a.lastSeq);
  const candidates = [...byRecency.filter((p) => recalledIds.has(p.id)), ...byRecency.filter((p) => !recalledIds.has(p.id))];
  const chosen: { page: PageRow; tokens: number; text?: string }[] = [];
  for (const page of candidates) {
    if (vision) {
      const tokens = vision.tokensFor(page.width, page.height);
      if (tokens > budget) continue;
      budget -= tokens;
      chosen.push({ page, tokens });
    } else {
      const text = await memory.textOf(page, scope);
      const tokens = tokenizer.count(text);
      if (tokens > budget) continue;
      budget -= tokens;
      chosen.push({ page, tokens, text });
    }
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
    pages: chosen.map((c) => ({ id: c.page.id, as: vision ? 'image' : 'text', tokens: c.tokens, textTokens: c.page.textTokens, recalled: recalledIds.has(c.page.id) })),
    turns: keptTurns.length,
    omitted: { pages: pages.length - chosen.length, turns: hot.length - keptTurns.length },
  };
}
