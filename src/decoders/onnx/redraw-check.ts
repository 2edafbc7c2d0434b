/**
 * Checks a line's reading by drawing it again. opticmem draws its own pages with shipped fonts
 * at known sizes, whole-pixel line starts, and no kerning or ligatures, so the right text
 * redrawn at the line's box gives back the line's pixels exactly, and a wrong character shows
 * where it is: the redrawn line stops matching at its first column. Edits are searched left to
 * right, each kept only when it lets the match run further, so everything the check changes is
 * proven by the pixels; what it cannot explain stays as the model read it.
 *
 * Readings are painted from the renderer's glyph atlas, exactly as the page was, so thousands
 * of candidate readings cost milliseconds.
 */
import type { LineBox } from '../../../renderers/page.js';
import { baselineOffset } from '../../../renderers/page-renderer.js';
import { isWideCodePoint, loadFontSet, registerShippedFonts, type FontRole, type FontSet } from '../../../renderers/fonts.js';
import { blendGlyph, glyphCell, loadGlyphAtlas, type GlyphAtlas, type GlyphFace, type GraySurface } from '../../../renderers/glyph-atlas.js';
import { glyphOf } from '../../../renderers/text-layout.js';
import { loadCanvas } from '../../internal/lazy.js';
import type { GrayImage } from './gray-image.js';

/** Characters the model confuses with each other on rendered text; each may stand for any other in its group. */
const CONFUSABLE_GROUPS: readonly string[] = [
  "`'‘’´′^\"“”″,",
  '_ -—–－.',
  'lI1|i!jL',
  'oO0QDCceθΘ',
  '.·,:;。',
  ':;：；iI!',
  '(（[{<Cc',
  ')）]}>',
  '-－—–_~=',
  '*※×x+',
  '5Ss$',
  '2Zz',
  '8B&',
  '6bG',
  '9gq',
  'uvnUVy',
  'wW',
  'hbn',
  'rtf',
  ',，',
  '!！',
  '?？',
  '%％',
  '/／\\',
  '#＃',
];

/** Characters a model drops on rendered chat and code text, tried where a redrawn line stops matching. */
const INSERTABLE = " _`'\".,-:;()[]{}*!|lIi1/\\0<>%=+#";

/** Everything a chat page commonly draws: printable ASCII, Latin-1 letters, common symbols, CJK punctuation. */
const ALPHABET: readonly string[] = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  ...'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ',
  ...'€£¥¢°©®™§¶·×÷±…–—‘’“”«»¿¡',
  ...'，。、；：？！（）《》「」【】“”…—',
];

/** What an ideograph's misreading is tried against beyond the model's runner-ups. */
const PUNCTUATION: readonly string[] = [...new Set(ALPHABET.filter((ch) => !/[\p{L}\p{N}]/u.test(ch)))];

/** A column is wrong once its summed gray difference passes this (exact redraws give 0). */
const COLUMN_TOLERANCE = 24;
const MAX_EDITS = 24;
/** Candidate readings scored per line before the search settles for what it has. */
const MAX_CANDIDATES = 30000;
const BEAM = 3;
/** Edits scored cheaply that go on to a full redraw, per reading in the beam. */
const VERIFIED_PER_STATE = 6;
/** Characters drawn past an edit when scoring it cheaply. */
const LOOKAHEAD = 6;
/** A reading explained only in part keeps its edits when they are at most this share of the explained characters (plus one). */
const PARTIAL_EDIT_SHARE = 0.25;

const alternatives: Map<string, string[]> = (() => {
  const map = new Map<string, Set<string>>();
  for (const group of CONFUSABLE_GROUPS) {
    const chars = [...group];
    for (const c of chars) {
      const set = map.get(c) ?? new Set<string>();
      for (const o of chars) if (o !== c) set.add(o);
      map.set(c, set);
    }
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]));
})();

