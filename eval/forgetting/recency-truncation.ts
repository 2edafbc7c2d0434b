/**
 * The usual baseline for bounded memory: keep the most recent text up to a token budget and
 * drop the rest. Whole turns only, so a kept turn is kept verbatim.
 */

export interface TokenTurn {
  readonly id: string;
  readonly tokens: number;
  /** When it was said, ms since epoch. */
  readonly time: number;
}

export interface Truncation {
  readonly kept: ReadonlySet<string>;
  readonly tokens: number;
}

/** The longest run of most recent turns whose tokens sum to at most `budget`. */
export function keepMostRecent(turns: readonly TokenTurn[], budget: number): Truncation {
  const kept = new Set<string>();
  let tokens = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const t = turns[i]!;
    if (tokens + t.tokens > budget) break;
    tokens += t.tokens;
    kept.add(t.id);
  }
  return { kept, tokens };
}
