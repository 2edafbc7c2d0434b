/**
 * An OpenAI Agents JS `Session` backed by an opticmem `Memory`:
 * `run(agent, input, { session: new OpticMemSession({ memory, scope }) })`.
 *
 * `getItems` returns the scope's compacted pages first, as one user message holding the pages
 * as `input_image` items (data URLs) or as their decoded text, then the recent (hot) items.
 *
 * How items are kept while hot:
 * - A plain text message (user, assistant or system, with text content only) is stored as its
 *   text and comes back in the SDK's canonical shape. Provider ids and `providerData` on such a
 *   message are not kept (an id that refers to an unstored response would be refused on replay).
 * - Every other item (function calls, tool outputs, reasoning, messages with images or files) is
 *   stored as its JSON, named by its type, and comes back exactly as it was added.
 * - Once compacted into a page, an item lives on as that page's image or text.
 * - A tool output whose call has already moved into a page comes back as a text message, because
 *   providers refuse an output without its call.
 *
 * Only types come from '@openai/agents': importing this module loads no part of the SDK.
 */
import type { AgentInputItem, Session } from '@openai/agents';
import { z } from 'zod';
import type { BuiltContext, ContextMessage } from '../../memory/context-builder.js';
import type { Memory } from '../../memory/memory.js';
import { MAX_MESSAGE_CHARS, type ChatMessage } from '../../memory/messages.js';
import { parseScope, scopeKey } from '../../memory/scope.js';
import type { Scope, TurnRow } from '../../memory/store/store.js';
import { InvalidInputError, parseInput, UnknownProfileError } from '../errors.js';
import { getProfile, listProfiles } from '../tokens/profiles/index.js';
import type { VisionTokenProfile } from '../tokens/vision-token-profile.js';
import { reportCompactionFailure } from './add-outcome.js';

export interface OpticMemSessionOptions {
  readonly memory: Memory;
  /** Whose conversation this is, e.g. `{ userId: 'maya', sessionId: 'trip' }`. */
  readonly scope: Scope;
  /** Pages as `input_image` items (true) or as decoded text (false). Default true. */
  readonly asImages?: boolean;
  /** The vision-token profile of the agent's model, to count what a page image costs. Default 'gpt-4o'. */
  readonly consumer?: string | VisionTokenProfile;
  /** Most tokens the history returned by `getItems` may take. Default 8000. */
  readonly budgetTokens?: number;
  /** `detail` of the `input_image` items. Unset: the provider's default. */
  readonly imageDetail?: 'low' | 'high' | 'auto';
  /** Called on every `getItems` with what the history cost and saved. */
  readonly onContext?: (report: OpticMemSessionReport) => void;
  /**
   * Called when items were stored but compacting older turns into pages failed (they stay as
   * text; the next add retries). Default: a process warning. `addItems` still resolves.
   */
  readonly onCompactionError?: (error: Error) => void;
}

/** What one `getItems` cost: tokens as the consumer counts them, and what text would have cost more. */
export type OpticMemSessionReport = Omit<BuiltContext, 'messages'> & { readonly scope: Scope };

const DEFAULT_BUDGET_TOKENS = 8000;
const DEFAULT_CONSUMER = 'gpt-4o';

const OptionsSchema = z
  .object({
    memory: z.custom<Memory>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Memory).buildContext === 'function' && typeof (v as Memory).add === 'function',
      "'memory' must be an opticmem Memory; open one with `await Memory.open({ path })`",
    ),
    scope: z.unknown(),
    asImages: z.boolean().optional(),
    consumer: z.union([z.string().min(1), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)]).optional(),
    budgetTokens: z.number().int('budgetTokens must be a whole number').positive('budgetTokens must be > 0').optional(),
    imageDetail: z.enum(['low', 'high', 'auto']).optional(),
    onContext: z.function().optional(),
    onCompactionError: z.function().optional(),
  })
  .strict();

const ItemsSchema = z.array(
  z
    .object({}, { error: 'each item must be an object, e.g. { role: "user", content: "..." } or { type: "function_call", ... }' })
    .passthrough()
    .refine((i) => typeof i['type'] === 'string' || typeof i['role'] === 'string', { message: "each item needs a string 'type' or 'role'" }),
  { error: 'items must be an array of AgentInputItem' },
);
const LimitSchema = z.number().int('limit must be a whole number').min(0, 'limit must be >= 0').optional();