function alternativesFor(ch: string): string[] {
  const out = new Set(alternatives.get(ch) ?? []);
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower !== ch) out.add(lower);
  if (upper !== ch) out.add(upper);
  const cp = ch.codePointAt(0)!;
  // Full-width ASCII forms and their ASCII twins look alike to the model, not on the page.
  if (cp >= 0xff01 && cp <= 0xff5e) out.add(String.fromCodePoint(cp - 0xfee0));
  if (cp >= 0x21 && cp <= 0x7e) out.add(String.fromCodePoint(cp + 0xfee0));
  out.delete(ch);
  return [...out];
}

export interface RedrawNeighbour {
  readonly box: LineBox;
  /** Its reading (corrected or not): only where its glyphs reach into the checked line does it matter. */
  readonly text: string;
}

export interface RedrawResult {
  readonly text: string;
  /** The text redraws to every pixel of the line. */
  readonly exact: boolean;
}

export interface RedrawChecker {
  /**
   * The reading of `box` that redraws to the page's pixels, starting from the model's `text`.
   * `lineHeight` is the page's; the box must be at the page's drawn scale. `neighbours` are the
   * lines just above and below, whose descenders and accents may reach into this line's box.
   */
  check(page: GrayImage, box: LineBox, lineHeight: number, text: string, neighbours?: readonly RedrawNeighbour[], alternatives?: readonly (readonly string[])[]): RedrawResult;
}

interface Verdict {
  /** First column (relative to the compared window) that does not match; Infinity when all match. */
  readonly firstBad: number;
  readonly total: number;
  /** How far the reading's laid-out width is from the box's, px: the right reading fills the box exactly. */
  readonly widthError: number;
  /** Every compared column matched. */
  readonly spanMatched: boolean;
}

/** Load the canvas and the shipped fonts once; the checker itself is synchronous. */
export async function createRedrawChecker(): Promise<RedrawChecker> {
  await registerShippedFonts();
  const fonts = loadFontSet();
  const masks = await loadGlyphAtlas(loadCanvas, fonts);
  return {
    check(page, box, lineHeight, text, neighbours = [], alternatives = []) {
      if (text.length === 0 || !(box.fontSize > 0) || !Number.isInteger(box.x) || box.height !== lineHeight) return { text, exact: false };
      return new LineCheck(page, box, lineHeight, fonts, masks, neighbours).search(text, alternatives);
    },
  };
}

class LineCheck {
  /** Compared window: from a little left of the box to a little right of it, over the rows its glyphs can reach. */
  private readonly x0: number;
  private readonly y0: number;
  private readonly width: number;
  private readonly height: number;
  private readonly target: Uint8Array;
  /** Pixels a neighbouring line's glyphs cover: there, only ink the redraw adds counts. */
  private readonly neighbourInk: Uint8Array;
  /** Baseline row in the window. */
  private readonly baseline: number;
  private readonly cache = new Map<string, Verdict>();
  private readonly baseFont: 'sans' | 'mono';
  /** The box was cut at the page's right edge, so its width says nothing about the text's. */
  private readonly clipped: boolean;
  /** Scratch surface for painted readings. */
  private readonly ink: GraySurface;
  private readonly glyphs = new Map<string, Glyph>();
  /** The model's runner-ups for each character of its reading. */
  private modelAlternatives: readonly (readonly string[])[] = [];
  /** Candidates scored so far (bounded by MAX_CANDIDATES). */
  private scored = 0;

