import { z } from 'zod';
import { InvalidInputError, parseInput } from '../src/errors.js';
import { loneSurrogateAt } from '../src/internal/well-formed.js';
import { ANY, type Scope } from './store/store.js';

// Control characters never belong in an id, and NUL cannot be written into a filter literal.
export const IdSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must be a non-empty string')
  .max(256, 'must be at most 256 characters')
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters (NUL, tab, newline); remove them')
  // Storage keeps UTF-8, where a lone surrogate becomes U+FFFD: 'x\ud800' and 'x\udc00' would be one id.
  .refine((v) => loneSurrogateAt(v) < 0, 'holds a lone UTF-16 surrogate (half of a character, often a cut emoji), which storage would turn into U+FFFD and so share rows with other ids; fix the id');

export const ScopeSchema = z
  .object({ userId: IdSchema.optional(), agentId: IdSchema.optional(), sessionId: IdSchema.optional() }, { error: 'scope must be an object like { userId: "u1" }' })
  .strict();

const PARTS = ['userId', 'agentId', 'sessionId'] as const;

/**
 * Validate a scope: at least one of userId, agentId, sessionId that is not ANY ('*'). With
 * `stored` (a scope rows are written under), ANY is refused: a row belongs to one scope.
 */
export function parseScope(input: unknown, field = 'scope', options: { stored?: boolean } = {}): Scope {
  const scope = parseInput(ScopeSchema, input, field);
  if (!PARTS.some((k) => scope[k] !== undefined && scope[k] !== ANY)) {
    const empty = PARTS.every((k) => scope[k] === undefined);
    throw new InvalidInputError(
      field,
      empty
        ? `'${field}' is empty. Pass at least one of userId, agentId or sessionId, e.g. { userId: 'u1' }.`
        : `'${field}' names no owner: '*' spans a part, but at least one of userId, agentId or sessionId must be an id, e.g. { userId: 'u1', sessionId: '*' }.`,
    );
  }
  if (options.stored) {
    const wild = PARTS.find((k) => scope[k] === ANY);
    if (wild) throw new InvalidInputError(`${field}.${wild}`, `'${field}.${wild}' is '*', which matches any ${wild.replace('Id', '')} when reading; rows are stored under one scope, so pass the actual id.`);
  }
  return scope;
}

/**
 * A read scope for callers that name an owner and leave the rest out (the CLI, the MCP tools):
 * with a userId, absent agentId and sessionId span that user's agents and sessions; without a
 * userId nothing spans, so an agent- or session-only call never reaches any user's rows.
 */
export function spanWithinUser(scope: Scope): Scope {
  if (!scope.userId || scope.userId === ANY) return scope;
  return { userId: scope.userId, agentId: scope.agentId ?? ANY, sessionId: scope.sessionId ?? ANY };
}

export function scopeKey(scope: Scope): string {
  return JSON.stringify([scope.userId ?? '', scope.agentId ?? '', scope.sessionId ?? '']);
}

/** A scope as `store.scopes()` lists it ('' for absent parts) in the form the API takes. */
export function storedScope(scope: Required<Scope>): Scope {
  return Object.fromEntries(Object.entries(scope).filter(([, v]) => v)) as Scope;
}

/** A scope with every part present ('' for absent ones), as rows store it. */
export function fullScope(scope: Scope): Required<Scope> {
  return { userId: scope.userId ?? '', agentId: scope.agentId ?? '', sessionId: scope.sessionId ?? '' };
}
