/**
 * Each glyph alone on white paper, drawn at a drawn-page position and resampled as ageing
 * resamples: what one glyph can do to the stored pixels. Blending only darkens and the
 * resampler's weights are not negative, so a stored pixel is never lighter than a glyph's own
 * contribution allows: a candidate whose resampled image is darker than the page anywhere is
 * wrong whatever its neighbours are. The resampling pattern repeats every few drawn pixels
 * (1024 px to 640 px: 5 stored columns every 8 drawn ones), so each glyph is resampled once per
 * phase of that pattern and looked up after.
 */
import type { GlyphMask } from '../../../renderers/glyph-atlas.js';
import { horizontalColumn, storedByte, verticalSum, type AxisWeights } from '../onnx/resize-kernel.js';
import type { ResamplingPattern } from './resampling-pattern.js';

export interface AloneImage {
  /** First stored column and row the glyph reaches, relative to the pen cell's (`AloneCell`). */
  readonly col: number;
  readonly row: number;
  readonly width: number;
  readonly height: number;
  /** Resampled gray, rounded as ageing rounds. */
  readonly gray: Uint8Array;
  /** Index in `gray` of the darkest pixel, tested first. */
  readonly darkest: number;
}

/** The images of one phase's glyphs at one pen cell (whole pixel and baseline row). */
export interface AloneCell {
  /** Add to an image's `col` and `row` for stored coordinates. */
  readonly col: number;
  readonly row: number;
  image(i: number, m: GlyphMask): AloneImage;
  /**
   * The glyphs `members` lists, grouped by the stored pixel their image is darkest at (relative
   * to the cell), or undefined where images are not kept (near the page's edges, or a resampling
   * with no short pattern). A glyph whose darkest pixel is darker than the page's there cannot be
   * at this pen cell, so one look-up clears a group, and a group's members are sorted lightest
   * darkest pixel first so a scan stops at the first one darker than the page.
   */
  groups(members: StoredGroupsSource): readonly StoredGroup[] | undefined;
}

/** The glyphs to group (indices into the owner's glyphs, and their masks), and how many the owner holds (a new tier rebuilds the groups). */
export interface StoredGroupsSource {
  readonly loaded: number;
  readonly indices: () => Iterable<number>;
  readonly mask: (i: number) => GlyphMask;
}

export interface StoredGroup {
  /** Stored pixel of the members' darkest, relative to the cell. */
  readonly col: number;
  readonly row: number;
  /** Members (glyph indices), lightest darkest pixel first, and those darkest values. */
  readonly members: Int32Array;
  readonly darkest: Uint8Array;
  /** Each member's darkest pixel at least two stored pixels from its darkest (relative to the cell), and its value: a second quick test. */
  readonly secondCol: Int16Array;
  readonly secondRow: Int16Array;
  readonly second: Uint8Array;
}

interface GroupTable {
  readonly loaded: number;
  readonly groups: readonly StoredGroup[];
  /** Drawn extent of the members' masks around the pen cell, so a table is used only where every member's image is kept. */
  readonly extent: { readonly left: number; readonly right: number; readonly top: number; readonly bottom: number };
}

export class AloneGlyphs {
  private readonly cache = new WeakMap<object, Map<number, AloneImage[]>>();
  private readonly groupTables = new WeakMap<object, Map<number, GroupTable>>();
  private readonly h: AxisWeights;
  private readonly v: AxisWeights;

  constructor(private readonly pattern: ResamplingPattern) {
    this.h = pattern.h;
    this.v = pattern.v;
  }

  /**
   * The images of the glyphs of `owner` (one phase of one glyph index; glyph `i` is its i-th)
   * with the pen at drawn column `whole` and the baseline at drawn row `baseline`.
   */
  cell(owner: object, whole: number, baseline: number): AloneCell {
    const place = this.pattern.place(whole, baseline);
    if (!place) return { col: 0, row: 0, image: (_i, m) => this.make(m, whole, baseline, 0, 0), groups: () => undefined };
    const { cell, col, row } = place;
    let byKey = this.cache.get(owner);
    if (!byKey) this.cache.set(owner, (byKey = new Map()));
    let slots = byKey.get(cell);
    if (!slots) byKey.set(cell, (slots = []));
    const list = slots;
    const { h, v } = this.safe;
    const image = (i: number, m: GlyphMask): AloneImage => {
      const left = whole + m.left;
      const top = baseline + m.top;
      // Near the page's edges the filter is cut short and the pattern does not repeat.
      if (left < h[0] || left + m.width > h[1] || top < v[0] || top + m.height > v[1]) return this.make(m, whole, baseline, col, row);
      return (list[i] ??= this.make(m, whole, baseline, col, row));
    };
    const groups = (source: StoredGroupsSource): readonly StoredGroup[] | undefined => {
      let tables = this.groupTables.get(owner);
      if (!tables) this.groupTables.set(owner, (tables = new Map()));
      let table = tables.get(cell);
      const e = table && table.loaded === source.loaded ? table.extent : this.extent(owner, source);
      // Only where every member's image is kept (and so the same wherever the pattern repeats).
      if (whole + e.left < h[0] || whole + e.right > h[1] || baseline + e.top < v[0] || baseline + e.bottom > v[1]) return undefined;
      if (!table || table.loaded !== source.loaded) tables.set(cell, (table = groupTable(source, e, image)));
      return table.groups;
    };
    return { col, row, image, groups };
  }