  constructor(
    page: GrayImage,
    private readonly box: LineBox,
    lineHeight: number,
    private readonly fonts: FontSet,
    private readonly masks: GlyphAtlas,
    neighbours: readonly RedrawNeighbour[],
  ) {
    this.baseFont = box.font === 'mono' ? 'mono' : 'sans';
    this.clipped = box.x + box.width >= page.width - 1;
    const pad = Math.ceil(box.fontSize);
    this.x0 = box.x - pad;
    this.width = Math.ceil(box.width) + 2 * pad;
    // Rows from the font's ascent to its descent, which on tight lines reach past the box:
    // an underscore may sit wholly below it.
    const sans = fonts.fonts.sans.metrics;
    const inBox = baselineOffset(box.fontSize, lineHeight, fonts);
    const top = Math.min(0, Math.floor(inBox - (sans.ascender / sans.unitsPerEm) * box.fontSize));
    const bottom = Math.max(lineHeight, Math.ceil(inBox + (-sans.descender / sans.unitsPerEm) * box.fontSize) + 1);
    this.y0 = box.y + top;
    this.height = bottom - top;
    this.baseline = inBox - top;
    this.ink = { width: this.width, height: this.height, data: new Uint8Array(this.width * this.height) };
    this.target = new Uint8Array(this.width * this.height).fill(255);
    for (let y = 0; y < this.height; y++) {
      const py = this.y0 + y;
      if (py < 0 || py >= page.height) continue;
      for (let x = 0; x < this.width; x++) {
        const px = this.x0 + x;
        if (px >= 0 && px < page.width) this.target[y * this.width + x] = page.data[py * page.width + px]!;
      }
    }
    this.neighbourInk = new Uint8Array(this.width * this.height);
    for (const n of neighbours) {
      if (n.text.length === 0) continue;
      const chars = [...n.text];
      const base = n.box.font === 'mono' ? 'mono' : 'sans';
      const x = prefixPositions(chars, base, n.box.fontSize, this.fonts, n.box.x - this.x0);
      this.composite(chars, x, base, n.box.fontSize, n.box.y - this.y0 + baselineOffset(n.box.fontSize, lineHeight, fonts), 0, this.width);
      // Grown by a pixel: the neighbour's own reading may be a little off.
      for (let y = 0; y < this.height; y++) {
        for (let xx = 0; xx < this.width; xx++) {
          if (this.ink.data[y * this.width + xx]! === 255) continue;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy;
              const xd = xx + dx;
              if (yy >= 0 && yy < this.height && xd >= 0 && xd < this.width) this.neighbourInk[yy * this.width + xd] = 1;
            }
          }
        }
      }
    }
  }

  /** Paint `chars` (starting at window columns `x`) onto the scratch surface over columns from..to. */
  private composite(chars: readonly string[], x: readonly number[], baseFont: 'sans' | 'mono', fontSize: number, baselineRow: number, from: number, to: number): void {
    const w = this.width;
    for (let y = 0; y < this.height; y++) this.ink.data.fill(255, y * w + from, y * w + to);
    for (let i = 0; i < chars.length; i++) {
      const origin = x[i]!;
      if (origin > to + fontSize) break;
      if (x[i + 1]! + fontSize < from) continue;
      const { whole, phase } = glyphCell(origin);
      const glyph = this.glyph(chars[i]!, baseFont, fontSize);
      blendGlyph(this.ink, this.masks.mask(glyph.face, glyph.role, chars[i]!, fontSize, phase), whole, baselineRow, from, to);
    }
  }

  search(text: string, alternatives: readonly (readonly string[])[]): RedrawResult {
    const start = [...text];
    this.modelAlternatives = alternatives;
    let beam: State[] = [this.state(start, this.verdict(start), undefined, undefined, start.map((_, i) => i))];
    let best = beam[0]!;
    for (let edits = 0; edits < MAX_EDITS && best.verdict.firstBad !== Infinity; edits++) {
      const next = new Map<string, State>();
      beam.forEach((state, rank) => {
        const at = this.charAt(state, state.verdict.firstBad);
        const grow = (pool: Iterable<Edit>): boolean => {
          // Cheap first: each edit is scored only around where it changes the line.
          const scored: { edit: Edit; local: Verdict }[] = [];
          for (const edit of pool) {
            if (++this.scored > MAX_CANDIDATES) break;
            const key = edit.chars.join('');
            if (!next.has(key)) scored.push({ edit, local: this.localVerdict(edit, Math.min(edit.at, at), state) });
          }
          scored.sort((a, b) => compare(b.local, a.local));
          let explained = false;
          for (const { edit, local } of scored.slice(0, VERIFIED_PER_STATE)) {
            const verdict = this.verdict(edit.chars, { x: state.x, upTo: edit.at });
            if (verdict.firstBad > state.verdict.firstBad) {
              next.set(edit.chars.join(''), this.state(edit.chars, verdict, state, edit, edit.origin));
              // Every column scored around the edit matches, not just a pixel more of the line.
              if (local.spanMatched) explained = true;
            }
          }
          return explained;
        };
        // Any character at all only for the leading reading, and only when no look-alike explains the pixels.
        if (!grow(this.likelyEdits(state, at)) && rank === 0) grow(this.anyEdits(state, at));
      });
      if (next.size === 0) break;
      // A few readings go forward: an edit that matches a little further is not always the right one.
      beam = [...next.values()].sort((a, b) => compare(b.verdict, a.verdict)).slice(0, BEAM);
      if (compare(beam[0]!.verdict, best.verdict) > 0) best = beam[0]!;
      // Past this many edits for what they explain, the reading could only be kept in part.
      const lead = beam[0]!;
      if (lead.edits > 2 + this.charAt(lead, lead.verdict.firstBad) * PARTIAL_EDIT_SHARE) break;
    }
    if (best.verdict.firstBad === Infinity) return { text: best.chars.join('').trim(), exact: true };
    // Partly explained: an edit is proven only when the pixels go on matching well past it, and
    // the edits must be few for the stretch they explain, so a reading that is wrong throughout
    // is not re-spelt glyph by glyph.
    for (let s: State | undefined = best; s; s = s.parent) {
      if (s.edits === 0) break;
      const proven = s.verdict.firstBad >= s.lastEditEnd + this.box.fontSize;
      if (proven && s.edits <= 1 + this.charAt(s, s.verdict.firstBad) * PARTIAL_EDIT_SHARE) return { text: s.chars.join('').trim(), exact: false };
    }
    return { text, exact: false };
  }

  private state(chars: string[], verdict: Verdict, parent: State | undefined, edit: Edit | undefined, origin: number[]): State {
    const x = this.positions(chars, parent && edit ? { x: parent.x, upTo: edit.at } : undefined);
    const lastEditEnd = edit ? x[Math.min(edit.at + 1, chars.length)]! : -Infinity;
    return { chars, verdict, edits: parent ? parent.edits + 1 : 0, x, lastEditEnd, origin, ...(parent ? { parent } : {}) };
  }

  /** `state`'s reading with `remove` characters at `at` replaced by `insert`. */
  private edit(state: State, at: number, remove: number, insert: readonly string[]): Edit {
    return {
      chars: [...state.chars.slice(0, at), ...insert, ...state.chars.slice(at + remove)],
      origin: [...state.origin.slice(0, at), ...insert.map(() => -1), ...state.origin.slice(at + remove)],
      at,
    };
  }

  private positions(chars: readonly string[], reuse?: { x: readonly number[]; upTo: number }): number[] {
    const x = new Array<number>(chars.length + 1);
    // Characters before an edit sit where they sat in the reading it came from.
    let i = 0;
    if (reuse) for (; i <= reuse.upTo && i < chars.length; i++) x[i] = reuse.x[i]!;
    let at = i === 0 ? this.box.x - this.x0 : x[i - 1]! + this.glyph(chars[i - 1]!, this.baseFont, this.box.fontSize).advance;
    for (; i < chars.length; i++) {
      x[i] = at;
      at += this.glyph(chars[i]!, this.baseFont, this.box.fontSize).advance;
    }
    x[chars.length] = at;
    return x;
  }

  /** Face, advance and masks of a character on this line (or a neighbour's), looked up once. */
  private glyph(ch: string, baseFont: 'sans' | 'mono', fontSize: number): Glyph {
    const cache = baseFont === this.baseFont && fontSize === this.box.fontSize ? this.glyphs : undefined;
    const hit = cache?.get(ch);
    if (hit) return hit;
    const { role, advance } = glyphOf(ch, baseFont, fontSize, this.fonts);
    const glyph = { role, advance, face: this.masks.face(role, fontSize) };
    cache?.set(ch, glyph);
    return glyph;
  }

  /** Index of the character drawn over window column `column`. */
  private charAt(state: State, column: number): number {
    for (let i = 0; i < state.chars.length; i++) if (column < state.x[i + 1]!) return i;
    return state.chars.length;
  }

  /**
   * Single edits near `at`: substitutions by the model's own runner-ups and by look-alikes,
   * insertions of often-dropped characters, deletions, truncations.
   */
  private *likelyEdits(state: State, at: number): Generator<Edit> {
    const { chars } = state;
    for (let i = Math.max(0, at - 2); i <= Math.min(chars.length, at + 1); i++) {
      if (i < chars.length) {
        const own = state.origin[i]! >= 0 ? (this.modelAlternatives[state.origin[i]!] ?? []) : [];
        for (const alt of new Set([...own, ...alternativesFor(chars[i]!)])) if (alt !== chars[i]) yield this.edit(state, i, 1, [alt]);
        yield this.edit(state, i, 1, []);
      }
      for (const ins of INSERTABLE) yield this.edit(state, i, 0, [ins]);
    }
    // Ink past the box's end is not this line's: the model read on into the margin.
    for (let i = Math.max(1, at - 1); i < chars.length; i++) yield this.edit(state, i, chars.length - i, []);
  }

  /** When no likely edit explains the pixels: any drawable character, substituted or inserted around `at`. */
  private *anyEdits(state: State, at: number): Generator<Edit> {
    const { chars } = state;
    // Among ideographs the model's runner-ups are the candidates (tried already); only
    // punctuation is worth trying beyond them.
    const wide = at < chars.length && isWideCodePoint(chars[at]!.codePointAt(0)!);
    // The first wrong column may fall in the last pixel of the character before (antialiasing).
    for (let i = Math.max(0, at - 1); i <= Math.min(chars.length, at + 1); i++) {
      for (const ch of wide ? PUNCTUATION : ALPHABET) {
        if (i < chars.length && ch !== chars[i]) yield this.edit(state, i, 1, [ch]);
        yield this.edit(state, i, 0, [ch]);
        // A symbol is often dropped together with the space beside it ("a < b" read "a b").
        if (ch !== ' ') {
          yield this.edit(state, i, 0, [' ', ch]);
          yield this.edit(state, i, 0, [ch, ' ']);
        }
      }
    }
  }

  /**
   * The verdict over a few characters around an edit, from two characters before the first one
   * that may differ (`since`: the edit, or the parent reading's first wrong character, which an
   * edit further right leaves in place) to LOOKAHEAD after the edit. Everything left of both
   * and of the parent reading's first wrong column matches already.
   */
  private localVerdict(edit: Edit, since: number, parent: State): Verdict {
    const parentBad = parent.verdict.firstBad;
    const x = this.positions(edit.chars, { x: parent.x, upTo: edit.at });
    const n = edit.chars.length;
    const last = Math.min(n, edit.at + LOOKAHEAD);
    const from = Math.max(0, Math.min(Math.floor(x[Math.max(0, since - 1)]!), parentBad) - 1);
    // Short of the next character, whose ink may reach back a pixel; to the end when none is left.
    const to = Math.min(this.width, last < n ? Math.max(from + 1, Math.floor(x[last]!) - 1) : this.width);
    if (to <= from) return { firstBad: from, total: Infinity, widthError: Infinity, spanMatched: false };
    this.composite(edit.chars, x, this.baseFont, this.box.fontSize, this.baseline, from, to);
    return this.compareColumns(from, to, this.widthError(x[n]! - x[0]!), last < n);
  }

  private verdict(chars: readonly string[], reuse?: { x: readonly number[]; upTo: number }): Verdict {
    const key = chars.join('');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const x = this.positions(chars, reuse);
    this.composite(chars, x, this.baseFont, this.box.fontSize, this.baseline, 0, this.width);
    const textWidth = x[chars.length]! - x[0]!;
    let verdict = this.compareColumns(0, this.width, this.widthError(textWidth), false);
    // The box is as wide as the laid-out text: a reading of another width is wrong where it
    // ends, even if what it draws past the window cannot be compared.
    if (!this.clipped && Math.ceil(textWidth) + 1 !== this.box.width) {
      verdict = { ...verdict, firstBad: Math.min(verdict.firstBad, this.box.x - this.x0 + Math.min(this.box.width, Math.ceil(textWidth) + 1)), spanMatched: false };
    }
    this.cache.set(key, verdict);
    return verdict;
  }

  private widthError(textWidth: number): number {
    return this.clipped ? 0 : Math.abs(textWidth - (this.box.width - 1));
  }

  /**
   * Compare the composited columns from..to with the page. A span that matches to its end
   * reports firstBad = `to` when more of the line follows unscored (`open`), Infinity otherwise.
   */
  private compareColumns(from: number, to: number, widthError: number, open: boolean): Verdict {
    let firstBad = Infinity;
    let total = 0;
    for (let x = from; x < to && x <= firstBad + 2 * this.box.fontSize; x++) {
      let column = 0;
      for (let y = 0; y < this.height; y++) {
        const at = y * this.width + x;
        const d = this.target[at]! - this.ink.data[at]!;
        // Under a neighbour's glyphs the page holds ink (d < 0) that no reading of this line explains.
        column += this.neighbourInk[at] ? Math.max(0, d) : Math.abs(d);
      }
      total += column;
      if (column > COLUMN_TOLERANCE && firstBad === Infinity) firstBad = x;
    }
    return { firstBad: firstBad === Infinity && open ? to : firstBad, total, widthError, spanMatched: firstBad === Infinity };
  }
}

