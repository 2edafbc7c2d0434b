/**
 * An MCP server over an opticmem `Memory`, so any MCP client (desktop assistants, IDE agents)
 * can store and recall long conversations: tools `remember`, `recall`, `forget` and `stats`.
 * Import from 'opticmem/mcp'; `opticmem mcp --db DIR` serves it on stdio.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Memory } from '../../memory/memory.js';
import { MAX_MESSAGE_CHARS } from '../../memory/messages.js';
import { parseScope, ScopeSchema, scopeKey, spanWithinUser } from '../../memory/scope.js';
import type { Scope } from '../../memory/store/store.js';
import { InvalidInputError, OpticMemError, parseInput } from '../errors.js';
import { packageVersion } from '../internal/package-root.js';
import { describeFailure } from './add-outcome.js';

export interface McpServerOptions {
  readonly memory: Memory;
  /** Scope parts used where a call leaves them out (a single-user server sets `userId`). */
  readonly defaultScope?: Scope;
  /** Name and version the server reports to clients. */
  readonly name?: string;
  readonly version?: string;
}

const OptionsSchema = z
  .object({
    memory: z.custom<Memory>(
      (v) => typeof v === 'object' && v !== null && ['add', 'recall', 'delete', 'age', 'list'].every((k) => typeof (v as Record<string, unknown>)[k] === 'function'),
      "must be an opticmem Memory (from 'await Memory.open({ path })')",
    ),
    defaultScope: ScopeSchema.optional(),
    name: z.string().min(1).optional(),
    version: z.string().min(1).optional(),
  })
  .strict();

const Id = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(256, `${what} must be at most 256 characters`)
    .optional();

// Tool arguments name the scope flat, which is what models fill in most reliably.
const scopeShape = {
  userId: Id('userId').describe('Whose memory: the user id.'),
  agentId: Id('agentId').describe('Optional agent id, to keep agents apart; leave out to span all of the user\'s agents.'),
  sessionId: Id('sessionId').describe('Optional session or thread id; leave out to span all of the user\'s sessions.'),
};

const strict = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown argument(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}; the arguments are ${Object.keys(shape).join(', ')}` : undefined) });

const RememberArgs = strict({
  ...scopeShape,
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['user', 'assistant', 'system', 'developer', 'tool'], { error: "role must be 'user', 'assistant', 'system', 'developer' or 'tool'" }),
        content: z.string({ error: 'content must be a string' }).max(MAX_MESSAGE_CHARS, `content must be at most ${MAX_MESSAGE_CHARS} characters; split it into several messages`),
        name: z.string().max(256).optional().describe('Speaker name, if any.'),
        createdAt: z.string().optional().describe('When it was said, ISO 8601; default now.'),
      }),
      { error: 'messages must be an array of { role, content }' },
    )
    .min(1, 'messages must hold at least one message')
    .max(1000, 'messages may hold at most 1000 messages per call; send the rest in another call')
    .describe('Chat messages to store, oldest first.'),
});

const RecallArgs = strict({
  ...scopeShape,
  query: z.string({ error: 'query must be a string' }).min(1, 'query must not be empty').max(4096, 'query must be at most 4096 characters').describe('What to look for.'),
  k: z.number({ error: 'k must be a number' }).int('k must be a whole number').min(1, 'k must be at least 1').max(20, 'k must be at most 20').optional().describe('Pages to return (default 5).'),
  asImages: z.boolean({ error: 'asImages must be true or false' }).optional().describe('Also return each page as a PNG image (for vision models). Default false.'),
  includeRecent: z.boolean({ error: 'includeRecent must be true or false' }).optional().describe('Also return the recent turns not yet compacted into pages. Default true.'),
});

const ForgetArgs = strict({
  ...scopeShape,
  mode: z.enum(['delete', 'age'], { error: "mode must be 'delete' or 'age'" }).optional().describe("'delete' removes every turn and page of the scope; 'age' lets pages fade on the forgetting curve. Default 'delete'."),
  now: z.string().optional().describe("For 'age': the time to age to, ISO 8601 (default now)."),
});

const StatsArgs = strict({ ...scopeShape });

type ScopeArgs = { userId?: string | undefined; agentId?: string | undefined; sessionId?: string | undefined };

function json(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown> };
}

/** Failures become MCP tool errors (the client sees them, the server keeps serving). */
function toolError(error: unknown): CallToolResult {
  const text = OpticMemError.isInstance(error)
    ? `${error.name} (${error.code}${error.field ? `, field '${error.field}'` : ''}): ${error.message}`
    : `Unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
  return { isError: true, content: [{ type: 'text', text }] };
}

