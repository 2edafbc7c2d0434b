/**
 * Draws lines of text into a grayscale page with line geometry embedded, for decoder tests.
 * Independent of the real renderer on purpose: decoders are tested against plain pixels.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlobalFonts, createCanvas } from '@napi-rs/canvas';
import type { LineBox, PageGeometry } from '../../renderers/page.js';
import { encodeGrayPng, GEOMETRY_KEYWORD } from '../../renderers/png.js';

export type TestFont = 'sans' | 'mono' | 'cjk';

const require = createRequire(import.meta.url);
const dejavu = (file: string) => join(require.resolve('dejavu-fonts-ttf/package.json'), '..', 'ttf', file);

/** The package's own CJK face (a Noto Sans SC subset of common characters). */
const SHIPPED_CJK_FONT = fileURLToPath(new URL('../../renderers/fonts/NotoSansSC-Regular-subset.otf', import.meta.url));

const FAMILIES: Record<TestFont, { family: string; path: () => string | undefined }> = {
  sans: { family: 'decoder-test-sans', path: () => dejavu('DejaVuSans.ttf') },
  mono: { family: 'decoder-test-mono', path: () => dejavu('DejaVuSansMono.ttf') },
  cjk: { family: 'decoder-test-cjk', path: () => (existsSync(SHIPPED_CJK_FONT) ? SHIPPED_CJK_FONT : undefined) },
};

/** Whether `font` can be drawn on this host. */
export function hasTestFont(font: TestFont): boolean {
  return FAMILIES[font].path() !== undefined;
}

function familyFor(font: TestFont): string {
  const { family, path } = FAMILIES[font];
  if (!GlobalFonts.has(family)) {
    const file = path();
    if (!file) throw new Error(`No font file for '${font}' on this host`);
    GlobalFonts.registerFromPath(file, family);
  }
  return family;
}

export interface TestLine {
  readonly text: string;
  readonly font?: TestFont;
  /** Leading indentation in px. */
  readonly indent?: number;
}

export interface MakePageOptions {
  readonly width?: number;
  readonly height?: number;
  readonly fontSize?: number;
  readonly lineHeight?: number;
  readonly margin?: number;
  readonly font?: TestFont;
}

export interface TestPage {
  /** PNG with the geometry chunk. */
  readonly png: Uint8Array;
  /** The same pixels without geometry (a foreign PNG, as far as a decoder can tell). */
  readonly bare: Uint8Array;
  readonly geometry: PageGeometry;
  /** The drawn lines, one per geometry line. */
  readonly lines: readonly string[];
}

export function makePage(lines: readonly (string | TestLine)[], options: MakePageOptions = {}): TestPage {
  const fontSize = options.fontSize ?? 12;
  const lineHeight = options.lineHeight ?? Math.max(Math.ceil(fontSize * 1.2), Math.ceil(fontSize) + 2);
  const margin = options.margin ?? Math.max(2, Math.round(fontSize * 0.6));
  const width = options.width ?? 640;
  const height = options.height ?? 2 * margin + lines.length * lineHeight;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#000000';
  ctx.textBaseline = 'alphabetic';
  const boxes: LineBox[] = [];
  const texts: string[] = [];
  lines.forEach((entry, i) => {
    const line = typeof entry === 'string' ? { text: entry } : entry;
    const font = line.font ?? options.font ?? 'sans';
    ctx.font = `${fontSize}px ${familyFor(font)}`;
    const m = ctx.measureText(line.text);
    const ascent = m.fontBoundingBoxAscent;
    const descent = m.fontBoundingBoxDescent;
    const y = margin + i * lineHeight;
    const x = margin + (line.indent ?? 0);
    // Centre the font's ascent+descent in the line box, on a whole-pixel baseline.
    ctx.fillText(line.text, x, y + Math.round((lineHeight - (ascent + descent)) / 2 + ascent));
    boxes.push({ x, y, width: Math.min(Math.ceil(m.width) + 1, width - x), height: lineHeight, fontSize, font: font === 'mono' ? 'mono' : 'sans', turn: 0 });
    texts.push(line.text);
  });
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const gray = new Uint8Array(width * height);
  for (let p = 0; p < gray.length; p++) gray[p] = rgba[p * 4]!;
  const geometry: PageGeometry = { version: 1, width, height, fontSize, lineHeight, margin, font: options.font ?? 'sans', lines: boxes };
  return {
    png: encodeGrayPng(gray, width, height, { [GEOMETRY_KEYWORD]: JSON.stringify(geometry) }),
    bare: encodeGrayPng(gray, width, height),
    geometry,
    lines: texts,
  };
}
