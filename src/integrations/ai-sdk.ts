/**
 * Vercel AI SDK middleware (`wrapLanguageModel({ model, middleware: opticmemMiddleware(...) })`).
 *
 * Each call's prompt is rewritten: the caller's system messages stay first, the older history
 * is replaced by the context opticmem builds for the scope (pages as image `file` parts for a
 * vision model or as decoded text, recent turns as text, pages matching the latest user message
 * first), and the current turn follows verbatim.
 *
 * What gets stored, so that nothing is stored twice when the caller sends the full history on
 * every call:
 * - The *current turn* is the last user message of the prompt and everything after it (tool
 *   calls and tool results of a multi-step call). It is stored, with the model's reply, once the
 *   model answers with a step that does not end in tool calls; a step that ends in tool calls
 *   stores nothing, because the next step (or the caller's next call) repeats the whole turn.
 * - Messages before the current turn are history the memory already holds and are never stored,
 *   except on the first call for a scope that holds nothing yet: then the caller's history is
 *   adopted (sent to the model as given and stored with the turn).
 * - System messages are instructions, not conversation: never stored.
 * - A call that fails, or a stream that errors, stores nothing; a retry stores the turn once.
 *
 * Only types come from 'ai': importing this module loads no part of the SDK.
 */
import type { LanguageModelMiddleware } from 'ai';
import { z } from 'zod';
import type { ContextMessage, BuiltContext, ContextPage } from '../../memory/context-builder.js';
import type { Memory } from '../../memory/memory.js';
import { MAX_MESSAGE_CHARS, type ChatMessage } from '../../memory/messages.js';
import { parseScope } from '../../memory/scope.js';
import type { Scope } from '../../memory/store/store.js';
import { InvalidInputError, parseInput, UnknownProfileError } from '../errors.js';
import { getProfile, listProfiles } from '../tokens/profiles/index.js';
import type { VisionTokenProfile } from '../tokens/vision-token-profile.js';
import { describeFailure } from './add-outcome.js';

type CallOptions = Parameters<NonNullable<LanguageModelMiddleware['transformParams']>>[0]['params'];
type PromptMessage = CallOptions['prompt'][number];
type GenerateResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapGenerate']>>>;
type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapStream']>>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
type ContentPart = GenerateResult['content'][number];

export interface OpticMemMiddlewareOptions {
  readonly memory: Memory;
  /**
   * Whose memory the calls read and write. A call can name its own with
   * `providerOptions: { opticmem: { scope } }`; one of the two is required.
   */
  readonly scope?: Scope;
  /**
   * The vision-token profile of the model being wrapped ('gpt-4o', 'claude', 'qwen2.5-vl', ...),
   * used to count what a page image costs; or 'text' for a text-only model. Default 'text'.
   */
  readonly consumer?: string | VisionTokenProfile;
  /** Send pages as PNG `file` parts. Default: true for a vision consumer, false for 'text'. */
  readonly asImages?: boolean;
  /** Most tokens the memory context (pages and recent turns) may take. Default 4000. */
  readonly budgetTokens?: number;
  /** Pages matching the latest user message go in first (`k` of them at most); `false` turns this off. Default `{ k: 5 }`. */
  readonly recall?: { readonly k?: number } | false;
  /** Called on every call with what the memory context cost and saved. */
  readonly onContext?: (report: OpticMemContextReport) => void;
}

export interface OpticMemContextReport {
  readonly scope: Scope;
  /** True when the scope held nothing and the caller's own history was sent (and will be stored). */
  readonly adopted: boolean;
  readonly usedTokens: number;
  readonly savedTokens: number;
  readonly representedTokens: number;
  readonly pages: readonly ContextPage[];
  /** Turns recalled for the caller's last message, from the turn-level index. */
  readonly recalledTurns: BuiltContext['recalledTurns'];
  readonly turns: number;
  readonly omitted: BuiltContext['omitted'];
}

const DEFAULT_BUDGET_TOKENS = 4000;
const DEFAULT_RECALL_K = 5;
const MAX_QUERY_CHARS = 4096;

