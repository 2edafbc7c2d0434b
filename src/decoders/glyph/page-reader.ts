/**
 * Reads every line of an opticmem page by glyph matching (see line-reader.ts). Lines are read
 * top to bottom, each painted onto a copy of what is known of the page once read, so a line
 * is matched against its neighbours' ink where their glyphs reach into it; a line that cannot
 * be explained before the line below is known gets a second look once it is. What no reading
 * explains is left for another reader (`undefined`).
 */
import type { LineBox, PageGeometry } from '../../../renderers/page.js';
import { baselineOffset } from '../../../renderers/page-renderer.js';
import { loadFontSet, registerShippedFonts, type FontSet } from '../../../renderers/fonts.js';
import { blendGlyph, glyphCell, loadGlyphAtlas, type GlyphAtlas } from '../../../renderers/glyph-atlas.js';
import { loadCanvas } from '../../internal/lazy.js';
import { axisWeights, type AxisWeights, type GrayImage } from '../onnx/gray-image.js';
import { GlyphIndex } from './glyph-index.js';
import { readLine, type LineReading } from './line-reader.js';
import { readResampledLine, type ResampledLineReading, type Resampling } from './resampled-line-reader.js';
import { drawnGeometry, readableBox, type DrawnGeometry } from './resampled-geometry.js';
import { AloneGlyphs, darknessBound } from './resampled-glyphs.js';
import { CenterSignatures } from './resampled-signatures.js';
import { ResamplingPattern } from './resampling-pattern.js';

export interface ReadLineResult {
  readonly text: string;
  /** 1 for a reading that redraws the line exactly; less when it matched only within a tolerance. */
  readonly confidence: number;
}

/** A glyph of a reading, as another thread repaints it: its character and pen (px from the line's start, at the drawn size). */
export interface PlacedGlyph {
  readonly ch: string;
  readonly pen: number;
}

/** Some lines of a resampled page, read where other threads read the rest (reader-threads.ts). */
export interface PagePart {
  /** The lines to read, by index in the geometry (default: every line). */
  readonly lines?: readonly number[];
  /** Lines read first only so their ink is known where it reaches into the lines below (not returned). */
  readonly context?: readonly number[];
  /** Readings of other lines, painted before any line is read. */
  readonly known?: readonly { readonly line: number; readonly glyphs: readonly PlacedGlyph[] }[];
}

export interface PartReading {
  /** One entry per geometry line; undefined for lines not asked for or not explained. */
  readonly lines: (ReadLineResult | undefined)[];
  /** The glyphs of each reading, for painting on another thread. */
  readonly glyphs: (PlacedGlyph[] | undefined)[];
}

export interface PageReaderOptions {
  /** Per-pixel difference taken as a match on pages that are not pixel-exact (re-encoded, another canvas build). Default 24. */
  readonly tolerance?: number;
  /** Glyph placements tried per px of line width before the line is left to the fallback reader. */
  readonly budgetPerColumn?: number;
}

/** Placements of the opening pass (plus two a px of line width): a clean line takes about one a character. */
const QUICK_BUDGET = 200;

/** Indexes kept before the least recently used is let go (each is one font size and line height). */
const MAX_INDEXES = 12;

export class PageReader {
  private readonly indexes = new Map<string, GlyphIndex>();

  private constructor(
    private readonly atlas: GlyphAtlas,
    private readonly fonts: FontSet,
    private readonly options: Required<PageReaderOptions>,
  ) {}

  static async create(options: PageReaderOptions = {}): Promise<PageReader> {
    await registerShippedFonts();
    const fonts = loadFontSet();
    const atlas = await loadGlyphAtlas(loadCanvas, fonts);
    return new PageReader(atlas, fonts, { tolerance: options.tolerance ?? 24, budgetPerColumn: options.budgetPerColumn ?? 40 });
  }

  /** One entry per geometry line: its reading, or undefined where matching explains nothing. */
  read(page: GrayImage, geometry: PageGeometry): (ReadLineResult | undefined)[] {
    return this.readAndDraw(page, geometry).lines;
  }

