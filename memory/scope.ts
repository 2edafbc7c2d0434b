import { z } from 'zod';
import { InvalidInputError, parseInput } from '../src/errors.js';
import type { Scope } from './store/store.js';

// Control characters never belong in an id, and NUL cannot be written into a filter literal.
const Id = z
  .string({ error: 'must be a string' })
  .min(1, 'must be a non-empty string')
  .max(256, 'must be at most 256 characters')
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters (NUL, tab, newline); remove them');

export const ScopeSchema = z
  .object({ userId: Id.optional(), agentId: Id.optional(), sessionId: Id.optional() }, { error: 'scope must be an object like { userId: "u1" }' })
  .strict();

/** Validate a scope: at least one of userId, agentId, sessionId. */
export function parseScope(input: unknown, field = 'scope'): Scope {
  const scope = parseInput(ScopeSchema, input, field);
  if (!scope.userId && !scope.agentId && !scope.sessionId) {
    throw new InvalidInputError(field, `'${field}' is empty. Pass at least one of userId, agentId or sessionId, e.g. { userId: 'u1' }.`);
  }
  return scope;
}

export function scopeKey(scope: Scope): string {
  return JSON.stringify([scope.userId ?? '', scope.agentId ?? '', scope.sessionId ?? '']);
}