const OptionsSchema = z
  .object({
    memory: z.custom<Memory>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Memory).buildContext === 'function' && typeof (v as Memory).add === 'function',
      "'memory' must be an opticmem Memory; open one with `await Memory.open({ path })`",
    ),
    scope: z.unknown().optional(),
    consumer: z.union([z.string().min(1), z.custom<VisionTokenProfile>((v) => typeof v === 'object' && v !== null && 'tokensFor' in v)]).optional(),
    asImages: z.boolean().optional(),
    budgetTokens: z.number().int('budgetTokens must be a whole number').positive('budgetTokens must be > 0').optional(),
    recall: z.union([z.literal(false), z.object({ k: z.number().int().min(1).max(100).optional() }).strict()]).optional(),
    onContext: z.function().optional(),
  })
  .strict();

const PerCallSchema = z.object({ scope: z.unknown().optional() }).strict();

// The SDK validates prompts it builds; a model called directly (or another middleware) may not.
const PartSchema = z
  .object({ type: z.string({ error: "each content part needs a string 'type'" }) })
  .passthrough()
  .refine((p) => p.type !== 'text' || typeof (p as { text?: unknown }).text === 'string', { message: "a 'text' part needs a string 'text'", path: ['text'] });
const PartsSchema = z.array(PartSchema, { error: "content must be an array of parts like { type: 'text', text: '...' }" });
const PromptSchema = z.array(
  z.discriminatedUnion(
    'role',
    [
      z.object({ role: z.literal('system'), content: z.string({ error: 'system content must be a string' }) }).passthrough(),
      z.object({ role: z.literal('user'), content: PartsSchema }).passthrough(),
      z.object({ role: z.literal('assistant'), content: PartsSchema }).passthrough(),
      z.object({ role: z.literal('tool'), content: PartsSchema }).passthrough(),
    ],
    { error: "each message needs role 'system', 'user', 'assistant' or 'tool'" },
  ),
  { error: 'prompt must be an array of messages' },
);

interface PendingTurn {
  readonly scope: Scope;
  readonly messages: readonly ChatMessage[];
  readonly report: OpticMemContextReport;
}

