/**
 * Every glyph a line can show, at one font size, line height and quarter-pixel phase, indexed
 * two ways for the line reader: by the hash of each of its first ink columns (where the column
 * is, relative to the glyph's whole-pixel origin, and its gray levels over the line's band), so
 * the glyph that explains a page column is found in one look-up; and by its left ink column,
 * for the cases a hash cannot serve (columns shared with a neighbour, noisy pixels).
 */
import type { FontSet } from '../../../renderers/fonts.js';
import type { GlyphAtlas, GlyphMask } from '../../../renderers/glyph-atlas.js';
import { GLYPH_TIERS, tierChars, type BaseFont, type CandidateChar, type GlyphTier } from './glyph-set.js';

export interface IndexedGlyph {
  readonly ch: string;
  /** Advance in px at the index's size, computed as the layout computes it. */
  readonly advance: number;
  readonly mask: GlyphMask;
}

/** Columns of each glyph entered in the hash index. */
const HASHED_COLUMNS = 4;

export class PhaseIndex {
  readonly byHash = new Map<number, IndexedGlyph[]>();
  readonly byLeft = new Map<number, IndexedGlyph[]>();
  /** The leftmost ink column of any indexed glyph, relative to its origin's whole pixel. */
  minLeft = 0;

  /** `bandTop`..`bandBottom`: the line's own rows relative to the baseline. */
  constructor(
    readonly bandTop: number,
    readonly bandBottom: number,
  ) {}

  add(glyph: IndexedGlyph): void {
    const m = glyph.mask;
    if (m.width === 0) return;
    push(this.byLeft, m.left, glyph);
    if (m.left < this.minLeft) this.minLeft = m.left;
    for (let k = 0; k < Math.min(HASHED_COLUMNS, m.width); k++) push(this.byHash, this.maskColumnHash(m, k), glyph);
  }

  /** Hash of column `k` of `m` over the band rows, as `columnHash` hashes a page column. */
  maskColumnHash(m: GlyphMask, k: number): number {
    let h = columnSeed(m.left + k);
    const from = Math.max(this.bandTop, m.top);
    const to = Math.min(this.bandBottom, m.top + m.height);
    for (let t = from; t < to; t++) {
      const v = m.gray[(t - m.top) * m.width + k]!;
      if (v !== 255) h = mix(h, t, v);
    }
    return h;
  }
}

export function columnSeed(offset: number): number {
  return Math.imul(offset + 4096, 0x9e3779b1) >>> 0;
}

export function mix(h: number, row: number, value: number): number {
  return Math.imul(h ^ ((row + 512) * 256 + value), 0x01000193) >>> 0;
}

function push<K>(map: Map<K, IndexedGlyph[]>, key: K, glyph: IndexedGlyph): void {
  const list = map.get(key);
  if (list) list.push(glyph);
  else map.set(key, [glyph]);
}

/** The four phases of one (base font, size, line band), with the tiers loaded so far. */
export class GlyphIndex {
  readonly phases: readonly PhaseIndex[];
  private readonly loaded = new Set<GlyphTier>();

  constructor(
    private readonly atlas: GlyphAtlas,
    private readonly fonts: FontSet,
    readonly base: BaseFont,
    readonly fontSize: number,
    bandTop: number,
    bandBottom: number,
  ) {
    this.phases = [0, 1, 2, 3].map(() => new PhaseIndex(bandTop, bandBottom));
    this.load('common');
  }

  /** Load the next tier; false when every tier is loaded. */
  loadNext(): boolean {
    const next = GLYPH_TIERS.find((t) => !this.loaded.has(t));
    if (!next) return false;
    this.load(next);
    return true;
  }

  private load(tier: GlyphTier): void {
    this.loaded.add(tier);
    const chars = tierChars(this.base, tier);
    const { atlas, fontSize } = this;
    const byRole = new Map<string, CandidateChar[]>();
    for (const c of chars) (byRole.get(c.role) ?? byRole.set(c.role, []).get(c.role)!).push(c);
    for (let phase = 0; phase < 4; phase++) {
      const index = this.phases[phase]!;
      for (const [role, list] of byRole) {
        const face = atlas.face(role as CandidateChar['role'], fontSize);
        for (const c of list) {
          const advance = (this.fonts.fonts[c.role].metrics.advance(c.ch.codePointAt(0)!) ?? 0.5) * fontSize;
          index.add({ ch: c.ch, advance, mask: atlas.mask(face, c.role, c.ch, fontSize, phase) });
        }
      }
    }
  }
}
