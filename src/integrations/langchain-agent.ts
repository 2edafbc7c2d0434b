/**
 * LangChain.js agent middleware for `createAgent`: remembered context goes in front of every
 * model call, and each run's turns are stored afterwards. Import from 'opticmem/langchain/agent';
 * it needs `langchain` (v1) and `@langchain/core`. The chat history needs only the latter and
 * lives in 'opticmem/langchain'.
 *
 * Bad input is refused in `beforeAgent`, before the model is called, with the typed
 * `OpticMemError` itself (LangChain passes errors of that hook through as they are). An error
 * raised during a model call (reading the memory for the context) reaches the caller inside
 * LangChain's `MiddlewareError`, with the `OpticMemError` as its `cause`.
 */
import { createMiddleware } from 'langchain';
import { z } from 'zod';
import type { Memory } from '../../memory/memory.js';
import { MAX_MESSAGE_CHARS } from '../../memory/messages.js';
import { parseScope, ScopeSchema } from '../../memory/scope.js';
import type { Scope } from '../../memory/store/store.js';
import { InvalidInputError, parseInput } from '../errors.js';
import { reportCompactionFailure } from './add-outcome.js';
import { contentText, MemorySchema, toLangChain } from './langchain-messages.js';

/** What the middleware is told about a run, to pick the scope from. */
export interface OpticMemRunInfo {
  /**
   * The agent's context as LangChain hands it to middleware hooks: only the keys a middleware
   * declares, and this one declares none. Choose the scope from `configurable` instead.
   */
  readonly context?: unknown;
  readonly configurable?: { readonly thread_id?: string; readonly [key: string]: unknown };
}

export interface OpticMemMiddlewareOptions {
  readonly memory: Memory;
  /** Whose memory: fixed, or chosen per run (e.g. from `configurable.thread_id`), once, before the run starts. */
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
  /**
   * Called when the run's turns were stored but compacting older turns into pages failed (they
   * stay as text; the next run retries). Default: a process warning. The run still succeeds.
   */
  readonly onCompactionError?: (error: Error) => void;
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
    onCompactionError: z.function().optional(),
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
  const onCompactionError = o.onCompactionError as OpticMemMiddlewareOptions['onCompactionError'];

  return createMiddleware({
    name: 'OpticMemMiddleware',
    stateSchema: z.object({
      // Counts the thread's messages already stored, so a checkpointed thread is stored once.
      opticmemStoredMessages: z.number().int().nonnegative().default(0),
      // The run's scope, chosen once before the run, so every hook reads and writes the same one.
      opticmemScope: ScopeSchema.optional(),
    }),
    beforeAgent: async (state, runtime) => {
      const scope = scopeFor(runtime);
      // Refused here, the run stops before the model answers: no reply is produced only to be lost.
      const from = storedCount(state);
      state.messages.forEach((m, i) => {
        if (i < from || m.type !== 'human') return;
        const length = contentText(m.content).length;
        if (length > MAX_MESSAGE_CHARS) {
          throw new InvalidInputError(
            `messages.${i}.content`,
            `'messages.${i}.content' is ${length} characters; opticmem stores at most ${MAX_MESSAGE_CHARS} per message. Split it into several messages.`,
          );
        }
      });
      return { opticmemScope: scope };
    },
    wrapModelCall: async (request, handler) => {
      const stored = new Set(request.state.messages.slice(0, storedCount(request.state)));
      const storedIds = new Set([...stored].map((m) => m.id).filter(Boolean));
      const fresh = request.messages.filter((m) => !stored.has(m) && !(m.id && storedIds.has(m.id)));
      const lastHuman = [...fresh].reverse().find((m) => m.type === 'human');
      const query = o.recall === false || !lastHuman ? undefined : contentText(lastHuman.content).slice(0, 4096);
      const ctx = await memory.buildContext({
        scope: request.state.opticmemScope ?? scopeFor(request.runtime),
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
        .flatMap((m) => {
          const role = m.type === 'human' ? ('user' as const) : ('assistant' as const);
          // A reply longer than one stored message is kept whole, as consecutive turns.
          return splitText(contentText(m.content), MAX_MESSAGE_CHARS).map((content) => ({ role, content, ...(m.name ? { name: m.name } : {}) }));
        })
        .filter((t) => t.content.trim().length > 0);
      if (turns.length) {
        const scope = state.opticmemScope ?? scopeFor(runtime);
        reportCompactionFailure(memory, scope, await memory.add(turns, scope), onCompactionError);
      }
      return { opticmemStoredMessages: messages.length };
    },
  });
}

function storedCount(state: { opticmemStoredMessages?: unknown }): number {
  const n = state.opticmemStoredMessages;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}

/** `text` in pieces of at most `max` UTF-16 units, never between the halves of a surrogate pair. */
function splitText(text: string, max: number): string[] {
  const parts: string[] = [];
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + max);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end--;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts.length ? parts : [''];
}
