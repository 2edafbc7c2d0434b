/**
 * The characters a page line can show, in the order the glyph reader loads them: the common
 * set first (ASCII, Latin-1, common punctuation and symbols), then the CJK face, then every
 * other glyph the shipped fonts draw. A reader loads the next set only for a line the sets it
 * has cannot explain, so an English page never pays for seven thousand ideographs.
 */
import { loadFontSet, type FontRole } from '../../../renderers/fonts.js';
import { escapeUnreadable } from '../../../renderers/text-layout.js';

export type BaseFont = 'sans' | 'mono';

export interface CandidateChar {
  readonly ch: string;
  /** The face that draws it on a line of the base font. */
  readonly role: FontRole;
  /** Advance in em. */
  readonly advanceEm: number;
}

/** Tiers in loading order. */
export const GLYPH_TIERS = ['common', 'cjk', 'rest'] as const;
export type GlyphTier = (typeof GLYPH_TIERS)[number];

const COMMON_EXTRA = '€£¥¢°©®™§¶·×÷±−…–—‘’‚“”„«»‹›¿¡•†‡‰′″→←↑↓↔⇒≤≥≠≈∞√∑∏∫∂µπΩαβγδεθλσφω✓✔✗✘★☆■□▪▫●○◆◇';
const CJK_COMMON_PUNCTUATION = '，。、；：？！（）《》〈〉「」『』【】“”‘’…—～·';

const cache = new Map<string, readonly CandidateChar[]>();

/** The characters of `tier` on a line whose base font is `base`, each in one tier only. */
export function tierChars(base: BaseFont, tier: GlyphTier): readonly CandidateChar[] {
  const key = `${base}|${tier}`;
  let chars = cache.get(key);
  if (!chars) cache.set(key, (chars = buildTier(base, tier)));
  return chars;
}

const COMMON = new Set<number>([
  ...range(0x21, 0x7e),
  ...range(0xa1, 0xff),
  ...[...COMMON_EXTRA, ...CJK_COMMON_PUNCTUATION].map((c) => c.codePointAt(0)!),
]);

const NOT_A_GLYPH = /[\p{M}\p{Zs}\p{Cf}\p{Cc}]/u;

function buildTier(base: BaseFont, tier: GlyphTier): readonly CandidateChar[] {
  const fonts = loadFontSet();
  const out: CandidateChar[] = [];
  const cps = tier === 'common' ? [...COMMON].sort((a, b) => a - b) : range(0x21, 0x3ffff);
  for (const cp of cps) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const role = fonts.fontFor(cp, base);
    if (role === undefined) continue;
    const inTier = tier === 'common' ? true : !COMMON.has(cp) && (tier === 'cjk') === (role === 'cjk');
    if (!inTier) continue;
    const advanceEm = fonts.fonts[role].metrics.advance(cp) ?? 0.5;
    const ch = String.fromCodePoint(cp);
    // Zero-width marks draw over their neighbour and spaces draw nothing: neither is matched as a glyph.
    if (!(advanceEm > 0) || NOT_A_GLYPH.test(ch) || escapeUnreadable(ch, fonts) !== ch) continue;
    out.push({ ch, role, advanceEm });
  }
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
