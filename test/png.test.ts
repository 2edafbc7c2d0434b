import { describe, expect, it } from 'vitest';
import { InvalidImageError } from '../src/errors.js';
import { encodeGrayPng, readGeometry, readPngInfo } from '../renderers/png.js';

describe('png', () => {
  const pixels = Uint8Array.from({ length: 12 * 5 }, (_, i) => (i * 37) % 256);

  it('writes a grayscale PNG that canvas decodes back to the same pixels', async () => {
    const png = encodeGrayPng(pixels, 12, 5, { opticmem: '{"x":"ünïcode"}' });
    const info = readPngInfo(png);
    expect(info).toMatchObject({ width: 12, height: 5, text: { opticmem: '{"x":"ünïcode"}' } });
    const { loadImage, createCanvas } = await import('@napi-rs/canvas');
    const img = await loadImage(Buffer.from(png));
    const ctx = createCanvas(12, 5).getContext('2d');
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, 12, 5).data;
    expect(Array.from({ length: 60 }, (_, i) => rgba[i * 4])).toEqual(Array.from(pixels));
  });

  it('rejects non-PNG bytes, bad CRCs and truncation with InvalidImageError naming the field', () => {
    const png = encodeGrayPng(pixels, 12, 5);
    expect(() => readPngInfo(new TextEncoder().encode('GIF89a not a png at all, really not'), 'page')).toThrow(InvalidImageError);
    try {
      readPngInfo(new Uint8Array(40), 'page');
    } catch (e) {
      expect((e as InvalidImageError).field).toBe('page');
      expect((e as Error).message).toMatch(/not a PNG/);
    }
    const corrupt = png.slice();
    corrupt[20] = corrupt[20]! ^ 0xff; // inside IHDR
    expect(() => readPngInfo(corrupt)).toThrow(/fails its CRC/);
    expect(() => readPngInfo(png.slice(0, png.length - 12))).toThrow(/truncated/);
  });

  it('reports no geometry for a foreign PNG and rejects a garbled geometry chunk', () => {
    expect(readGeometry(encodeGrayPng(pixels, 12, 5))).toBeUndefined();
    expect(() => readGeometry(encodeGrayPng(pixels, 12, 5, { opticmem: '{nope' }))).toThrow(InvalidImageError);
    expect(() => readGeometry(encodeGrayPng(pixels, 12, 5, { opticmem: '{"version":9,"lines":[]}' }))).toThrow(/unknown version/);
  });
});
