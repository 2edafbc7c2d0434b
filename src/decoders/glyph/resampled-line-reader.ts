/**
 * Reads one line of a page that ageing shrank after drawing. The shrink is `resize` from
 * gray-image.ts (a separable triangle filter, Float32 sums, rounded to 8 bits), so an aged page
 * is still a known function of its text: draw the text at the drawn size, then resample. This
 * reader searches for the text as line-reader.ts does, but paints candidate glyphs onto the
 * drawn-size page and compares through the same arithmetic as the resampler, so every stored
 * pixel is reproduced exactly for the right reading.
 *
 * A stored column is final once every drawn column it averages is final (no later glyph can
 * reach it): then it must agree within `tolerance` in the rows of the line's own band and not
 * be darker than the page elsewhere. Columns a candidate reaches beyond that only have to be
 * no darker than the page, since later glyphs can only add ink. Candidates at each position are
 * tried best first (the least ink left unexplained, estimated from their resampled images). Once
 * a reading explains the line, second-reading.ts looks for another that gives the same stored
 * pixels: what forgetting means for this reader, and the line's confidence says so.
 */
import { blendGlyph, glyphCell, type GraySurface } from '../../../renderers/glyph-atlas.js';
import { ResampledStrip, type StripPage } from './resampled-strip.js';
import { RARE_TIER, type IndexedGlyph, type PhaseIndex } from './glyph-index.js';
import type { CenterSignatures } from './resampled-signatures.js';
import { inkOrder, type AloneCell, type AloneGlyphs, type AloneImage, type StoredGroupsSource } from './resampled-glyphs.js';
import type { LineReading, LineTask } from './line-reader.js';
import { findSecondReading, LineSnapshot, type Placement, type Reading } from './second-reading.js';

/** How a drawn page became the stored one (`resize` to the content size, top left of the canvas), with the page's shared look-ups. */
export interface Resampling extends StripPage {
  /** Each glyph alone, resampled (shared by the page's lines). */
  readonly alone: AloneGlyphs;
  /** Most darkness each drawn pixel can have (darknessBound). */
  readonly bound: Float32Array;
}

/** A line as line-reader.ts takes it, its box at the drawn size, on a resampled page. */
export interface ResampledLineTask extends Omit<LineTask, 'page' | 'painted'> {
  readonly resampling: Resampling;
  /**
   * Find full-width glyphs by their centre pixels instead of trying them all (exact pages: the
   * look-up needs the page's values to be the resampler's own).
   */
  readonly signatures?: CenterSignatures;
  /** Leave out the rare tier's glyphs (tried only for a line the others cannot explain). */
  readonly excludeRare?: boolean;
}

export interface ResampledLineReading extends LineReading {
  /** Another reading found that gives the same stored pixels (the line is ambiguous at this size). */
  readonly ambiguous: boolean;
}

const COMPARES_PER_STEP = 50;
const NONE: readonly number[] = [];

const sources = new WeakMap<PhaseIndex, StoredGroupsSource>();

/**
 * A phase's narrow glyphs before the rare tier, as AloneCell.groups takes them: a few hundred,
 * grouped by their resampled images. The rare tier (thousands of glyphs, loaded only for a line
 * nothing else explains) keeps the drawn-space probes, which cost nothing to set up.
 */
function groupsSource(index: PhaseIndex): StoredGroupsSource {
  let source = sources.get(index);
  if (!source) {
    let cut = -1;
    let narrow: number[] = [];
    source = {
      get loaded() {
        return index.rareStart();
      },
      indices: () => {
        if (cut !== index.rareStart()) {
          cut = index.rareStart();
          narrow = index.narrow.filter((i) => i < cut);
        }
        return narrow;
      },
      mask: (i) => index.all[i]!.mask,
    };
    sources.set(index, source);
  }
  return source;
}

/** How common a fitting glyph's character is: printable ASCII, the rest of its tier, then later tiers. */
function rank(index: PhaseIndex, f: Fit): number {
  const code = f.g.ch.charCodeAt(0);
  return 2 * index.tierOf(f.i) + (code >= 0x20 && code < 0x7f ? 0 : 1);
}

/** A glyph that may fit at a position: its index in loading order, and the ink it would leave unexplained (estimated). */
interface Fit {
  readonly g: IndexedGlyph;
  readonly i: number;
  readonly score: number;
}

export function readResampledLine(task: ResampledLineTask): ResampledLineReading | undefined {
  return new ResampledSearch(task).run();
}

class ResampledSearch {
  private readonly d: GraySurface;
  private readonly s: ResampledStrip;
  private readonly minLeft: number;