  /** Drawn px ranges whose stored columns and rows all have whole (uncut) filters. */
  private get safe(): { h: [number, number]; v: [number, number] } {
    return (this.safeRanges ??= { h: uncut(this.h, this.pattern.drawnWidth), v: uncut(this.v, this.pattern.drawnHeight) });
  }

  private safeRanges: { h: [number, number]; v: [number, number] } | undefined;

  private readonly extents = new WeakMap<object, { loaded: number; extent: GroupTable['extent'] }>();

  private extent(owner: object, source: StoredGroupsSource): GroupTable['extent'] {
    let found = this.extents.get(owner);
    if (!found || found.loaded !== source.loaded) this.extents.set(owner, (found = { loaded: source.loaded, extent: extentOf(source) }));
    return found.extent;
  }

  private make(m: GlyphMask, whole: number, baseline: number, col: number, row: number): AloneImage {
    const { h, v } = this;
    const left = whole + m.left;
    const top = baseline + m.top;
    const [c0, c1] = reach(h, left, left + m.width);
    const [o0, o1] = reach(v, top, top + m.height);
    const width = Math.max(0, c1 - c0);
    const height = Math.max(0, o1 - o0);
    const gray = new Uint8Array(width * height);
    if (width > 0 && height > 0) {
      // The drawn pixels the image's taps read, white where the mask does not reach.
      const paper = paperUnder(m, left, top, ...tapRange(h, c0, c1), ...tapRange(v, o0, o1));
      const sums = new Float64Array(paper.height);
      for (let c = c0; c < c1; c++) {
        horizontalColumn(h, c, paper.data, -paper.x, paper.width, paper.height, sums, 0);
        for (let o = o0; o < o1; o++) gray[(o - o0) * width + (c - c0)] = storedByte(verticalSum(v, o, sums, -paper.y, 1));
      }
    }
    let darkest = 0;
    for (let i = 1; i < gray.length; i++) if (gray[i]! < gray[darkest]!) darkest = i;
    return { col: c0 - col, row: o0 - row, width, height, gray, darkest };
  }
}

/** The drawn pixels [from, to) the taps of stored indices [o0, o1) read. */
export function tapRange(w: AxisWeights, o0: number, o1: number): [number, number] {
  let from = Infinity;
  let to = -Infinity;
  for (let o = o0; o < o1; o++) {
    from = Math.min(from, w.first[o]!);
    to = Math.max(to, w.first[o]! + w.count[o]!);
  }
  return from < to ? [from, to] : [0, 0];
}

/**
 * Mask `m` (its top-left at drawn `left`, `top`) on white paper covering drawn columns
 * [x0, x1) and rows [y0, y1): what the resampler reads there.
 */
export function paperUnder(m: GlyphMask, left: number, top: number, x0: number, x1: number, y0: number, y1: number): { x: number; y: number; width: number; height: number; data: Uint8Array } {
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const data = new Uint8Array(width * height).fill(255);
  for (let my = Math.max(0, y0 - top); my < m.height && top + my < y1; my++) {
    for (let mx = Math.max(0, x0 - left); mx < m.width && left + mx < x1; mx++) data[(top + my - y0) * width + left + mx - x0] = m.gray[my * m.width + mx]!;
  }
  return { x: x0, y: y0, width, height, data };
}

/** Group `source`'s glyphs by where their image (`image`, at the cell being built) is darkest. */
function groupTable(source: StoredGroupsSource, extent: GroupTable['extent'], image: (i: number, m: GlyphMask) => AloneImage): GroupTable {
  interface Member {
    i: number;
    v: number;
    sc: number;
    sr: number;
    sv: number;
  }
  const byPixel = new Map<number, { col: number; row: number; list: Member[] }>();
  for (const i of source.indices()) {
    const img = image(i, source.mask(i));
    // A glyph with no stored image can never be placed: it joins no group.
    if (img.gray.length === 0) continue;
    const w = img.width;
    const dx = img.darkest % w;
    const dy = (img.darkest - dx) / w;
    let second = img.darkest;
    for (let k = 0; k < img.gray.length; k++) {
      const x = k % w;
      const far = Math.max(Math.abs(x - dx), Math.abs((k - x) / w - dy)) >= 2;
      if (far && (second === img.darkest || img.gray[k]! < img.gray[second]!)) second = k;
    }
    const sx = second % w;
    const key = (img.row + dy + 4096) * 8192 + img.col + dx + 4096;
    let group = byPixel.get(key);
    if (!group) byPixel.set(key, (group = { col: img.col + dx, row: img.row + dy, list: [] }));
    group.list.push({ i, v: img.gray[img.darkest]!, sc: img.col + sx, sr: img.row + (second - sx) / w, sv: img.gray[second]! });
  }
  const groups = [...byPixel.values()].map(({ col, row, list }) => {
    list.sort((a, b) => b.v - a.v);
    return {
      col,
      row,
      members: Int32Array.from(list, (m) => m.i),
      darkest: Uint8Array.from(list, (m) => m.v),
      secondCol: Int16Array.from(list, (m) => m.sc),
      secondRow: Int16Array.from(list, (m) => m.sr),
      second: Uint8Array.from(list, (m) => m.sv),
    };
  });
  return { loaded: source.loaded, groups, extent };
}