  /**
   * The readings, and the page as drawn from them at the size it was drawn (before any
   * resampling), so a caller can check the drawing against the pixels and resample it again.
   */
  readAndDraw(page: GrayImage, geometry: PageGeometry): { lines: (ReadLineResult | undefined)[]; drawn: GrayImage } {
    if (geometry.resampled) return this.readResampled(page, geometry);
    const results: (ReadLineResult | undefined)[] = geometry.lines.map(() => undefined);
    const painted = new Uint8Array(page.width * page.height).fill(255);
    const drawn = { width: page.width, height: page.height, data: painted };
    if (page.width !== geometry.width || page.height !== geometry.height) return { lines: results, drawn };
    const noise = paperNoise(page, geometry);
    const readable = geometry.lines.map((box) => box.fontSize > 0 && Number.isInteger(box.x) && box.height === geometry.lineHeight && box.width > 0);
    /** Read line `i`; `first` is the opening pass: the glyphs loaded so far and a small budget, which a clean line never needs more than. */
    const attempt = (i: number, tolerance: number, first: boolean): boolean => {
      const box = geometry.lines[i]!;
      const index = this.index(box, geometry.lineHeight);
      const budget = first ? QUICK_BUDGET + 2 * box.width : 2000 + this.options.budgetPerColumn * box.width;
      // A line tries the common glyphs alone first, then each later tier with those before it,
      // whatever earlier lines loaded: at small sizes thousands of ideographs and rare glyphs
      // fit almost anywhere, and an English line searched with them all can take minutes. A
      // line the loaded tiers cannot explain loads the next (not in the opening pass).
      let reading: LineReading | undefined;
      for (let tiers = 1; !reading; tiers++) {
        if (tiers > index.tiersLoaded && (first || !index.loadNext())) return false;
        reading = this.readOne(page, painted, box, geometry.lineHeight, index, tolerance, budget, tiers);
      }
      this.paint(painted, page.width, page.height, box, geometry.lineHeight, reading);
      results[i] = { text: reading.text, confidence: tolerance === 0 ? 1 : 1 - tolerance / 255 };
      return true;
    };
    // Exact pages (every paper pixel 255) are matched exactly; noisy ones within their noise.
    const tolerances = noise === 0 ? [0, this.options.tolerance] : [Math.min(noise, this.options.tolerance), this.options.tolerance];
    let pending = geometry.lines.map((_, i) => i).filter((i) => readable[i]);
    for (const tolerance of [...new Set(tolerances)]) {
      // A page that no exact reading explains anywhere (resampled, not opticmem's drawing) is
      // probed with one line before every line is searched within the tolerance.
      if (tolerance > 0 && pending.length > 0 && pending.length === readable.filter(Boolean).length) {
        if (!attempt(pending[0]!, tolerance, false)) break;
        pending = pending.slice(1);
      }
      // Top to bottom first; then passes alternate direction, so a line whose neighbour below
      // reaches into it is read once that neighbour is known, until a pass each way adds nothing.
      let idle = 0;
      for (let pass = 0; pending.length > 0 && idle < 2; pass++) {
        const order = pass % 2 === 0 ? pending : [...pending].reverse();
        const unread = new Set(order.filter((i) => !attempt(i, tolerance, pass === 0)));
        idle = pass > 0 && unread.size === pending.length ? idle + 1 : 0;
        pending = pending.filter((i) => unread.has(i));
      }
    }
    return { lines: results, drawn };
  }

  /**
   * A page ageing shrank: each line is searched at the size it was drawn and compared through
   * ageing's resampler (resampled-line-reader.ts). A reading that another reading cannot be told
   * from at this size comes back with confidence 0.5.
   */
  private readResampled(page: GrayImage, geometry: PageGeometry): { lines: (ReadLineResult | undefined)[]; drawn: GrayImage } {
    return this.readResampledPart(page, geometry, {});
  }

  /** Read some lines of a resampled page (`part`), as readResampled reads them all; the drawn page stays here (it is not for another thread). */
  readPart(page: GrayImage, geometry: PageGeometry, part: PagePart): PartReading {
    const { lines, glyphs } = this.readResampledPart(page, geometry, part);
    return { lines, glyphs };
  }

