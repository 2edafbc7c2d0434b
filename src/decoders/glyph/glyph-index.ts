/**
 * Every glyph a line can show, at one font size, line height and quarter-pixel phase, indexed
 * two ways for the line reader: by the hash of each of its first ink columns (where the column
 * is, relative to the glyph's whole-pixel origin, and its gray levels over the line's band), so
 * the glyph that explains a page column is found in one look-up; and by its left ink column,
 * for the cases a hash cannot serve (columns shared with a neighbour, noisy pixels).
 */
import type { FontSet } from '../../../renderers/fonts.js';
import type { GlyphAtlas, GlyphMask } from '../../../renderers/glyph-atlas.js';
import { maskCacheFile, readMaskCache, writeMaskCache } from '../../../renderers/glyph-mask-cache.js';
import { GLYPH_TIERS, tierChars, type BaseFont, type CandidateChar, type GlyphTier } from './glyph-set.js';

export interface IndexedGlyph {
  readonly ch: string;
  /** Advance in px at the index's size, computed as the layout computes it. */
  readonly advance: number;
  readonly mask: GlyphMask;
  /** Index in GLYPH_TIERS of the tier it was loaded with: a line is tried with the earlier tiers alone first. */
  readonly tier: number;
}

export interface ProbeGroup {
  readonly dx: number;
  readonly dy: number;
  /** Full-width members (`wideGroups`), else narrow ones (`probeGroups`). */
  readonly wide: boolean;
  minDarkness: number;
  readonly members: number[];
}

/** Index in GLYPH_TIERS of the rare tier: thousands of glyphs, loaded only for a line the others cannot explain. */
export const RARE_TIER = GLYPH_TIERS.indexOf('rest');

/** Columns of each glyph entered in the hash index. */
const HASHED_COLUMNS = 4;
/** Gray level below which a pixel counts as dark for the noise-tolerant look-up (byInk). */
export const INK_LEVEL = 128;

export class PhaseIndex {
  readonly byHash = new Map<number, IndexedGlyph[]>();
  /** The same columns by which band rows are dark (below INK_LEVEL): a look-up that noise of a few levels does not break. */
  readonly byInk = new Map<number, IndexedGlyph[]>();
  readonly byLeft = new Map<number, IndexedGlyph[]>();
  /** Every indexed glyph, in loading order. */
  readonly all: IndexedGlyph[] = [];
  /**
   * Two inked pixels of each glyph in `all` (its darkest, and the darkest at least 3 px from
   * that), as offsets from the pen's whole pixel and the baseline, and their darkness
   * (255 - gray): a quick test a glyph must pass to be where a page is light.
   */
  readonly probes: number[] = [];
  /**
   * Glyphs (indices into `all`) by the offset of their first probe, so one look-up at a pen
   * position clears a whole group: full-width glyphs (an advance of at least 0.9 em, CJK) apart
   * from the rest, since a reader may find those another way.
   */
  readonly probeGroups: ProbeGroup[] = [];
  readonly wideGroups: ProbeGroup[] = [];
  /** Indices into `all` of the glyphs narrower than full width (those in `probeGroups`). */
  readonly narrow: number[] = [];
  /** Where each tier loaded so far starts in `all`: glyphs of earlier tiers are the commoner characters. */
  readonly tierStarts: number[] = [];

  /** Where the rare tier starts in `all` (every glyph before it is common or CJK); `all.length` while it is not loaded. */
  rareStart(): number {
    return this.tierStarts[RARE_TIER] ?? this.all.length;
  }

  /** The tier (0 = the common set) glyph `i` of `all` was loaded with. */
  tierOf(i: number): number {
    let t = 0;
    while (t + 1 < this.tierStarts.length && this.tierStarts[t + 1]! <= i) t++;
    return t;
  }
  private readonly groupByOffset = new Map<number, ProbeGroup>();
  private readonly shapes = new Map<number, IndexedGlyph[]>();
  /** Per tier, the leftmost ink column of its glyphs relative to their origin's whole pixel (minLeftOf). */
  private readonly tierMinLeft: number[] = [];

  /** The leftmost ink column of any glyph of the first `tiers` tiers (0 or less): a line searched with those alone can take columns as final sooner. */
  minLeftOf(tiers: number): number {
    let min = 0;
    for (let t = 0; t < Math.min(tiers, this.tierMinLeft.length); t++) min = Math.min(min, this.tierMinLeft[t] ?? 0);
    return min;
  }

  /** `bandTop`..`bandBottom`: the line's own rows relative to the baseline. */
  constructor(
    readonly bandTop: number,
    readonly bandBottom: number,
    readonly fontSize: number,
  ) {}