  private readonly clipped: boolean;
  private outFinal: number;
  private readonly path: Placement[] = [];
  /** `known` as it stood at each search depth. */
  private readonly knowns: Int16Array[] = [];
  /** Pixels under a glyph being tried, one buffer per search depth. */
  private readonly saves: Uint8Array[] = [];
  private readonly found: Reading[] = [];
  /** At each depth of the search, the candidates there and which of them is being tried. */
  private readonly choices: { fits: Fit[]; at: number }[] = [];
  /** The rows the line's glyphs can reach, as they were before the line was searched. */
  private snapshot: LineSnapshot | undefined;
  private readonly limit: number;
  private steps = 0;
  private compares = 0;

  constructor(private readonly t: ResampledLineTask) {
    this.d = t.resampling.drawn;
    this.s = new ResampledStrip(t.resampling, t, t.y + t.baseline, t.index.fontSize, t.tolerance);
    this.outFinal = this.s.cLo;
    this.clipped = t.x + t.width >= this.d.width - 1;
    // Without the rare tier, its glyphs' left bearings do not hold back which columns are final.
    this.minLeft = Math.min(0, ...t.index.phases.map((p) => p.minLeftOf(t.excludeRare ? RARE_TIER : Infinity)));
    this.limit = t.budget;
  }

  run(): ResampledLineReading | undefined {
    if (!this.s.usable) return undefined;
    this.snapshot = new LineSnapshot(this.d, this.t.index, this.t.y + this.t.baseline);
    this.search(0);
    const first = this.found[0];
    if (!first) return undefined;
    return { text: first.text, glyphs: first.glyphs, ambiguous: this.found.length > 1 };
  }

  /** Depth first from `pen`; true once the search is done (a reading found, or the budget spent). The drawn page is left as found. */
  private search(pen: number): boolean {
    if (++this.steps > this.limit) return true;
    const { t } = this;
    const savedFinal = this.outFinal;
    if (!this.clipped) {
      const end = Math.ceil(pen) + 1;
      if (end > t.width) return false;
      if (end === t.width && pen > 0) return this.finish();
    }
    const next = this.s.firstUnexplained(this.outFinal);
    if (next < 0 && this.clipped && pen > 0 && this.finish()) return true;
    if (next >= 0) {
      const { whole, phase } = glyphCell(t.x + pen);
      const reach = t.resampling.h.first[next]! + t.resampling.h.count[next]!;
      const fits: Fit[] = [];
      const depth = this.path.length;
      let known = this.knowns[depth];
      if (!known) known = this.knowns[depth] = new Int16Array(this.s.known.length);
      known.set(this.s.known);
      const phaseIndex = t.index.phases[phase]!;
      const cell = t.resampling.alone.cell(phaseIndex, whole, t.y + t.baseline);
      const { all, probes, probeGroups, wideGroups } = phaseIndex;
      const { bound, drawn } = t.resampling;
      const baseRow = t.y + t.baseline;
      const shortlist = t.signatures ? this.wideShortlist(phaseIndex, whole) : undefined;
      // Narrow glyphs by where their resampled image is darkest, where the images are kept.
      const stored = cell.groups(groupsSource(phaseIndex));
      if (stored) {
        const { page } = t.resampling;
        const slack = t.tolerance + 1;
        for (const group of stored) {
          const floor = page.data[(cell.row + group.row) * page.width + cell.col + group.col]! - slack;
          const { members, darkest, secondCol, secondRow, second } = group;
          for (let k = 0; k < members.length && darkest[k]! >= floor; k++) {
            if (second[k]! < page.data[(cell.row + secondRow[k]!) * page.width + cell.col + secondCol[k]!]! - slack) continue;
            const i = members[k]!;
            const g = all[i]!;
            if (whole + g.mask.left >= reach) continue;
            if (++this.compares > COMPARES_PER_STEP * this.t.budget) return true;
            const img = cell.image(i, g.mask);
            if (!this.possible(img, cell, pen, g, next, known) || !this.underBound(g, whole)) continue;
            this.tryFit(g, i, img, cell, next, whole, fits);
          }
        }
      }
      // Where the grouped tiers were tried above, the probes serve the rest tier's narrow glyphs only (when loaded and wanted).
      const cutoff = t.excludeRare ? phaseIndex.rareStart() : all.length;
      const skipBelow = stored ? phaseIndex.rareStart() : 0;
      const rest = skipBelow < cutoff ? probeGroups : [];
      const probed = stored ? (shortlist ? rest : [...rest, ...wideGroups]) : shortlist ? probeGroups : [...probeGroups, ...wideGroups];
      for (const group of probed) {
        // Two pixels first, the first shared by the group: most glyphs put ink where the page is too light for it.
        const ay = baseRow + group.dy;
        const ax = whole + group.dx;
        if (ay < 0 || ay >= drawn.height || ax < 0 || ax >= drawn.width) continue;
        const limit = bound[ay * drawn.width + ax]!;
        if (group.minDarkness > limit) continue;
        for (const i of group.members) {
          if (i >= cutoff) break;
          if (i < skipBelow && !group.wide) continue;
          const p = 6 * i;
          if (probes[p + 2]! > limit) continue;
          const by = baseRow + probes[p + 4]!;
          const bx = whole + probes[p + 3]!;
          if (by < 0 || by >= drawn.height || bx < 0 || bx >= drawn.width || probes[p + 5]! > bound[by * drawn.width + bx]!) continue;
          const g = all[i]!;
          if (whole + g.mask.left >= reach) continue;
          if (++this.compares > COMPARES_PER_STEP * this.t.budget) return true;
          if (!this.underBound(g, whole)) continue;
          const img = cell.image(i, g.mask);
          if (!this.possible(img, cell, pen, g, next, known)) continue;
          this.tryFit(g, i, img, cell, next, whole, fits);
        }
      }
      for (const i of shortlist ?? []) {
        if (i >= cutoff) continue;
        const g = all[i]!;
        if (whole + g.mask.left >= reach) continue;
        if (++this.compares > COMPARES_PER_STEP * this.t.budget) return true;
        if (!this.underBound(g, whole)) continue;
        const img = cell.image(i, g.mask);
        if (!this.possible(img, cell, pen, g, next, known)) continue;
        this.tryFit(g, i, img, cell, next, whole, fits);
      }
      // Best first (the least unexplained ink under it), when there is a choice.
      // Commoner characters first (ASCII, then an earlier tier: a rarer glyph that shrinks to the
      // same pixels, like U+1D5C2 for 'i' or U+201A for ',', is read only where the common one
      // fails), then the least unexplained ink.
      if (fits.length > 1) fits.sort((a, b) => rank(phaseIndex, a) - rank(phaseIndex, b) || a.score - b.score || a.i - b.i);
      const choice = (this.choices[depth] = { fits, at: 0 });
      for (; choice.at < fits.length; choice.at++) {
        if (this.place(fits[choice.at]!.g, pen, whole)) return true;
        if (this.steps > this.limit) return true;
      }
    }
    // A space draws nothing: the columns it makes final must already agree.
    const after = pen + t.space;
    const ok = this.advance(glyphCell(t.x + after).whole + this.minLeft);
    let done = false;
    if (ok) {
      this.path.push({ glyph: undefined, pen });
      done = this.search(after);
      this.path.pop();
    }
    this.outFinal = savedFinal;
    return done;
  }