const PLAIN_ROLES = new Set(['user', 'assistant', 'system']);
// Byte arrays (image or file data in tool outputs) survive the JSON round trip under this key.
const BYTES_KEY = '__opticmem_bytes__';

/** A `Session` for OpenAI Agents JS whose older history lives in opticmem pages. */
export class OpticMemSession implements Session {
  readonly memory: Memory;
  readonly scope: Scope;
  readonly asImages: boolean;
  readonly budgetTokens: number;
  readonly #consumer: VisionTokenProfile;
  readonly #imageDetail: 'low' | 'high' | 'auto' | undefined;
  readonly #onContext: OpticMemSessionOptions['onContext'];
  readonly #onCompactionError: OpticMemSessionOptions['onCompactionError'];

  constructor(options: OpticMemSessionOptions) {
    const o = parseInput(OptionsSchema, options, 'options');
    this.memory = o.memory;
    this.scope = parseScope(o.scope, 'scope');
    this.asImages = o.asImages ?? true;
    this.budgetTokens = o.budgetTokens ?? DEFAULT_BUDGET_TOKENS;
    this.#consumer = resolveConsumer(o.consumer ?? DEFAULT_CONSUMER);
    this.#imageDetail = o.imageDetail;
    this.#onContext = o.onContext as OpticMemSessionOptions['onContext'];
    this.#onCompactionError = o.onCompactionError as OpticMemSessionOptions['onCompactionError'];
  }

  /** The scope's sessionId, or a stable id made from the scope when it has none. */
  async getSessionId(): Promise<string> {
    return this.scope.sessionId ?? `opticmem:${scopeKey(this.scope)}`;
  }

