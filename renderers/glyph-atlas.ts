/**
 * Pages are painted from a glyph atlas: the canvas draws each glyph once per face, size and
 * quarter-pixel phase (the grid the canvas positions glyphs on), and a line is those glyphs
 * blended at their advance-width positions, black over white, with the canvas's own 8-bit
 * arithmetic. Without kerning or ligatures this is exactly what drawing the line with the
 * canvas gives, at a fraction of the cost of reading a page's pixels back from the canvas.
 * The renderer paints pages this way, and the decoder's redraw check paints its candidate
 * readings the same way, so the two can never disagree about a pixel.
 */
import type { Canvas, SKRSContext2D } from '@napi-rs/canvas';
import type { FontRole, FontSet } from './fonts.js';

/** One glyph's ink at one phase: gray (0 black .. 255 paper) over its ink box. */
export interface GlyphMask {
  /** Left ink column, relative to the whole pixel left of the glyph's origin. */
  readonly left: number;
  readonly width: number;
  /** Top ink row, relative to the baseline. */
  readonly top: number;
  readonly height: number;
  readonly gray: Uint8Array;
}

/** The masks of one face at one size, by character, one per quarter-pixel phase. */
export type GlyphFace = Map<string, (GlyphMask | undefined)[]>;

/** A grayscale surface to paint on: row-major, one byte per pixel. */
export interface GraySurface {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const EMPTY: GlyphMask = { left: 0, width: 0, top: 0, height: 0, gray: new Uint8Array(0) };

export class GlyphAtlas {
  private readonly faces = new Map<string, GlyphFace>();
  private canvas: Canvas | undefined;

  constructor(
    private readonly createCanvas: (width: number, height: number) => Canvas,
    private readonly fonts: FontSet,
    private readonly maxFaces = Infinity,
  ) {}

  face(role: FontRole, fontSize: number): GlyphFace {
    const key = `${role}|${fontSize}`;
    let face = this.faces.get(key);
    if (face) {
      // Most recently used last, so the first is the one to let go.
      this.faces.delete(key);
      this.faces.set(key, face);
      return face;
    }
    if (this.faces.size >= this.maxFaces) this.faces.delete(this.faces.keys().next().value!);
    this.faces.set(key, (face = new Map()));
    return face;
  }

  /** The mask of `ch` in `face` (which is `role` at `fontSize`) at quarter-pixel `phase` 0..3. */
  mask(face: GlyphFace, role: FontRole, ch: string, fontSize: number, phase: number): GlyphMask {
    let phases = face.get(ch);
    if (!phases) face.set(ch, (phases = [undefined, undefined, undefined, undefined]));
    return (phases[phase] ??= this.draw(role, ch, fontSize, phase));
  }

  /** Give `face` the four phase masks of `ch`, drawn before (a disk cache keyed by everything they depend on). */
  seed(face: GlyphFace, ch: string, phases: readonly GlyphMask[]): void {
    if (!face.has(ch)) face.set(ch, [...phases]);
  }

  /** White paper over width x height, and black text of `role` at `fontSize` with no kerning, as pages are drawn. */
  private clear(ctx: SKRSContext2D, width: number, height: number, role: FontRole, fontSize: number): void {
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#000000';
    ctx.textBaseline = 'alphabetic';
    ctx.fontKerning = 'none';
    ctx.textRendering = 'optimizeSpeed';
    ctx.font = `${fontSize}px ${this.fonts.fonts[role].family}`;
  }

