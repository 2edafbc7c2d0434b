/**
 * LangChain.js integration: a chat message history backed by an opticmem `Memory`, and an agent
 * middleware for `createAgent` that puts remembered context in front of every model call and
 * stores each run's turns afterwards. Older turns come back as decoded text or as page images.
 *
 * Import from 'opticmem/langchain'; it needs `@langchain/core` and `langchain` (v1) installed.
 */
import { BaseListChatMessageHistory } from '@langchain/core/chat_history';
import {
  AIMessage,
  ChatMessage,
  HumanMessage,
  isBaseMessage,
  SystemMessage,
  type BaseMessage,
  type ContentBlock,
} from '@langchain/core/messages';
import { createMiddleware } from 'langchain';
import { z } from 'zod';
import type { ContextMessage } from '../../memory/context-builder.js';
import type { Memory } from '../../memory/memory.js';
import type { ChatMessage as OpticMemMessage } from '../../memory/messages.js';
import { parseScope, ScopeSchema } from '../../memory/scope.js';
import type { Scope } from '../../memory/store/store.js';
import { InvalidInputError, parseInput } from '../errors.js';

// Duck-typed so a Memory from a second copy of the package is accepted too.
const MemorySchema = z.custom<Memory>(
  (v) => typeof v === 'object' && v !== null && ['add', 'buildContext', 'delete'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function'),
  "must be an opticmem Memory (from 'await Memory.open({ path })')",
);

type Role = 'user' | 'assistant' | 'system' | 'developer' | 'tool';

const MEDIA = new Set(['image', 'image_url', 'file', 'audio', 'video', 'input_audio']);

/**
 * The text of LangChain content: text blocks kept, media left as a visible placeholder. Other
 * blocks (reasoning, provider tool-use echoes) are dropped: tool calls are recorded from
 * `tool_calls`, and reasoning is not part of the conversation.
 */
function contentText(content: BaseMessage['content']): string {
  if (typeof content === 'string') return content;
  return (content as readonly Record<string, unknown>[])
    .map((block) => {
      if (typeof block.text === 'string' && (block.type === 'text' || block.type === undefined)) return block.text;
      if (MEDIA.has(String(block.type))) return `[${String(block.type)}]`;
      return '';
    })
    .filter((s) => s.length > 0)
    .join('\n');
}

function roleOf(message: BaseMessage, field: string): Role {
  switch (message.type) {
    case 'human':
      return 'user';
    case 'ai':
      return 'assistant';
    case 'system':
      return 'system';
    case 'tool':
    case 'function':
      return 'tool';
    case 'generic': {
      const role = (message as ChatMessage).role;
      if (role === 'human') return 'user';
      if (role === 'ai') return 'assistant';
      if (['user', 'assistant', 'system', 'developer', 'tool'].includes(role)) return role as Role;
      throw new InvalidInputError(`${field}.role`, `ChatMessage role '${role}' is not one opticmem stores. Use 'user', 'assistant', 'system', 'developer' or 'tool'.`);
    }
    default:
      throw new InvalidInputError(field, `Message type '${String(message.type)}' cannot be stored. Pass HumanMessage, AIMessage, SystemMessage, ToolMessage or ChatMessage.`);
  }
}

/** A LangChain message as an opticmem chat message; AI tool calls are kept as a line of text each. */
function toOpticMem(message: BaseMessage, field: string): OpticMemMessage {
  const role = roleOf(message, field);
  let content = contentText(message.content);
  const calls = (message as AIMessage).tool_calls ?? [];
  if (role === 'assistant' && calls.length > 0) {
    const lines = calls.map((c) => `[tool call] ${c.name} ${JSON.stringify(c.args)}`);
    content = [content, ...lines].filter(Boolean).join('\n');
  }
  return { role, content, ...(message.name ? { name: message.name } : {}) };
}

function imageBlock(dataUrl: string): ContentBlock.Multimodal.Image {
  const comma = dataUrl.indexOf(',');
  return { type: 'image', mimeType: 'image/png', data: dataUrl.slice(comma + 1) };
}

/**
 * An opticmem context message as a LangChain message. `providerSafe` turns roles most chat
 * providers reject in the middle of a conversation (system, developer, tool without a call id)
 * into labelled human messages.
 */
function toLangChain(m: ContextMessage, providerSafe: boolean): BaseMessage {
  const name = m.name ? { name: m.name } : {};
  if (typeof m.content !== 'string') {
    const blocks = m.content.map((p) => (p.type === 'text' ? { type: 'text' as const, text: p.text } : imageBlock(p.image_url.url)));
    return new HumanMessage({ contentBlocks: blocks, ...name });
  }
  const content = m.content;
  if (m.role === 'user') return new HumanMessage({ content, ...name });
  if (m.role === 'assistant') return new AIMessage({ content, ...name });
  if (providerSafe) return new HumanMessage({ content: `[${m.role}${m.name ? ` ${m.name}` : ''}] ${content}` });
  if (m.role === 'system') return new SystemMessage({ content, ...name });
  return new ChatMessage({ content, role: m.role, ...name });
}

export interface OpticMemChatMessageHistoryOptions {
  readonly memory: Memory;
  readonly scope: Scope;
  /** How compacted turns come back: one message of decoded text, or of page images. Default 'text'. */
  readonly pages?: 'text' | 'image';
  /**
   * Vision-token profile the images are counted with when `pages: 'image'` (e.g. 'gpt-4o').
   * Default: the memory's own profile.
   */
  readonly consumer?: string;
  /** Most tokens `getMessages` returns (recent turns first, then pages). Default: everything. */
  readonly budgetTokens?: number;
}

const HistoryOptionsSchema = z
  .object({
    memory: MemorySchema,
    scope: z.unknown(),
    pages: z.enum(['text', 'image'], { error: "must be 'text' or 'image'" }).optional(),
    consumer: z.string().min(1).optional(),
    budgetTokens: z.number().int('must be a whole number').positive('must be > 0').optional(),
  })
  .strict();

/**
 * A LangChain chat message history kept in opticmem. Recent turns come back as they were
 * stored; turns compacted into pages come back first as one human message holding their decoded
 * text (`pages: 'text'`) or the page images as standard image content blocks (`pages: 'image'`).
 */
export class OpticMemChatMessageHistory extends BaseListChatMessageHistory {
  lc_namespace = ['opticmem', 'langchain', 'history'];
  readonly #memory: Memory;
  readonly #scope: Scope;
  readonly #pages: 'text' | 'image';
  readonly #consumer: string | undefined;
  readonly #budgetTokens: number;

  constructor(options: OpticMemChatMessageHistoryOptions) {
    super();
    const o = parseInput(HistoryOptionsSchema, options, 'options');
    this.#memory = o.memory;
    this.#scope = parseScope(o.scope, 'options.scope');
    this.#pages = o.pages ?? 'text';
    this.#consumer = o.consumer;
    this.#budgetTokens = o.budgetTokens ?? Number.MAX_SAFE_INTEGER;
  }

  async getMessages(): Promise<BaseMessage[]> {
    const consumer = this.#pages === 'text' ? 'text' : (this.#consumer ?? this.#memory.profile);
    const ctx = await this.#memory.buildContext({ scope: this.#scope, budgetTokens: this.#budgetTokens, consumer });
    return ctx.messages.map((m) => toLangChain(m, false));
  }

  async addMessage(message: BaseMessage): Promise<void> {
    await this.addMessages([message]);
  }

  override async addMessages(messages: BaseMessage[]): Promise<void> {
    if (!Array.isArray(messages)) throw new InvalidInputError('messages', "'messages' must be an array of LangChain messages.");
    const converted = messages.map((m, i) => {
      if (!isBaseMessage(m)) throw new InvalidInputError(`messages.${i}`, `'messages.${i}' is not a LangChain message. Pass HumanMessage, AIMessage, SystemMessage or ToolMessage instances.`);
      return toOpticMem(m, `messages.${i}`);
    });
    if (converted.length) await this.#memory.add(converted, this.#scope);
  }

  /** Delete every turn and page of the scope. */
  override async clear(): Promise<void> {
    await this.#memory.delete(this.#scope);
  }
}

/** What the middleware is told about a run, to pick the scope from. */
export interface OpticMemRunInfo {
  readonly context?: unknown;
  readonly configurable?: { readonly thread_id?: string; readonly [key: string]: unknown };
}

export interface OpticMemMiddlewareOptions {
  readonly memory: Memory;
  /** Whose memory: fixed, or chosen per run (e.g. from `configurable.thread_id`). */
  readonly scope: Scope | ((run: OpticMemRunInfo) => Scope);
  /** Most tokens the remembered context may take in each model call. Default 4000. */
  readonly budgetTokens?: number;
  /**
   * 'text' (default) sends compacted turns as decoded text; a vision-token profile name
   * (e.g. 'gpt-4o', 'claude', 'qwen2.5-vl') sends the page images, counted as that model counts them.
   */
  readonly consumer?: string;
  /** Pages found by searching for the latest human message go first. Default true. */
  readonly recall?: boolean;
  /** Pages to recall per model call. Default 5. */
  readonly k?: number;
  /** Store the run's human and AI messages when the agent finishes. Default true. */
  readonly store?: boolean;
}

const MiddlewareOptionsSchema = z
  .object({
    memory: MemorySchema,
    scope: z.union([z.function(), ScopeSchema], { error: 'must be a scope like { userId: "u1" } or a function (run) => scope' }),
    budgetTokens: z.number().int('must be a whole number').positive('must be > 0').optional(),
    consumer: z.string().min(1).optional(),
    recall: z.boolean().optional(),
    k: z.number().int().min(1, 'must be >= 1').max(100, 'must be <= 100').optional(),
    store: z.boolean().optional(),
  })
  .strict();


/**
 * Agent middleware for `createAgent({ middleware: [opticmemMiddleware({ memory, scope })] })`.
 * Before each model call it puts the scope's remembered context (pages, then recent turns) in
 * front of the run's messages; messages of the thread already stored are taken from memory
 * instead, so a checkpointed thread does not grow without bound. After the run it stores the
 * new human messages and AI replies (tool traffic stays in the run: it cannot be replayed
 * without its call ids, and the AI reply carries its outcome).
 */
export function opticmemMiddleware(options: OpticMemMiddlewareOptions) {
  const o = parseInput(MiddlewareOptionsSchema, options, 'options');
  const memory = o.memory;
  const scopeOption = options.scope;
  const scopeFor = (run: OpticMemRunInfo): Scope =>
    typeof scopeOption === 'function' ? parseScope(scopeOption(run), 'options.scope()') : parseScope(scopeOption, 'options.scope');
  if (typeof scopeOption !== 'function') parseScope(scopeOption, 'options.scope');
  const budgetTokens = o.budgetTokens ?? 4000;
  const consumer = o.consumer ?? 'text';

  return createMiddleware({
    name: 'OpticMemMiddleware',
    // Counts the thread's messages already stored, so a checkpointed thread is stored once.
    stateSchema: z.object({ opticmemStoredMessages: z.number().int().nonnegative().default(0) }),
    wrapModelCall: async (request, handler) => {
      const stored = new Set(request.state.messages.slice(0, storedCount(request.state)));
      const storedIds = new Set([...stored].map((m) => m.id).filter(Boolean));
      const fresh = request.messages.filter((m) => !stored.has(m) && !(m.id && storedIds.has(m.id)));
      const lastHuman = [...fresh].reverse().find((m) => m.type === 'human');
      const query = o.recall === false || !lastHuman ? undefined : contentText(lastHuman.content).slice(0, 4096);
      const ctx = await memory.buildContext({
        scope: scopeFor(request.runtime),
        budgetTokens,
        consumer,
        ...(query?.trim() ? { query } : {}),
        ...(o.k ? { k: o.k } : {}),
      });
      return handler({ ...request, messages: [...ctx.messages.map((m) => toLangChain(m, true)), ...fresh] });
    },
    afterAgent: async (state, runtime) => {
      const messages = state.messages;
      if (o.store === false) return { opticmemStoredMessages: messages.length };
      const turns = messages
        .slice(storedCount(state))
        .filter((m) => m.type === 'human' || m.type === 'ai')
        .map((m) => ({ role: m.type === 'human' ? ('user' as const) : ('assistant' as const), content: contentText(m.content), ...(m.name ? { name: m.name } : {}) }))
        .filter((t) => t.content.trim().length > 0);
      if (turns.length) await memory.add(turns, scopeFor(runtime));
      return { opticmemStoredMessages: messages.length };
    },
  });
}

function storedCount(state: { opticmemStoredMessages?: unknown }): number {
  const n = state.opticmemStoredMessages;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}