  add(glyph: IndexedGlyph): void {
    const m = glyph.mask;
    if (m.width === 0) return;
    // A glyph drawn exactly like one loaded before it (a Cyrillic or Greek letter sharing a Latin
    // outline) can never be told from it on any page: the one loaded first (the commoner) reads it.
    const shape = shapeKey(glyph);
    const twins = this.shapes.get(shape);
    if (twins?.some((g) => sameShape(g, glyph))) return;
    if (twins) twins.push(glyph);
    else this.shapes.set(shape, [glyph]);
    const probe = probePixels(m);
    const wide = glyph.advance >= this.fontSize * 0.9;
    const key = ((probe[0]! + 1024) * 4096 + probe[1]! + 1024) * 2 + (wide ? 1 : 0);
    let group = this.groupByOffset.get(key);
    if (!group) {
      group = { dx: probe[0]!, dy: probe[1]!, wide, minDarkness: probe[2]!, members: [] };
      this.groupByOffset.set(key, group);
      (wide ? this.wideGroups : this.probeGroups).push(group);
    }
    group.members.push(this.all.length);
    if (!wide) this.narrow.push(this.all.length);
    if (probe[2]! < group.minDarkness) group.minDarkness = probe[2]!;
    this.all.push(glyph);
    this.probes.push(...probe);
    push(this.byLeft, m.left, glyph);
    if (m.left < (this.tierMinLeft[glyph.tier] ?? 0)) this.tierMinLeft[glyph.tier] = m.left;
    for (let k = 0; k < Math.min(HASHED_COLUMNS, m.width); k++) {
      push(this.byHash, this.maskColumnHash(m, k), glyph);
      push(this.byInk, this.maskInkHash(m, k), glyph);
    }
  }

  /** Hash of which band rows of column `k` of `m` are darker than INK_LEVEL, as line-reader.ts hashes a noisy page column. */
  maskInkHash(m: GlyphMask, k: number): number {
    let h = columnSeed(m.left + k);
    const from = Math.max(this.bandTop, m.top);
    const to = Math.min(this.bandBottom, m.top + m.height);
    for (let t = from; t < to; t++) if (m.gray[(t - m.top) * m.width + k]! < INK_LEVEL) h = mix(h, t, 0);
    return h;
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

/** A hash of what a glyph draws and how far it moves the pen. */
function shapeKey(g: IndexedGlyph): number {
  const m = g.mask;
  let h = Math.imul((m.left + 64) * 256 + m.top + 128, 0x9e3779b1) ^ Math.round(g.advance * 4096);
  h = Math.imul(h ^ (m.width * 256 + m.height), 0x01000193);
  for (let i = 0; i < m.gray.length; i++) h = Math.imul(h ^ m.gray[i]!, 0x01000193);
  return h >>> 0;
}

function sameShape(a: IndexedGlyph, b: IndexedGlyph): boolean {
  const x = a.mask;
  const y = b.mask;
  if (a.advance !== b.advance || x.left !== y.left || x.top !== y.top || x.width !== y.width || x.height !== y.height) return false;
  for (let i = 0; i < x.gray.length; i++) if (x.gray[i] !== y.gray[i]) return false;
  return true;
}

/** [dx, dy, darkness] of two inked pixels of `m` (see PhaseIndex.probes). */
function probePixels(m: GlyphMask): number[] {
  let first = 0;
  for (let i = 1; i < m.gray.length; i++) if (m.gray[i]! < m.gray[first]!) first = i;
  const fx = first % m.width;
  const fy = (first - fx) / m.width;
  let second = first;
  for (let i = 0; i < m.gray.length; i++) {
    const x = i % m.width;
    const y = (i - x) / m.width;
    if (Math.max(Math.abs(x - fx), Math.abs(y - fy)) >= 3 && (second === first || m.gray[i]! < m.gray[second]!)) second = i;
  }
  const sx = second % m.width;
  const sy = (second - sx) / m.width;
  return [m.left + fx, m.top + fy, 255 - m.gray[first]!, m.left + sx, m.top + sy, 255 - m.gray[second]!];
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
    this.phases = [0, 1, 2, 3].map(() => new PhaseIndex(bandTop, bandBottom, fontSize));
    this.load('common');
  }

  /** How many tiers are loaded (they load in GLYPH_TIERS order). */
  get tiersLoaded(): number {
    return this.loaded.size;
  }

  /** Whether the rare tier is loaded. */
  get rareLoaded(): boolean {
    return this.loaded.has(GLYPH_TIERS[RARE_TIER]!);
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
    // Large tiers (thousands of CJK glyphs, seconds of drawing) come from the disk cache when they can.
    const cacheFiles = new Map<string, string | undefined>();
    if (tier !== 'common') {
      for (const [role, list] of byRole) {
        const font = this.fonts.fonts[role as CandidateChar['role']];
        const file = maskCacheFile(font.path, font.family, fontSize, list.map((c) => c.ch));
        const cached = readMaskCache(file, list.map((c) => c.ch));
        const face = atlas.face(role as CandidateChar['role'], fontSize);
        if (cached) list.forEach((c, i) => atlas.seed(face, c.ch, cached[i]!));
        else cacheFiles.set(role, file);
      }
    }
    const tierIndex = GLYPH_TIERS.indexOf(tier);
    for (let phase = 0; phase < 4; phase++) {
      const index = this.phases[phase]!;
      index.tierStarts.push(index.all.length);
      for (const [role, list] of byRole) {
        const face = atlas.face(role as CandidateChar['role'], fontSize);
        for (const c of list) {
          const advance = (this.fonts.fonts[c.role].metrics.advance(c.ch.codePointAt(0)!) ?? 0.5) * fontSize;
          index.add({ ch: c.ch, advance, mask: atlas.mask(face, c.role, c.ch, fontSize, phase), tier: tierIndex });
        }
      }
    }
    for (const [role, file] of cacheFiles) {
      const face = atlas.face(role as CandidateChar['role'], fontSize);
      writeMaskCache(file, byRole.get(role)!.map((c) => [0, 1, 2, 3].map((p) => atlas.mask(face, c.role, c.ch, fontSize, p))));
    }
  }
}