  private draw(role: FontRole, ch: string, fontSize: number, phase: number): GlyphMask {
    const pad = Math.ceil(fontSize) + 2;
    const width = Math.ceil(fontSize * 2) + 2 * pad;
    const height = Math.ceil(fontSize * 2) + 2 * pad;
    const baseline = pad + Math.ceil(fontSize * 1.5);
    if (!this.canvas || this.canvas.width < width || this.canvas.height < height) this.canvas = this.createCanvas(width, height);
    const ctx = this.canvas.getContext('2d');
    this.clear(ctx, width, height, role, fontSize);
    ctx.fillText(ch, pad + phase / 4, baseline);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    return cutMask(rgba, width, 0, 0, width, height, pad, baseline);
  }
}

/**
 * The ink of the cell at (`ox`, `oy`) of size `cw` x `ch` in an RGBA canvas `stride` px wide,
 * with the glyph's whole-pixel origin `pad` columns into the cell and its baseline `baseline` rows down.
 */
function cutMask(rgba: Uint8ClampedArray, stride: number, ox: number, oy: number, cw: number, ch: number, pad: number, baseline: number): GlyphMask {
  let x0 = cw;
  let x1 = -1;
  let y0 = ch;
  let y1 = -1;
  for (let y = 0; y < ch; y++) {
    const row = (oy + y) * stride + ox;
    for (let x = 0; x < cw; x++) {
      // Black on white is drawn in gray: red is the gray level.
      if (rgba[(row + x) * 4]! === 255) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 < 0) return EMPTY;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const gray = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) gray[y * w + x] = rgba[((oy + y0 + y) * stride + ox + x0 + x) * 4]!;
  return { left: x0 - pad, width: w, top: y0 - baseline, height: h, gray };
}

/** The whole pixel a glyph origin at `x` is drawn from, and its quarter-pixel phase (the canvas rounds to the nearest quarter). */
export function glyphCell(x: number): { whole: number; phase: number } {
  let whole = Math.floor(x);
  let phase = Math.round((x - whole) * 4);
  if (phase === 4) {
    phase = 0;
    whole++;
  }
  return { whole, phase };
}

/**
 * Blend `mask` with its origin's whole pixel at `whole` and the baseline at row `baseline`
 * into `surface`, within columns from..to: black over what is there, as the canvas blends an
 * 8-bit coverage (the mask's gray is 255 minus the coverage).
 */
export function blendGlyph(surface: GraySurface, mask: GlyphMask, whole: number, baseline: number, from = 0, to = surface.width): void {
  if (mask.width === 0) return;
  const left = whole + mask.left;
  const x0 = Math.max(from, left, 0);
  const x1 = Math.min(to, left + mask.width, surface.width);
  const top = baseline + mask.top;
  const y0 = Math.max(0, top);
  const y1 = Math.min(surface.height, top + mask.height);
  const { data, width } = surface;
  const gray = mask.gray;
  for (let y = y0; y < y1; y++) {
    const src = (y - top) * mask.width - left;
    const dst = y * width;
    for (let x = x0; x < x1; x++) {
      const g = gray[src + x]!;
      if (g !== 255) data[dst + x] = blendPixel(data[dst + x]!, g);
    }
  }
}

/** Gray `g` of a glyph blended over `paper`: paper * g / 255, rounded as Skia's SkMulDiv255Round does. */
export function blendPixel(paper: number, g: number): number {
  const p = paper * g + 128;
  return (p + (p >> 8)) >> 8;
}

/** Faces kept before the least recently made is let go: a process renders a handful of sizes, not hundreds. */
const MAX_FACES = 48;

let shared: Promise<GlyphAtlas> | undefined;

/** The process's atlas of the shipped fonts (glyph images only: it holds no page data). */
export function loadGlyphAtlas(load: () => Promise<{ createCanvas: (w: number, h: number) => Canvas }>, fonts: FontSet): Promise<GlyphAtlas> {
  shared ??= load().then(({ createCanvas }) => new GlyphAtlas(createCanvas, fonts, MAX_FACES));
  return shared;
}

/** A run of text in one face, as the layout gives it (`dx` from the line's start). */
export interface PaintRun {
  readonly text: string;
  readonly font: FontRole;
  readonly dx: number;
}

/**
 * Paint a line's runs with the line starting at column `x` and its baseline at row `baseline`.
 * Each glyph lands at the sum of the advances before it, summed in the layout's order so the
 * positions are the very numbers the layout measured.
 */
export function paintRuns(surface: GraySurface, atlas: GlyphAtlas, fonts: FontSet, runs: readonly PaintRun[], x: number, baseline: number, fontSize: number): void {
  for (const run of runs) {
    const face = atlas.face(run.font, fontSize);
    const metrics = fonts.fonts[run.font].metrics;
    let dx = run.dx;
    for (const ch of run.text) {
      const { whole, phase } = glyphCell(x + dx);
      blendGlyph(surface, atlas.mask(face, run.font, ch, fontSize, phase), whole, baseline);
      dx += (metrics.advance(ch.codePointAt(0)!) ?? 0.5) * fontSize;
    }
  }
}