/** Window column where each character starts, then where the last ends: the layout's sums of advances, in its order. */
function prefixPositions(chars: readonly string[], baseFont: 'sans' | 'mono', fontSize: number, fonts: FontSet, origin: number): number[] {
  const x = new Array<number>(chars.length + 1);
  let dx = 0;
  for (let i = 0; i < chars.length; i++) {
    x[i] = origin + dx;
    dx += glyphOf(chars[i]!, baseFont, fontSize, fonts).advance;
  }
  x[chars.length] = origin + dx;
  return x;
}

interface Glyph {
  readonly role: FontRole;
  readonly advance: number;
  readonly face: GlyphFace;
}

interface Edit {
  readonly chars: string[];
  /** Index in the model's reading of each character, -1 for inserted ones. */
  readonly origin: number[];
  /** Index where the edit changed the line. */
  readonly at: number;
}

interface State {
  readonly chars: string[];
  readonly verdict: Verdict;
  /** Edits made to the model's reading to get here. */
  readonly edits: number;
  /** Window column where each character starts, then where the last one ends. */
  readonly x: number[];
  /** Window column where the character of the latest edit ends. */
  readonly lastEditEnd: number;
  /** Index in the model's reading of each character, -1 for inserted ones. */
  readonly origin: number[];
  readonly parent?: State;
}

/** Positive when `a` is the better verdict: it matches further, then fits the box, then differs less. */
function compare(a: Verdict, b: Verdict): number {
  if (a.firstBad !== b.firstBad) return a.firstBad > b.firstBad ? 1 : -1;
  if (Math.abs(a.widthError - b.widthError) > 0.5) return a.widthError < b.widthError ? 1 : -1;
  return b.total - a.total;
}