/** The drawn extent of `source`'s masks around a pen cell. */
function extentOf(source: StoredGroupsSource): GroupTable['extent'] {
  const e = { left: 0, right: 0, top: 0, bottom: 0 };
  for (const i of source.indices()) {
    const m = source.mask(i);
    e.left = Math.min(e.left, m.left);
    e.right = Math.max(e.right, m.left + m.width);
    e.top = Math.min(e.top, m.top);
    e.bottom = Math.max(e.bottom, m.top + m.height);
  }
  return e;
}

/** Drawn px [lo, hi) reached only by stored indices whose taps are not cut by the edges (or by the tap limit). */
function uncut(w: AxisWeights, inSize: number): [number, number] {
  const n = w.first.length;
  const full = (o: number) => w.first[o]! > 0 && w.first[o]! + w.count[o]! < inSize && w.count[o]! < w.taps;
  let a = 0;
  while (a < n && !full(a)) a++;
  let b = n - 1;
  while (b >= 0 && !full(b)) b--;
  if (a > b) return [0, 0];
  // A pixel at or past the last cut index's reach touches only whole ones.
  const lo = a > 0 ? w.first[a - 1]! + w.count[a - 1]! : 0;
  const hi = b < n - 1 ? w.first[b + 1]! : inSize;
  return [lo, hi];
}

/** Stored indices [from, to) whose taps reach drawn pixels [lo, hi). */
export function reach(w: AxisWeights, lo: number, hi: number): [number, number] {
  const n = w.first.length;
  let a = 0;
  let b = n;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (w.first[mid]! + w.count[mid]! > lo) b = mid;
    else a = mid + 1;
  }
  let end = a;
  while (end < n && w.first[end]! < hi) end++;
  return [a, end];
}

/**
 * For each drawn pixel, the most darkness (255 - gray) it can have given the stored page: a
 * stored pixel is a weighted mean of the drawn ones, so a drawn pixel with weight w in a stored
 * pixel of darkness s (plus the tolerance and rounding) is at most that over w dark. A glyph
 * whose mask is darker than this anywhere cannot be there, whatever else is drawn, since
 * blending only darkens.
 */
export function darknessBound(page: { width: number; data: Uint8Array }, h: AxisWeights, v: AxisWeights, drawnWidth: number, drawnHeight: number, tolerance: number): Float32Array {
  const bound = new Float32Array(drawnWidth * drawnHeight).fill(Infinity);
  const contentWidth = h.first.length;
  const contentHeight = v.first.length;
  for (let o = 0; o < contentHeight; o++) {
    const vf = v.first[o]!;
    const vb = o * v.taps;
    for (let c = 0; c < contentWidth; c++) {
      const slack = 255 - page.data[o * page.width + c]! + tolerance + 1;
      const hf = h.first[c]!;
      const hb = c * h.taps;
      for (let i = 0, ni = v.count[o]!; i < ni; i++) {
        const wv = v.weights[vb + i]!;
        if (wv <= 0) continue;
        const row = (vf + i) * drawnWidth + hf;
        for (let k = 0, nk = h.count[c]!; k < nk; k++) {
          const w = wv * h.weights[hb + k]!;
          if (w <= 0) continue;
          const b = slack / w;
          if (b < bound[row + k]!) bound[row + k] = b;
        }
      }
    }
  }
  return bound;
}

const inkOrders = new WeakMap<GlyphMask, Int32Array>();

/** The mask's inked pixels, darkest first: the order a bound check tries them in. */
export function inkOrder(m: GlyphMask): Int32Array {
  let order = inkOrders.get(m);
  if (!order) {
    const idx: number[] = [];
    for (let i = 0; i < m.gray.length; i++) if (m.gray[i]! < 255) idx.push(i);
    idx.sort((a, b) => m.gray[a]! - m.gray[b]!);
    inkOrders.set(m, (order = Int32Array.from(idx)));
  }
  return order;
}