  private readResampledPart(page: GrayImage, geometry: PageGeometry, part: PagePart): PartReading & { drawn: GrayImage } {
    const results: (ReadLineResult | undefined)[] = geometry.lines.map(() => undefined);
    const glyphs: (PlacedGlyph[] | undefined)[] = geometry.lines.map(() => undefined);
    const plan = drawnGeometry(geometry);
    const drawn = { width: plan?.width ?? 0, height: plan?.height ?? 0, data: new Uint8Array((plan?.width ?? 0) * (plan?.height ?? 0)).fill(255) };
    if (!plan || page.width !== geometry.width || page.height !== geometry.height) return { lines: results, glyphs, drawn };
    const h = axisWeights(plan.width, plan.contentWidth);
    const v = axisWeights(plan.height, plan.contentHeight);
    // Resampling is repeated exactly, so an exact page is matched exactly; then within one level
    // (or a noisy page's noise) for lines that found no exact reading.
    const noise = Math.min(paperNoise(page, geometry), this.options.tolerance);
    const { alone, signatures } = this.lookupsFor(h, v, plan);
    const readable = (i: number) => readableBox(plan.lines[i]);
    for (const { line, glyphs: placed } of part.known ?? []) if (readable(line)) this.paintPlaced(drawn, plan.lines[line]!, plan.lineHeight, placed);
    const context = new Set((part.context ?? []).filter(readable));
    let pending = [...context, ...(part.lines ?? plan.lines.map((_, i) => i)).filter((i) => readable(i) && !context.has(i))].sort((a, b) => a - b);
    for (const tolerance of [...new Set([noise, Math.max(1, noise)])]) {
      if (pending.length === 0) break;
      const bound = darknessBound(page, h, v, plan.width, plan.height, tolerance);
      const resampling: Resampling = { drawn, page, h, v, contentWidth: plan.contentWidth, contentHeight: plan.contentHeight, alone, bound };
      let idle = 0;
      for (let pass = 0; pending.length > 0 && idle < 2; pass++) {
        const order = pass % 2 === 0 ? pending : [...pending].reverse();
        const unread = new Set<number>();
        for (const i of order) {
          const box = plan.lines[i]!;
          const reading = this.readResampledOne(resampling, box, plan.lineHeight, tolerance, pass === 0, signatures);
          if (!reading) {
            unread.add(i);
            continue;
          }
          this.paint(drawn.data, drawn.width, drawn.height, box, plan.lineHeight, reading);
          if (context.has(i)) continue;
          results[i] = { text: reading.text, confidence: reading.ambiguous ? 0.5 : tolerance === 0 ? 1 : 1 - tolerance / 255 };
          glyphs[i] = reading.glyphs.flatMap(({ glyph, pen }) => (glyph ? [{ ch: glyph.ch, pen }] : []));
        }
        idle = pass > 0 && unread.size === pending.length ? idle + 1 : 0;
        // A context line gets the opening pass only: it is there to help, not to be read.
        pending = pending.filter((i) => unread.has(i) && !context.has(i));
      }
    }
    return { lines: results, glyphs, drawn };
  }

  /** Paint glyphs another thread read on line `box` of the drawn page (as `paint` paints a reading). */
  private paintPlaced(drawn: GrayImage, box: LineBox, lineHeight: number, placed: readonly PlacedGlyph[]): void {
    const base = box.font === 'mono' ? 'mono' : 'sans';
    const baseline = box.y + baselineOffset(box.fontSize, lineHeight, this.fonts);
    for (const { ch, pen } of placed) {
      const role = this.fonts.fontFor(ch.codePointAt(0)!, base);
      if (role === undefined) continue;
      const { whole, phase } = glyphCell(box.x + pen);
      blendGlyph(drawn, this.atlas.mask(this.atlas.face(role, box.fontSize), role, ch, box.fontSize, phase), whole, baseline);
    }
  }