  /** The line ends here if the rest of it agrees: record the reading, look for a second one, and end the search (true). */
  private finish(): boolean {
    const savedFinal = this.outFinal;
    const ok = this.advance(Infinity);
    this.outFinal = savedFinal;
    if (!ok) return false;
    const text = this.path.map((p) => (p.glyph ? p.glyph.ch : ' ')).join('');
    this.found.push({ text, glyphs: this.path.slice() });
    const { t } = this;
    const second = findSecondReading({ path: this.path, choices: this.choices, snapshot: this.snapshot!, strip: this.s, h: t.resampling.h, x: t.x, space: t.space });
    if (second) this.found.push(second);
    return true;
  }

  /**
   * Add `g` (its image alone `img`, at `cell`) to `fits` with the stored ink it would leave
   * unexplained within an em, estimated without painting it: most candidates that pass the quick
   * tests are never tried, since the best one leads on.
   */
  private tryFit(g: IndexedGlyph, i: number, img: AloneImage, cell: AloneCell, next: number, whole: number, fits: Fit[]): void {
    const m = g.mask;
    if (whole + m.left < this.s.dx0 || whole + m.left + m.width > this.s.dx1) return;
    fits.push({ g, i, score: this.s.unexplainedWith(next, whole + Math.ceil(this.t.index.fontSize), img, img.col + cell.col, img.row + cell.row) });
  }