/** A middleware for `wrapLanguageModel` that gives any AI SDK model opticmem's long-context memory. */
export function opticmemMiddleware(options: OpticMemMiddlewareOptions): LanguageModelMiddleware {
  const o = parseInput(OptionsSchema, options, 'options');
  const memory = o.memory;
  const defaultScope = o.scope === undefined ? undefined : parseScope(o.scope, 'scope');
  const consumer = resolveConsumer(o.consumer ?? 'text');
  const asImages = o.asImages ?? consumer !== 'text';
  if (asImages && consumer === 'text') {
    throw new InvalidInputError('asImages', "'asImages' needs a vision model: pass its profile as 'consumer' (e.g. consumer: 'gpt-4o'), or leave 'asImages' unset to send decoded text.");
  }
  const budgetTokens = o.budgetTokens ?? DEFAULT_BUDGET_TOKENS;
  const recallK = o.recall === false ? undefined : (o.recall?.k ?? DEFAULT_RECALL_K);
  const onContext = o.onContext as OpticMemMiddlewareOptions['onContext'];
  // transformParams hands the turn to wrapGenerate/wrapStream, which receive the same params object.
  const pending = new WeakMap<CallOptions, PendingTurn>();

  async function store(turn: PendingTurn, reply: string): Promise<Stored> {
    const messages: ChatMessage[] = [...turn.messages, ...(reply ? [{ role: 'assistant' as const, content: reply }] : [])];
    if (messages.length === 0) return NOTHING_STORED;
    // Once add resolves the turn is stored; a compaction that failed after it is reported, not thrown.
    const added = await memory.add(messages, turn.scope);
    const failure = added.compactionError;
    return { turns: messages.length, ...(failure ? { compactionFailed: describeFailure(failure) } : {}), ...(added.compactionQueued ? { compactionQueued: true } : {}) };
  }

  return {
    specificationVersion: 'v3',

    async transformParams({ params }) {
      const { opticmem: perCall, ...providerOptions } = params.providerOptions ?? {};
      const call = parseInput(PerCallSchema, perCall ?? {}, 'providerOptions.opticmem');
      const scope = call.scope !== undefined ? parseScope(call.scope, 'providerOptions.opticmem.scope') : defaultScope;
      if (!scope) {
        throw new InvalidInputError(
          'scope',
          "No 'scope' for this call. Pass it to opticmemMiddleware({ memory, scope: { userId: 'u1' } }) or per call as providerOptions: { opticmem: { scope: { userId: 'u1' } } }.",
        );
      }
      parseInput(PromptSchema, params.prompt, 'prompt');
      const system = params.prompt.filter((m) => m.role === 'system');
      const rest = params.prompt.map((m, index) => ({ m, index })).filter(({ m }) => m.role !== 'system');
      let lastUser = -1;
      rest.forEach(({ m }, i) => {
        if (m.role === 'user') lastUser = i;
      });
      const history = lastUser > 0 ? rest.slice(0, lastUser) : [];
      const current = lastUser >= 0 ? rest.slice(lastUser) : rest;

      const held = await memory.list(scope, { limit: 1 });
      const adopted = held.turns.length === 0 && held.pages.length === 0 && history.length > 0;
      const messages = [...(adopted ? history : []), ...current].flatMap(({ m, index }) => {
        const chat = toChatMessage(m);
        if (chat && chat.content.length > MAX_MESSAGE_CHARS) {
          throw new InvalidInputError(
            `prompt.${index}.content`,
            `'prompt.${index}.content' is ${chat.content.length} characters; opticmem stores at most ${MAX_MESSAGE_CHARS} per message. Split it into several messages.`,
          );
        }
        return chat ? [chat] : [];
      });

      const latestUser = lastUser >= 0 ? toChatMessage(rest[lastUser]!.m)?.content : undefined;
      const query = recallK !== undefined && latestUser?.trim() ? latestUser.slice(0, MAX_QUERY_CHARS) : undefined;
      const ctx = await memory.buildContext({ scope, budgetTokens, consumer: asImages ? consumer : 'text', ...(query ? { query, k: recallK } : {}) });
      const report: OpticMemContextReport = {
        scope,
        adopted,
        usedTokens: ctx.usedTokens,
        savedTokens: ctx.savedTokens,
        representedTokens: ctx.representedTokens,
        pages: ctx.pages,
        recalledTurns: ctx.recalledTurns,
        turns: ctx.turns,
        omitted: ctx.omitted,
      };
      onContext?.(report);

      const prompt: PromptMessage[] = [...system, ...(adopted ? history.map((h) => h.m) : ctx.messages.map(toPromptMessage)), ...current.map((c) => c.m)];
      const next: CallOptions = { ...params, prompt, providerOptions };
      if (params.providerOptions === undefined) delete next.providerOptions;
      pending.set(next, { scope, messages, report });
      return next;
    },

    async wrapGenerate({ doGenerate, params }) {
      const turn = pending.get(params);
      const result = await doGenerate();
      if (!turn) return result;
      pending.delete(params);
      // A step that ends in tool calls is not the end of the turn; the next step repeats it.
      const stored = result.finishReason.unified === 'tool-calls' ? NOTHING_STORED : await store(turn, replyText(result.content));
      return { ...result, providerMetadata: { ...result.providerMetadata, opticmem: metadata(turn.report, stored) } };
    },

    async wrapStream({ doStream, params }) {
      const turn = pending.get(params);
      const result = await doStream();
      if (!turn) return result;
      pending.delete(params);
      const reply: ContentPart[] = [];
      const textBlocks = new Map<string, number>();
      let failed = false;
      const stream = result.stream.pipeThrough(
        new TransformStream<StreamPart, StreamPart>({
          async transform(part, controller) {
            if (part.type === 'text-delta') {
              const at = textBlocks.get(part.id);
              const block = at === undefined ? undefined : reply[at];
              if (block?.type === 'text') reply[at!] = { ...block, text: block.text + part.delta };
              else textBlocks.set(part.id, reply.push({ type: 'text', text: part.delta }) - 1);
            } else if (part.type === 'tool-call' || part.type === 'tool-result') {
              reply.push(part);
            } else if (part.type === 'error') {
              failed = true;
            } else if (part.type === 'finish') {
              // Store before the finish part goes out, so a caller that saw the end sees the turn stored.
              const stored = failed || part.finishReason.unified === 'tool-calls' ? NOTHING_STORED : await store(turn, replyText(reply));
              controller.enqueue({ ...part, providerMetadata: { ...part.providerMetadata, opticmem: metadata(turn.report, stored) } });
              return;
            }
            controller.enqueue(part);
          },
        }),
      );
      return { ...result, stream };
    },
  };
}

function resolveConsumer(consumer: string | VisionTokenProfile): 'text' | VisionTokenProfile {
  if (consumer === 'text') return 'text';
  if (typeof consumer !== 'string') return consumer;
  try {
    return getProfile(consumer);
  } catch (cause) {
    if (!UnknownProfileError.isInstance(cause)) throw cause;
    throw new InvalidInputError('consumer', `Unknown vision-token profile '${consumer}' in 'consumer'. Use 'text' for a text-only model, or one of: ${listProfiles().join(', ')}.`, { cause });
  }
}