  /** Pages (one message) then hot items, oldest first, within `budgetTokens`; the last `limit` when given. */
  async getItems(limit?: number): Promise<AgentInputItem[]> {
    const n = parseInput(LimitSchema, limit, 'limit');
    if (n === 0) return [];
    const ctx = await this.memory.buildContext({ scope: this.scope, budgetTokens: this.budgetTokens, consumer: this.asImages ? this.#consumer : 'text' });
    const { messages, ...report } = ctx;
    this.#onContext?.({ ...report, scope: this.scope });
    const { turns } = await this.memory.list(this.scope);
    const hot = ctx.turns > 0 ? turns.slice(-ctx.turns).map(turnToItem) : [];
    const pages = ctx.pages.length > 0 && messages[0] ? [this.#pagesItem(messages[0])] : [];
    const items = [...pages, ...hot];
    return withoutOrphanOutputs(n === undefined ? items : items.slice(-n));
  }

  /** Store items at the end of the history; older turns are compacted into pages as the hot tier fills. */
  async addItems(items: AgentInputItem[]): Promise<void> {
    parseInput(ItemsSchema, items, 'items');
    if (items.length === 0) return;
    const messages = items.map(itemToMessage); // the caller's objects, not zod's copies: byte arrays stay byte arrays
    messages.forEach((m, i) => {
      if (m.content.length > MAX_MESSAGE_CHARS) {
        throw new InvalidInputError(
          `items.${i}`,
          `'items.${i}' is ${m.content.length} characters as stored; opticmem stores at most ${MAX_MESSAGE_CHARS} per item. Split it into several messages, or pass large images and files by URL or file id instead of inline data.`,
        );
      }
    });
    reportCompactionFailure(this.memory, this.scope, await this.memory.add(messages, this.scope), this.#onCompactionError);
  }

  /** Remove and return the newest hot item; undefined when every item has moved into pages. */
  async popItem(): Promise<AgentInputItem | undefined> {
    const { turns } = await this.memory.list(this.scope);
    const last = turns.at(-1);
    if (!last) return undefined;
    await this.memory.store.deleteTurns(this.scope, [last.id]);
    return turnToItem(last);
  }

  /** Delete every turn and page of the scope. */
  async clearSession(): Promise<void> {
    await this.memory.delete(this.scope);
  }

  #pagesItem(m: ContextMessage): AgentInputItem {
    if (typeof m.content === 'string') return { type: 'message', role: 'user', content: m.content };
    const detail = this.#imageDetail;
    return {
      type: 'message',
      role: 'user',
      content: m.content.map((p) =>
        p.type === 'text' ? { type: 'input_text' as const, text: p.text } : { type: 'input_image' as const, image: p.image_url.url, ...(detail ? { detail } : {}) },
      ),
    };
  }
}

function resolveConsumer(consumer: string | VisionTokenProfile): VisionTokenProfile {
  if (typeof consumer !== 'string') return consumer;
  try {
    return getProfile(consumer);
  } catch (cause) {
    if (!UnknownProfileError.isInstance(cause)) throw cause;
    throw new InvalidInputError('consumer', `Unknown vision-token profile '${consumer}' in 'consumer'. Use one of: ${listProfiles().join(', ')}; for decoded text pass asImages: false.`, { cause });
  }
}

type Loose = Record<string, unknown>;

/** The text of a message whose content is text only; undefined when it holds anything else. */
function plainText(item: Loose): string | undefined {
  if ((item['type'] !== undefined && item['type'] !== 'message') || typeof item['role'] !== 'string' || !PLAIN_ROLES.has(item['role'])) return undefined;
  const content = item['content'];
  if (typeof content === 'string') return content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  const texts: string[] = [];
  for (const part of content as Loose[]) {
    if ((part['type'] !== 'input_text' && part['type'] !== 'output_text') || typeof part['text'] !== 'string') return undefined;
    texts.push(part['text']);
  }
  return texts.join('\n');
}

function isOutput(type: unknown): boolean {
  return typeof type === 'string' && /_(result|output)$/.test(type);
}

function itemToMessage(item: AgentInputItem): ChatMessage & { content: string } {
  const loose = item as unknown as Loose;
  const text = plainText(loose);
  if (text !== undefined) return { role: loose['role'] as 'user' | 'assistant' | 'system', content: text };
  const type = typeof loose['type'] === 'string' ? loose['type'] : 'message';
  const role = type === 'message' && typeof loose['role'] === 'string' && PLAIN_ROLES.has(loose['role']) ? (loose['role'] as 'user' | 'assistant' | 'system') : isOutput(type) ? 'tool' : 'assistant';
  const json = JSON.stringify(item, (_key, value: unknown) => (value instanceof Uint8Array ? { [BYTES_KEY]: Buffer.from(value).toString('base64') } : value));
  return { role, name: type, content: json };
}

function turnToItem(turn: TurnRow): AgentInputItem {
  if (turn.name && turn.content.startsWith('{')) {
    try {
      const item = JSON.parse(turn.content, (_key, value: unknown) =>
        typeof value === 'object' && value !== null && typeof (value as Loose)[BYTES_KEY] === 'string' && Object.keys(value).length === 1
          ? new Uint8Array(Buffer.from((value as Loose)[BYTES_KEY] as string, 'base64'))
          : value,
      ) as Loose;
      if (typeof item === 'object' && item !== null && (item['type'] ?? 'message') === turn.name) return item as unknown as AgentInputItem;
    } catch {
      // Not one of ours: a text turn another writer named; it is read as text below.
    }
  }
  switch (turn.role) {
    case 'user':
      return { type: 'message', role: 'user', content: turn.content };
    case 'system':
    case 'developer':
      return { type: 'message', role: 'system', content: turn.content };
    default:
      return { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: turn.content }] };
  }
}

/** Tool outputs whose call is not among the items become text messages. */
function withoutOrphanOutputs(items: AgentInputItem[]): AgentInputItem[] {
  const calls = new Set<string>();
  return items.map((item) => {
    const loose = item as unknown as Loose;
    const callId = loose['callId'];
    if (typeof callId !== 'string') return item;
    if (!isOutput(loose['type'])) {
      calls.add(callId);
      return item;
    }
    if (calls.has(callId)) return item;
    const name = typeof loose['name'] === 'string' ? ` ${loose['name']}` : '';
    return { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `[tool output${name}] ${outputText(loose['output'])}` }] };
  });
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return output.map(outputText).join('\n');
  if (typeof output === 'object' && output !== null && typeof (output as Loose)['text'] === 'string') return (output as Loose)['text'] as string;
  return JSON.stringify(output) ?? '';
}