  /**
   * Paint `g` at `pen` and, if the page still agrees, continue the search from there: what that
   * returns (true once the search is done), or false. The drawn page and the final columns are restored.
   */
  private place(g: IndexedGlyph, pen: number, whole: number): boolean {
    const m = g.mask;
    const left = whole + m.left;
    const right = left + m.width;
    if (left < this.s.dx0 || right > this.s.dx1) return false;
    const top = this.t.y + this.t.baseline + m.top;
    const y0 = Math.max(0, top);
    const y1 = Math.min(this.d.height, top + m.height);
    const depth = this.path.length;
    const need = Math.max(0, (y1 - y0) * m.width);
    let saved = this.saves[depth];
    if (!saved || saved.length < need) saved = this.saves[depth] = new Uint8Array(Math.max(need, 256));
    const data = this.d.data;
    const stride = this.d.width;
    // Plain loops: a view per row would cost more than the few bytes it copies.
    for (let y = y0, k = 0; y < y1; y++) for (let x = y * stride + left, end = x + m.width; x < end; x++) saved[k++] = data[x]!;
    blendGlyph(this.d, m, whole, this.t.y + this.t.baseline);
    this.s.touch(left, right);
    const savedFinal = this.outFinal;
    const { h } = this.t.resampling;
    let ok = this.advance(glyphCell(this.t.x + pen + g.advance).whole + this.minLeft);
    // Columns the glyph reaches past the final ones: no darker than the page.
    for (let c = this.outFinal; ok && c < this.s.cHi && h.first[c]! < right; c++) ok = this.s.check(c, false);
    let result = false;
    if (ok) {
      this.path.push({ glyph: g, pen });
      result = this.search(pen + g.advance);
      this.path.pop();
    }
    this.outFinal = savedFinal;
    for (let y = y0, k = 0; y < y1; y++) for (let x = y * stride + left, end = x + m.width; x < end; x++) data[x] = saved[k++]!;
    this.s.touch(left, right);
    return result;
  }

  /** Make final every stored column whose drawn columns all lie left of `drawnFinal`, checking each: false if one disagrees. */
  private advance(drawnFinal: number): boolean {
    const { h } = this.t.resampling;
    while (this.outFinal < this.s.cHi && h.first[this.outFinal]! + h.count[this.outFinal]! <= drawnFinal) {
      if (!this.s.check(this.outFinal, true)) return false;
      this.outFinal++;
    }
    return true;
  }


  /** Full-width glyphs whose centre pixels match the page's at this pen cell (resampled-signatures.ts), or undefined to try them all. */
  private wideShortlist(phaseIndex: PhaseIndex, whole: number): readonly number[] | undefined {
    const { t } = this;
    // No full-width glyph loaded (a page with no CJK so far): nothing to look up.
    if (phaseIndex.wideGroups.length === 0) return NONE;
    const count = t.excludeRare ? phaseIndex.rareStart() : phaseIndex.all.length;
    return t.signatures!.shortlist(phaseIndex, phaseIndex.all, count, whole, t.y + t.baseline, t.index.fontSize, t.resampling.page);
  }

  /** The glyph's mask is nowhere darker than the drawn page can be there (darknessBound). */
  private underBound(g: IndexedGlyph, whole: number): boolean {
    const m = g.mask;
    const { bound, drawn } = this.t.resampling;
    const left = whole + m.left;
    const top = this.t.y + this.t.baseline + m.top;
    if (left < 0 || top < 0 || left + m.width > drawn.width || top + m.height > drawn.height) return false;
    const order = inkOrder(m);
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const y = (i / m.width) | 0;
      if (255 - m.gray[i]! > bound[(top + y) * drawn.width + left + i - y * m.width]!) return false;
    }
    return true;
  }

  /**
   * Quick necessary tests from the glyph's resampled image alone (`img`, placed by `cell`): nowhere darker than the page,
   * and, where column `next` becomes final with it, dark enough to explain that column's ink
   * with what is already painted (`known`). Blending adds darkness at most, so both are safe.
   */
  private possible(img: AloneImage, cell: AloneCell, pen: number, g: IndexedGlyph, next: number, known: Int16Array): boolean {
    const { page, h } = this.t.resampling;
    const slack = this.t.tolerance + 1;
    const col = img.col + cell.col;
    const row = img.row + cell.row;
    const w = img.width;
    const gray = img.gray;
    if (gray.length === 0) return false;
    const dx = img.darkest % w;
    const dy = (img.darkest - dx) / w;
    if (gray[img.darkest]! < page.data[(row + dy) * page.width + col + dx]! - slack) return false;
    for (let y = 0; y < img.height; y++) {
      const at = (row + y) * page.width + col;
      for (let x = 0; x < w; x++) if (gray[y * w + x]! < page.data[at + x]! - slack) return false;
    }
    if (h.first[next]! + h.count[next]! > glyphCell(this.t.x + pen + g.advance).whole + this.minLeft) return true;
    const x = next - col;
    const { oTop, oBot, exactRow } = this.s;
    for (let o = oTop; o < oBot; o++) {
      if (!exactRow[o - oTop]) continue;
      const y = o - row;
      const own = x >= 0 && x < w && y >= 0 && y < img.height ? 255 - gray[y * w + x]! : 0;
      if (255 - page.data[o * page.width + next]! - slack > 255 - known[o - oTop]! + own + 1) return false;
    }
    return true;
  }
}
