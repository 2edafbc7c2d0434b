/**
 * Reads just enough of a TrueType/OpenType file to lay text out without a canvas: which code
 * points it covers (cmap formats 4 and 12) and each glyph's advance width (hmtx). Layout and
 * planning run thousands of trial fits, so they must not call into the native canvas.
 */
import { readFileSync } from 'node:fs';
import { ModelLoadError } from '../src/errors.js';

export interface FontMetrics {
  readonly unitsPerEm: number;
  /** Ascender and descender in font units (hhea), descender negative. */
  readonly ascender: number;
  readonly descender: number;
  /** Advance width of a code point in em, or undefined when the font has no glyph for it. */
  advance(codePoint: number): number | undefined;
  covers(codePoint: number): boolean;
}

interface Tables {
  [tag: string]: { offset: number; length: number };
}

function readTables(buf: Buffer, base: number): Tables {
  const numTables = buf.readUInt16BE(base + 4);
  const tables: Tables = {};
  for (let i = 0; i < numTables; i++) {
    const rec = base + 12 + i * 16;
    tables[buf.toString('latin1', rec, rec + 4)] = { offset: buf.readUInt32BE(rec + 8), length: buf.readUInt32BE(rec + 12) };
  }
  return tables;
}

function parseCmap(buf: Buffer, cmapOffset: number): Map<number, number> {
  const map = new Map<number, number>();
  const count = buf.readUInt16BE(cmapOffset + 2);
  let best: { offset: number; format: number } | undefined;
  for (let i = 0; i < count; i++) {
    const rec = cmapOffset + 4 + i * 8;
    const platform = buf.readUInt16BE(rec);
    const encoding = buf.readUInt16BE(rec + 2);
    const offset = cmapOffset + buf.readUInt32BE(rec + 4);
    const format = buf.readUInt16BE(offset);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode) continue;
    // Prefer the full-range format 12 subtable over the BMP-only format 4.
    if (format === 12 || (format === 4 && best?.format !== 12)) best = { offset, format };
  }
  if (!best) return map;
  const o = best.offset;
  if (best.format === 12) {
    const groups = buf.readUInt32BE(o + 12);
    for (let g = 0; g < groups; g++) {
      const r = o + 16 + g * 12;
      const start = buf.readUInt32BE(r);
      const end = buf.readUInt32BE(r + 4);
      const glyph = buf.readUInt32BE(r + 8);
      for (let c = start; c <= end; c++) map.set(c, glyph + (c - start));
    }
  } else {
    const segX2 = buf.readUInt16BE(o + 6);
    const ends = o + 14;
    const starts = ends + segX2 + 2;
    const deltas = starts + segX2;
    const rangeOffsets = deltas + segX2;
    for (let s = 0; s < segX2 / 2; s++) {
      const end = buf.readUInt16BE(ends + s * 2);
      const start = buf.readUInt16BE(starts + s * 2);
      const delta = buf.readInt16BE(deltas + s * 2);
      const rangeOffset = buf.readUInt16BE(rangeOffsets + s * 2);
      for (let c = start; c <= end && c !== 0xffff; c++) {
        let glyph: number;
        if (rangeOffset === 0) glyph = (c + delta) & 0xffff;
        else {
          const at = rangeOffsets + s * 2 + rangeOffset + (c - start) * 2;
          glyph = buf.readUInt16BE(at);
          if (glyph !== 0) glyph = (glyph + delta) & 0xffff;
        }
        if (glyph !== 0) map.set(c, glyph);
      }
    }
  }
  return map;
}

/** Parse a .ttf/.otf (or face `index` of a .ttc) from disk. */
export function loadFontMetrics(path: string, index = 0): FontMetrics {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (cause) {
    throw new ModelLoadError(`Font file '${path}' could not be read. Reinstall opticmem; the shipped fonts are part of the package.`, { cause });
  }
  let base = 0;
  if (buf.toString('latin1', 0, 4) === 'ttcf') base = buf.readUInt32BE(12 + index * 4);
  const t = readTables(buf, base);
  const need = ['cmap', 'head', 'hhea', 'hmtx'] as const;
  for (const tag of need) {
    if (!t[tag]) throw new ModelLoadError(`Font file '${path}' has no '${tag}' table; it is not a usable TrueType/OpenType font.`);
  }
  const unitsPerEm = buf.readUInt16BE(t.head!.offset + 18);
  const ascender = buf.readInt16BE(t.hhea!.offset + 4);
  const descender = buf.readInt16BE(t.hhea!.offset + 6);
  const numberOfHMetrics = buf.readUInt16BE(t.hhea!.offset + 34);
  const hmtx = t.hmtx!.offset;
  const cmap = parseCmap(buf, t.cmap!.offset);
  const advanceOfGlyph = (glyph: number) => {
    const i = Math.min(glyph, numberOfHMetrics - 1);
    return buf.readUInt16BE(hmtx + i * 4) / unitsPerEm;
  };
  const cache = new Map<number, number>();
  return {
    unitsPerEm,
    ascender,
    descender,
    covers: (cp) => cmap.has(cp),
    advance(cp) {
      const glyph = cmap.get(cp);
      if (glyph === undefined) return undefined;
      let a = cache.get(glyph);
      if (a === undefined) cache.set(glyph, (a = advanceOfGlyph(glyph)));
      return a;
    },
  };
}