/** What a call stored: its turns, and why older turns could not be compacted, if they could not. */
interface Stored {
  readonly turns: number;
  readonly compactionFailed?: string;
  /** Older turns were queued for background compaction (the memory reports its outcome). */
  readonly compactionQueued?: boolean;
}

const NOTHING_STORED: Stored = { turns: 0 };

function metadata(report: OpticMemContextReport, stored: Stored) {
  return {
    usedTokens: report.usedTokens,
    savedTokens: report.savedTokens,
    representedTokens: report.representedTokens,
    pages: report.pages.length,
    recalledPages: report.pages.filter((p) => p.recalled).length,
    turns: report.turns,
    adopted: report.adopted,
    storedTurns: stored.turns,
    ...(stored.compactionFailed ? { compactionFailed: stored.compactionFailed } : {}),
    ...(stored.compactionQueued ? { compactionQueued: true } : {}),
  };
}

/** A context message from `memory.buildContext` as an AI SDK prompt message. */
function toPromptMessage(m: ContextMessage): PromptMessage {
  const parts = typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }] : m.content;
  if (m.role === 'system' || m.role === 'developer') return { role: 'system', content: parts.map((p) => (p.type === 'text' ? p.text : '')).join('\n') };
  if (m.role === 'user') {
    return {
      role: 'user',
      content: parts.map((p) => {
        if (p.type === 'text') return { type: 'text' as const, text: p.text };
        const data = /^data:([^;,]+);base64,(.*)$/s.exec(p.image_url.url);
        return data ? { type: 'file' as const, mediaType: data[1]!, data: data[2]! } : { type: 'file' as const, mediaType: 'image/png', data: new URL(p.image_url.url) };
      }),
    };
  }
  // Assistant turns, and tool turns stored as text: their call ids are gone, so they are text now.
  return { role: 'assistant', content: [{ type: 'text', text: parts.map((p) => (p.type === 'text' ? p.text : '[image]')).join('\n') }] };
}

type TextMessage = ChatMessage & { content: string };

/** What a prompt message says, as a chat message for `memory.add`; undefined when it says nothing. */
function toChatMessage(m: PromptMessage): TextMessage | undefined {
  if (m.role === 'system') return undefined;
  const text = m.content
    .map((p) => {
      switch (p.type) {
        case 'text':
          return p.text;
        case 'file':
          return `[file ${p.filename ?? p.mediaType}]`;
        case 'tool-call':
          return `[tool call ${p.toolName} ${JSON.stringify(p.input)}]`;
        case 'tool-result':
          return `[tool result ${p.toolName}] ${toolOutputText(p.output)}`;
        case 'tool-approval-response':
          return `[tool approval ${p.approved ? 'granted' : 'denied'}${p.reason ? `: ${p.reason}` : ''}]`;
        default:
          return ''; // reasoning is the model's scratch work, not conversation
      }
    })
    .filter((t) => t.length > 0)
    .join('\n');
  if (!text.trim()) return undefined;
  return { role: m.role, content: text };
}

type ToolOutput = Extract<PromptMessage, { role: 'tool' }>['content'][number] extends infer P ? (P extends { type: 'tool-result'; output: infer O } ? O : never) : never;

function toolOutputText(output: ToolOutput): string {
  switch (output.type) {
    case 'text':
    case 'error-text':
      return output.value;
    case 'json':
    case 'error-json':
      return JSON.stringify(output.value);
    case 'execution-denied':
      return `execution denied${output.reason ? `: ${output.reason}` : ''}`;
    case 'content':
      return output.value.map((v) => (v.type === 'text' ? v.text : `[${v.type}]`)).join('\n');
  }
}

/** The reply as text: text parts, and tool calls the provider ran, in order. */
function replyText(content: readonly ContentPart[]): string {
  const blocks: string[] = [];
  for (const p of content) {
    if (p.type === 'text' && p.text) blocks.push(p.text);
    else if (p.type === 'tool-call') blocks.push(`[tool call ${p.toolName} ${p.input}]`);
    else if (p.type === 'tool-result') blocks.push(`[tool result ${p.toolName}] ${JSON.stringify(p.result)}`);
  }
  return blocks.join('\n');
}
