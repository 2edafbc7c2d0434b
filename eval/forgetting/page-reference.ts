/**
 * The source text a stored page stands for, recovered from the turns it covers. A page lists
 * whole turn ids, but a turn that straddles two pages is cut: the page holds a suffix of its
 * first turn and a prefix of its last. The cut points are found once, by aligning the page's
 * verified read (written at compaction, >= 98% faithful) against the covered turns with free
 * skips inside the first and last turn; later reads of the same page are then scored against
 * that fixed reference, so a degraded read cannot move the cut in its own favour.
 */
import { normalizeForFidelity } from '../../src/codec/fidelity.js';
import { labelFor } from '../../renderers/text-layout.js';

export interface SourceTurn {
  readonly role: string;
  /** Speaker name; the page label is `${name}:` when present, as `Memory` draws it. */
  readonly name?: string;
  readonly content: string;
}

/** One line of source per turn, label first, as the page planner writes a page's source text. */
export function turnSourceLines(turns: readonly SourceTurn[]): string[] {
  return turns.map((t) => {
    const label = t.name ? `${t.name}:` : labelFor({ role: t.role, content: t.content });
    return label ? `${label} ${t.content}` : t.content;
  });
}

/**
 * The start and end (in `source`) of the substring that `read` matches best, by edit
 * distance, where the start may fall anywhere up to `freeStart` and the end anywhere from
 * `freeEnd` on at no cost. Ties go to the longer substring.
 */
export function alignFitting(read: string, source: string, freeStart: number, freeEnd: number): { start: number; end: number; distance: number } {
  const n = source.length;
  const m = read.length;
  let prev = new Int32Array(m + 1);
  let prevOrigin = new Int32Array(m + 1);
  let cur = new Int32Array(m + 1);
  let curOrigin = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  let best = { start: 0, end: 0, distance: m };
  const consider = (i: number, d: number, origin: number) => {
    if (i < freeEnd) return;
    if (d < best.distance || (d === best.distance && i - origin > best.end - best.start)) best = { start: origin, end: i, distance: d };
  };
  consider(0, m, 0);
  for (let i = 1; i <= n; i++) {
    if (i <= freeStart) {
      cur[0] = 0;
      curOrigin[0] = i;
    } else {
      cur[0] = prev[0]! + 1;
      curOrigin[0] = prevOrigin[0]!;
    }
    const s = source.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      let d = prev[j - 1]! + (s === read.charCodeAt(j - 1) ? 0 : 1);
      let o = prevOrigin[j - 1]!;
      const del = prev[j]! + 1;
      if (del < d) {
        d = del;
        o = prevOrigin[j]!;
      }
      const ins = cur[j - 1]! + 1;
      if (ins < d) {
        d = ins;
        o = curOrigin[j - 1]!;
      }
      cur[j] = d;
      curOrigin[j] = o;
    }
    consider(i, cur[m]!, curOrigin[m]!);
    [prev, cur] = [cur, prev];
    [prevOrigin, curOrigin] = [curOrigin, prevOrigin];
  }
  return best;
}

/**
 * The normalised source text of a page covering `turns`, cut where `verifiedRead` says the
 * page starts and ends. With one turn the cut may fall anywhere inside it.
 */
export function pageReference(verifiedRead: string, turns: readonly SourceTurn[]): string {
  const lines = turnSourceLines(turns);
  const source = normalizeForFidelity(lines.join('\n'));
  const read = normalizeForFidelity(verifiedRead);
  if (lines.length === 0 || source.length === 0) return source;
  // +1 / -1: the separator between turns may be skipped with the cut part.
  const freeStart = Math.min(source.length, normalizeForFidelity(lines[0]!).length + 1);
  const freeEnd = Math.max(0, source.length - normalizeForFidelity(lines[lines.length - 1]!).length - 1);
  const { start, end } = alignFitting(read, source, freeStart, freeEnd);
  return normalizeForFidelity(source.slice(start, end));
}