/**
 * The SDK's `McpServer` with opticmem's tools registered. Tool failures come back as MCP tool
 * errors; `close()` first lets tool calls in flight finish, so the Memory behind it can be
 * closed right after without cutting a write short.
 */
export class OpticMemMcpServer extends McpServer {
  readonly #memory: Memory;
  readonly #defaultScope: Scope | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** The last background compaction failure of each scope, until one of its compactions succeeds. */
  readonly #failures = new Map<string, string>();
  readonly #unsubscribe: () => void;

  constructor(options: McpServerOptions) {
    const o = parseInput(OptionsSchema, options, 'options');
    super({ name: o.name ?? 'opticmem', version: o.version ?? packageVersion() });
    this.#memory = o.memory;
    this.#defaultScope = o.defaultScope;
    this.#unsubscribe = this.#memory.onCompaction((e) => {
      const key = scopeKey(e.scope);
      if (e.type === 'compacted') this.#failures.delete(key);
      else if (!e.willRetry) this.#failures.set(key, describeFailure(e.error));
    });
    this.registerTool(
      'remember',
      {
        title: 'Remember messages',
        description: 'Store chat messages in long-term memory for a user/agent/session. Older turns are compacted into compressed page images automatically.',
        inputSchema: RememberArgs,
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
      this.#guard(async (args) => {
        const scope = this.#scopeOf(args);
        const result = await this.#memory.add(args.messages, scope);
        // The messages are stored once add resolves; a failed compaction is news, not a failed call.
        const failure = result.compactionError ? describeFailure(result.compactionError) : this.#failures.get(scopeKey(scope));
        return json({
          stored: result.turnIds.length,
          scope,
          ...(result.compacted ? { compacted: { turns: result.compacted.turnsCompacted, pages: result.compacted.pagesWritten, textTokens: result.compacted.textTokens, visualTokens: result.compacted.visualTokens } } : {}),
          // Background compaction: older turns become pages after this call returns.
          ...(result.compactionQueued ? { compactionQueued: true } : {}),
          ...(failure ? { compactionFailed: `${failure} The messages are stored as text; compacting them into pages is retried on the next remember.` } : {}),
        });
      }),
    );

    this.registerTool(
      'recall',
      {
        title: 'Recall memories',
        description: 'Search long-term memory of a user/agent/session. Returns matching pages as decoded text (and as PNG images with asImages), plus the recent turns.',
        inputSchema: RecallArgs,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      this.#guard(async (args) => {
        const scope = spanWithinUser(this.#scopeOf(args));
        const hits = await this.#memory.recall(args.query, { scope, k: args.k ?? 5, as: args.asImages ? 'both' : 'text' });
        const content: CallToolResult['content'] = [];
        for (const h of hits) {
          const when = `${new Date(h.startTime).toISOString()} .. ${new Date(h.endTime).toISOString()}`;
          content.push({ type: 'text', text: `Page ${h.pageId} (${h.tier}, ${when}, score ${h.score.toFixed(3)}):\n${h.text ?? ''}` });
          if (h.png) content.push({ type: 'image', data: Buffer.from(h.png).toString('base64'), mimeType: 'image/png' });
        }
        if (args.includeRecent !== false) {
          const { turns } = await this.#memory.list(scope);
          if (turns.length) content.push({ type: 'text', text: `Recent turns (not yet compacted), oldest first:\n${turns.map((t) => `${t.role}${t.name ? ` (${t.name})` : ''}: ${t.content}`).join('\n')}` });
        }
        if (content.length === 0) content.push({ type: 'text', text: 'No memories match in this scope.' });
        return { content };
      }),
    );

    this.registerTool(
      'forget',
      {
        title: 'Forget',
        description: "Delete everything remembered for a user/agent/session (mode 'delete'), or let its pages fade along the forgetting curve (mode 'age').",
        inputSchema: ForgetArgs,
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      },
      this.#guard(async (args) => {
        const scope = spanWithinUser(this.#scopeOf(args));
        if ((args.mode ?? 'delete') === 'delete') {
          if (args.now !== undefined) throw new InvalidInputError('now', "'now' only applies to mode 'age'. Leave it out, or pass mode: 'age'.");
          const deleted = await this.#memory.delete(scope);
          return json({ mode: 'delete', scope, deleted });
        }
        let now: number | undefined;
        if (args.now !== undefined) {
          now = Date.parse(args.now);
          if (Number.isNaN(now)) throw new InvalidInputError('now', `'now' is '${args.now}', not a date. Pass ISO 8601, e.g. 2026-12-01T00:00:00Z.`);
        }
        const r = await this.#memory.age({ scope, ...(now !== undefined ? { now } : {}) });
        return json({ mode: 'age', scope, now: new Date(r.now).toISOString(), examined: r.examined, moved: r.moved.length, dropped: r.dropped.length, pinned: r.pinned, unchanged: r.unchanged });
      }),
    );

    this.registerTool(
      'stats',
      {
        title: 'Memory statistics',
        description: 'Turns, pages, tokens, compression ratio and fidelity of a user/agent/session; without a scope, only store totals.',
        inputSchema: StatsArgs,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      this.#guard(async (args) => {
        const hasScope = Object.values(args).some((v) => v !== undefined) || this.#defaultScope !== undefined;
        // Without a scope only totals: listing other scopes' ids would leak who is in the store.
        if (!hasScope) return json({ totals: await this.#memory.store.counts() });
        const scope = spanWithinUser(this.#scopeOf(args));
        const { turns, pages } = await this.#memory.list(scope);
        const pagedTextTokens = pages.reduce((a, p) => a + p.textTokens, 0);
        const visualTokens = pages.reduce((a, p) => a + p.visualTokens, 0);
        const measured = pages.filter((p) => p.fidelity >= 0);
        const tiers: Record<string, number> = {};
        for (const p of pages) tiers[p.tier] = (tiers[p.tier] ?? 0) + 1;
        return json({
          scope,
          turns: turns.length,
          hotTextTokens: turns.reduce((a, t) => a + t.textTokens, 0),
          pages: pages.length,
          pagedTextTokens,
          visualTokens,
          ratio: visualTokens ? Number((pagedTextTokens / visualTokens).toFixed(3)) : 0,
          meanFidelity: measured.length ? Number((measured.reduce((a, p) => a + p.fidelity, 0) / measured.length).toFixed(4)) : null,
          tiers,
          ...(this.#failures.has(scopeKey(this.#scopeOf(args))) ? { compactionFailed: this.#failures.get(scopeKey(this.#scopeOf(args))) } : {}),
        });
      }),
    );
  }

  #scopeOf(args: ScopeArgs): Scope {
    const given = Object.fromEntries(Object.entries({ userId: args.userId, agentId: args.agentId, sessionId: args.sessionId }).filter(([, v]) => v !== undefined));
    const scope = { ...this.#defaultScope, ...given };
    if (!scope.userId && !scope.agentId && !scope.sessionId) {
      throw new InvalidInputError('userId', "No scope given. Pass 'userId' (and optionally 'agentId', 'sessionId') so memories stay with their owner.");
    }
    return parseScope(scope);
  }

  #guard<A>(fn: (args: A) => Promise<CallToolResult>): (args: A) => Promise<CallToolResult> {
    return (args) => {
      const call = fn(args).catch(toolError);
      this.#inFlight.add(call);
      return call.finally(() => this.#inFlight.delete(call));
    };
  }

  override async close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    this.#unsubscribe();
    // The SDK sends a result a few promise hops after the tool body settles; let it go out first.
    await new Promise((resolve) => setImmediate(resolve));
    await super.close();
  }
}

/** Build an MCP server over `memory`; connect it to a transport (e.g. stdio) to serve it. */
export function createMcpServer(options: McpServerOptions): OpticMemMcpServer {
  return new OpticMemMcpServer(options);
}
