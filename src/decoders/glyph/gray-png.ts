/**
 * Fast pixels for opticmem's own pages: an 8-bit grayscale, non-interlaced PNG is inflated and
 * unfiltered here (a few milliseconds for a 1024² page), without a round trip through the
 * canvas and RGBA. Any other PNG goes through the canvas decoder, which reads every kind.
 */
import { inflateSync } from 'node:zlib';
import { readPngInfo } from '../../../renderers/png.js';
import type { GrayImage } from '../onnx/gray-image.js';
import { decodePngToGray } from '../onnx/png-pixels.js';

/** Decode `png` to gray. Rejects with InvalidImageError (field `field`) for anything not a readable PNG. */
export async function readGrayPixels(png: Uint8Array, field = 'png'): Promise<GrayImage> {
  readPngInfo(png, field); // signature and CRCs: the typed error for damaged bytes
  return grayFast(png) ?? (await decodePngToGray(png, field));
}

/** The pixels of an 8-bit grayscale PNG, or undefined for any other kind (or bytes that do not inflate). */
export function grayFast(png: Uint8Array): GrayImage | undefined {
  const view = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset + 12 <= view.length) {
    const length = view.readUInt32BE(offset);
    const type = view.toString('latin1', offset + 4, offset + 8);
    const data = view.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      // bit depth 8, colour type 0 (gray), compression 0, filter 0, no interlace
      if (data[8] !== 8 || data[9] !== 0 || data[12] !== 0) return undefined;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (width === 0 || height === 0 || idat.length === 0) return undefined;
  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
  } catch {
    return undefined;
  }
  if (raw.length < (width + 1) * height) return undefined;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (width + 1)]!;
    const src = y * (width + 1) + 1;
    const dst = y * width;
    const up = dst - width;
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + width), dst);
        break;
      case 1:
        for (let x = 0; x < width; x++) out[dst + x] = (raw[src + x]! + (x > 0 ? out[dst + x - 1]! : 0)) & 255;
        break;
      case 2:
        for (let x = 0; x < width; x++) out[dst + x] = (raw[src + x]! + (y > 0 ? out[up + x]! : 0)) & 255;
        break;
      case 3:
        for (let x = 0; x < width; x++) out[dst + x] = (raw[src + x]! + (((x > 0 ? out[dst + x - 1]! : 0) + (y > 0 ? out[up + x]! : 0)) >> 1)) & 255;
        break;
      case 4:
        for (let x = 0; x < width; x++) {
          const a = x > 0 ? out[dst + x - 1]! : 0;
          const b = y > 0 ? out[up + x]! : 0;
          const c = x > 0 && y > 0 ? out[up + x - 1]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          out[dst + x] = (raw[src + x]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
        }
        break;
      default:
        return undefined;
    }
  }
  return { width, height, data: out };
}