  private readResampledOne(resampling: Resampling, box: LineBox, lineHeight: number, tolerance: number, first: boolean, signatures: CenterSignatures): ResampledLineReading | undefined {
    const base = box.font === 'mono' ? 'mono' : 'sans';
    const index = this.index(box, lineHeight);
    const budget = first ? QUICK_BUDGET + 2 * box.width : 2000 + this.options.budgetPerColumn * box.width;
    const baseline = baselineOffset(box.fontSize, lineHeight, this.fonts);
    const task = { resampling, x: box.x, y: box.y, width: box.width, lineHeight, baseline, index, space: this.fonts.fonts[base].metrics.advance(32)! * box.fontSize, tolerance, budget };
    // Full-width glyphs by their centre pixels first; every glyph only if that explains nothing.
    // Once the rare tier is loaded (for some earlier line) a line tries the common ones alone
    // first: thousands of rare glyphs make every step dearer and every hunt for a second reading.
    const attempt = (excludeRare: boolean) => {
      const t = { ...task, excludeRare };
      return (tolerance === 0 ? readResampledLine({ ...t, signatures }) : undefined) ?? readResampledLine(t);
    };
    let reading = index.rareLoaded ? attempt(true) : undefined;
    while (!reading) {
      reading = attempt(false);
      if (reading || first || !index.loadNext()) break;
    }
    return reading;
  }

  private readonly lookups = new Map<string, { alone: AloneGlyphs; signatures: CenterSignatures }>();

  /** Resampled glyph images and CJK signatures, kept per resampling (drawn size to content size) across pages. */
  private lookupsFor(h: AxisWeights, v: AxisWeights, plan: DrawnGeometry): { alone: AloneGlyphs; signatures: CenterSignatures } {
    const key = `${plan.width}x${plan.height}>${plan.contentWidth}x${plan.contentHeight}`;
    let found = this.lookups.get(key);
    if (!found) {
      if (this.lookups.size >= 4) this.lookups.delete(this.lookups.keys().next().value!);
      const pattern = new ResamplingPattern(h, v, plan.width, plan.height);
      this.lookups.set(key, (found = { alone: new AloneGlyphs(pattern), signatures: new CenterSignatures(pattern) }));
    }
    return found;
  }

  private index(box: LineBox, lineHeight: number): GlyphIndex {
    const base = box.font === 'mono' ? 'mono' : 'sans';
    const key = `${base}|${box.fontSize}|${lineHeight}`;
    let index = this.indexes.get(key);
    if (index) {
      this.indexes.delete(key);
      this.indexes.set(key, index);
      return index;
    }
    if (this.indexes.size >= MAX_INDEXES) this.indexes.delete(this.indexes.keys().next().value!);
    const baseline = baselineOffset(box.fontSize, lineHeight, this.fonts);
    index = new GlyphIndex(this.atlas, this.fonts, base, box.fontSize, -baseline, lineHeight - baseline);
    this.indexes.set(key, index);
    return index;
  }

  private readOne(page: GrayImage, painted: Uint8Array, box: LineBox, lineHeight: number, index: GlyphIndex, tolerance: number, budget: number, tiers: number): LineReading | undefined {
    const base = box.font === 'mono' ? 'mono' : 'sans';
    return readLine({
      page,
      painted,
      x: box.x,
      y: box.y,
      width: box.width,
      lineHeight,
      baseline: baselineOffset(box.fontSize, lineHeight, this.fonts),
      index,
      space: this.fonts.fonts[base].metrics.advance(32)! * box.fontSize,
      tolerance,
      budget,
      tiers,
    });
  }

  private paint(painted: Uint8Array, width: number, height: number, box: LineBox, lineHeight: number, reading: LineReading): void {
    const baseline = box.y + baselineOffset(box.fontSize, lineHeight, this.fonts);
    const surface = { width, height, data: painted };
    for (const { glyph, pen } of reading.glyphs) if (glyph) blendGlyph(surface, glyph.mask, glyphCell(box.x + pen).whole, baseline);
  }
}

/**
 * How far the page's paper departs from white: the largest darkening in the top margin rows
 * above the first line. opticmem's own pages are pure white there (0); a re-encoded or noisy
 * page is not, and its noise bounds the tolerance matching needs.
 */
function paperNoise(page: GrayImage, geometry: PageGeometry): number {
  const top = Math.min(...geometry.lines.map((l) => l.y), page.height);
  const rows = Math.max(0, Math.min(top - 2, Math.floor(geometry.margin) - 1));
  let worst = 0;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < page.width; x++) {
      const d = 255 - page.data[y * page.width + x]!;
      if (d > worst) worst = d;
    }
  }
  return worst;
}
