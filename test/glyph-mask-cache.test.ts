/**
 * The disk cache of glyph masks: what is read back is exactly what was drawn, the key changes
 * with anything the masks depend on, and a damaged or foreign file is ignored.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFontSet, registerShippedFonts } from '../renderers/fonts.js';
import { GlyphAtlas, type GlyphMask } from '../renderers/glyph-atlas.js';
import { maskCacheFile, readMaskCache, writeMaskCache } from '../renderers/glyph-mask-cache.js';
import { loadCanvas } from '../src/internal/lazy.js';

const dir = mkdtempSync(join(tmpdir(), 'opticmem-mask-cache-'));
const previous = process.env.OPTICMEM_CACHE_DIR;
process.env.OPTICMEM_CACHE_DIR = dir;
afterAll(() => {
  if (previous === undefined) delete process.env.OPTICMEM_CACHE_DIR;
  else process.env.OPTICMEM_CACHE_DIR = previous;
  rmSync(dir, { recursive: true, force: true });
});

async function drawn(chars: readonly string[], fontSize: number): Promise<GlyphMask[][]> {
  await registerShippedFonts();
  const fonts = loadFontSet();
  const { createCanvas } = await loadCanvas();
  const atlas = new GlyphAtlas(createCanvas, fonts);
  const face = atlas.face('cjk', fontSize);
  return chars.map((ch) => [0, 1, 2, 3].map((p) => atlas.mask(face, 'cjk', ch, fontSize, p)));
}

describe('glyph mask cache', () => {
  const font = loadFontSet().fonts.cjk;
  const chars = [...'记住了周三出发住西湖边，。'];

  it('reads back exactly the masks that were drawn', async () => {
    const masks = await drawn(chars, 9.75);
    const file = maskCacheFile(font.path, font.family, 9.75, chars);
    expect(file && file.startsWith(dir)).toBe(true);
    writeMaskCache(file, masks);
    expect(readMaskCache(file, chars)).toEqual(masks);
  });

  it('keys on the size and the characters', () => {
    const a = maskCacheFile(font.path, font.family, 9.75, chars);
    expect(maskCacheFile(font.path, font.family, 10, chars)).not.toBe(a);
    expect(maskCacheFile(font.path, font.family, 9.75, chars.slice(1))).not.toBe(a);
    expect(maskCacheFile(font.path, 'another-family', 9.75, chars)).not.toBe(a);
  });

  it('ignores a truncated file, a file of other characters and a foreign file', async () => {
    const masks = await drawn(chars, 12);
    const file = maskCacheFile(font.path, font.family, 12, chars)!;
    writeMaskCache(file, masks);
    expect(readMaskCache(file, chars.slice(0, 3))).toBeUndefined();
    truncateSync(file, 100);
    expect(readMaskCache(file, chars)).toBeUndefined();
    writeFileSync(file, 'not a mask cache');
    expect(readMaskCache(file, chars)).toBeUndefined();
    expect(readMaskCache(join(dir, 'missing.bin'), chars)).toBeUndefined();
  });

  it('is off with OPTICMEM_CACHE_DIR=off', () => {
    process.env.OPTICMEM_CACHE_DIR = 'off';
    try {
      expect(maskCacheFile(font.path, font.family, 9.75, chars)).toBeUndefined();
    } finally {
      process.env.OPTICMEM_CACHE_DIR = dir;
    }
    expect(existsSync(dir)).toBe(true);
  });
});
