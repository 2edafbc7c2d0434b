/**
 * Filter strings for LanceDB (DataFusion SQL) built only from fixed column names and escaped
 * literals. User input never reaches a filter any other way.
 */
import { InvalidInputError } from '../../src/errors.js';
import { ANY, type Scope } from './store.js';

/** A SQL string literal: quotes doubled; NUL (which no id needs) refused. */
export function sqlString(value: string): string {
  if (typeof value !== 'string') throw new InvalidInputError('value', 'Filter values must be strings.');
  if (value.includes('\u0000')) throw new InvalidInputError('value', 'Ids and scopes may not contain the NUL character. Remove it.');
  return `'${value.replace(/'/g, "''")}'`;
}

export function sqlNumber(value: number): string {
  if (!Number.isFinite(value)) throw new InvalidInputError('value', 'Numeric filter values must be finite.');
  return String(value);
}

const SCOPE_COLUMNS = { userId: 'user_id', agentId: 'agent_id', sessionId: 'session_id' } as const;

/**
 * `user_id = '…' AND agent_id = '…' AND session_id = '…'`: rows stored under exactly this
 * scope, an absent part ('' or undefined) matching only rows without it; a part given as ANY
 * ('*') is left out and matches any value. `table` qualifies the columns (e.g. 'target' in a
 * merge-insert condition).
 */
export function scopeFilter(scope: Scope, table?: 'target'): string {
  const keys = Object.keys(SCOPE_COLUMNS) as (keyof typeof SCOPE_COLUMNS)[];
  if (!keys.some((k) => scope[k] !== undefined && scope[k] !== '' && scope[k] !== ANY)) {
    throw new InvalidInputError('scope', "A scope needs at least one of userId, agentId or sessionId that is not '*'.");
  }
  return keys
    .filter((k) => scope[k] !== ANY)
    .map((k) => `${table ? `${table}.` : ''}${SCOPE_COLUMNS[k]} = ${sqlString(scope[k] ?? '')}`)
    .join(' AND ');
}

export function idInList(column: 'id' | 'page_id', ids: readonly string[]): string {
  if (ids.length === 0) return 'false';
  return `${column} IN (${ids.map(sqlString).join(', ')})`;
}

export function and(...clauses: readonly (string | undefined)[]): string {
  return clauses
    .filter((c): c is string => Boolean(c))
    .map((c) => `(${c})`)
    .join(' AND ');
}

/** SQL literal of a number, boolean or string, for a batched UPDATE; undefined for other values. */
export function sqlLiteral(v: unknown): string | undefined {
  return typeof v === 'number' ? `CAST(${sqlNumber(v)} AS DOUBLE)` : typeof v === 'boolean' ? String(v) : typeof v === 'string' ? sqlString(v) : undefined;
}

/**
 * `valuesSql` of one UPDATE that sets every row's columns to its own values, looked up by id in
 * parallel literal arrays (Lance's SQL has no CASE), so a batch of rows is one commit. Every
 * value must have a `sqlLiteral`.
 */
export function valuesById(entries: readonly (readonly [string, Record<string, unknown>])[], columns: readonly string[]): Record<string, string> {
  const position = `CAST(array_position(make_array(${entries.map(([id]) => sqlString(id)).join(', ')}), id) AS BIGINT)`;
  return Object.fromEntries(columns.map((c) => [c, `array_element(make_array(${entries.map(([, v]) => sqlLiteral(v[c])).join(', ')}), ${position})`]));
}
