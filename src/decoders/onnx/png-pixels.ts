/**
 * PNG bytes -> grayscale pixels, via @napi-rs/canvas so any PNG (grayscale pages, RGBA
 * screenshots, palette images) decodes the same way.
 */
import { readPngInfo } from '../../../renderers/png.js';
import { InvalidImageError } from '../../errors.js';
import { loadCanvas } from '../../internal/lazy.js';
import type { GrayImage } from './gray-image.js';

/** Pages are at most a few megapixels; far larger images would exhaust memory before OCR. */
const MAX_PIXELS = 50_000_000;

/** Decode `png` to gray. Rejects with InvalidImageError (field 'png') for anything not a readable PNG. */
export async function decodePngToGray(png: Uint8Array, field = 'png'): Promise<GrayImage> {
  // Signature and chunk CRCs first: a clear message for non-PNG or damaged bytes.
  const info = readPngInfo(png, field);
  if (info.width * info.height > MAX_PIXELS) {
    throw new InvalidImageError(field, `'${field}' is ${info.width}x${info.height} px, more than the ${MAX_PIXELS / 1e6} megapixels the OCR decoder accepts. Split or downscale the image first.`);
  }
  const { createCanvas, loadImage } = await loadCanvas();
  let image: Awaited<ReturnType<typeof loadImage>>;
  try {
    // Always bytes, never a string: loadImage would treat a string as a path or URL.
    image = await loadImage(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  } catch (cause) {
    throw new InvalidImageError(field, `'${field}' is a PNG whose pixels cannot be decoded (${describe(cause)}). Re-render or re-export the page.`, { cause });
  }
  const { width, height } = image;
  if (width !== info.width || height !== info.height || width === 0 || height === 0) {
    throw new InvalidImageError(field, `'${field}' is a PNG whose pixel data does not match its ${info.width}x${info.height} header. Re-render or re-export the page.`);
  }
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  // Transparent pixels read as paper, not ink.
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(image, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height);
  // Rec. 601 luma in fixed point; for our own grayscale pages R = G = B and this is exact.
  for (let p = 0, q = 0; p < data.length; p++, q += 4) data[p] = (rgba[q]! * 77 + rgba[q + 1]! * 150 + rgba[q + 2]! * 29 + 128) >> 8;
  return { width, height, data };
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
