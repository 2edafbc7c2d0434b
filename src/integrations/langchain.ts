/**
 * LangChain.js chat message history backed by an opticmem `Memory`: older turns come back as
 * decoded text or as page images. Import from 'opticmem/langchain'; it needs only
 * `@langchain/core`. The agent middleware for `createAgent` is in 'opticmem/langchain/agent'
 * (it needs `langchain` v1 as well).
 */
import { BaseListChatMessageHistory } from '@langchain/core/chat_history';
import { isBaseMessage, type BaseMessage } from '@langchain/core/messages';
import { z } from 'zod';
import type { Memory } from '../../memory/memory.js';
import { parseScope } from '../../memory/scope.js';
import type { Scope } from '../../memory/store/store.js';
import { InvalidInputError, parseInput } from '../errors.js';
import { reportCompactionFailure } from './add-outcome.js';
import { MemorySchema, toLangChain, toOpticMem } from './langchain-messages.js';

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
  /**
   * Called when messages were stored but compacting older turns into pages failed (they stay
   * as text; the next add retries). Default: a process warning. `addMessages` still resolves.
   */
  readonly onCompactionError?: (error: Error) => void;
}

const HistoryOptionsSchema = z
  .object({
    memory: MemorySchema,
    scope: z.unknown(),
    pages: z.enum(['text', 'image'], { error: "must be 'text' or 'image'" }).optional(),
    consumer: z.string().min(1).optional(),
    budgetTokens: z.number().int('must be a whole number').positive('must be > 0').optional(),
    onCompactionError: z.function().optional(),
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
  readonly #onCompactionError: OpticMemChatMessageHistoryOptions['onCompactionError'];

  constructor(options: OpticMemChatMessageHistoryOptions) {
    super();
    const o = parseInput(HistoryOptionsSchema, options, 'options');
    this.#memory = o.memory;
    this.#scope = parseScope(o.scope, 'options.scope');
    this.#pages = o.pages ?? 'text';
    this.#consumer = o.consumer;
    this.#budgetTokens = o.budgetTokens ?? Number.MAX_SAFE_INTEGER;
    this.#onCompactionError = o.onCompactionError as OpticMemChatMessageHistoryOptions['onCompactionError'];
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
    if (converted.length) reportCompactionFailure(this.#memory, this.#scope, await this.#memory.add(converted, this.#scope), this.#onCompactionError);
  }

  /** Delete every turn and page of the scope. */
  override async clear(): Promise<void> {
    await this.#memory.delete(this.#scope);
  }
}
