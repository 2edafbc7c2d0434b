/**
 * The fonts opticmem draws with. They ship with the package (DejaVu from the
 * `dejavu-fonts-ttf` npm package, a Noto Sans SC subset committed under renderers/fonts/ with
 * its OFL licence), so rendering never depends on what the host has installed.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadCanvas } from '../src/internal/lazy.js';
import { packageRoot } from '../src/internal/package-root.js';
import { loadFontMetrics, type FontMetrics } from './font-metrics.js';

/** Role of a font in a page: body text, code, or CJK ideographs. */
export type FontRole = 'sans' | 'mono' | 'cjk';

export interface ShippedFont {
  readonly role: FontRole;
  /** Family name registered with the canvas; unique to opticmem so host fonts never win. */
  readonly family: string;
  readonly path: string;
}

const require = createRequire(import.meta.url);

function dejavu(file: string): string {
  return join(require.resolve('dejavu-fonts-ttf/package.json'), '..', 'ttf', file);
}

export function shippedFonts(): readonly ShippedFont[] {
  return [
    { role: 'sans', family: 'opticmem-sans', path: dejavu('DejaVuSans.ttf') },
    { role: 'mono', family: 'opticmem-mono', path: dejavu('DejaVuSansMono.ttf') },
    { role: 'cjk', family: 'opticmem-cjk', path: join(packageRoot(), 'renderers', 'fonts', 'NotoSansSC-Regular-subset.otf') },
  ];
}

export interface FontSet {
  readonly fonts: Readonly<Record<FontRole, ShippedFont & { metrics: FontMetrics }>>;
  /** Font that draws `codePoint` when the line's base font is `base`, or undefined if none can. */
  fontFor(codePoint: number, base: 'sans' | 'mono'): FontRole | undefined;
}

let fontSet: FontSet | undefined;

/** Metrics of the shipped fonts (pure file parsing; no canvas). Cached: the files never change. */
export function loadFontSet(): FontSet {
  if (fontSet) return fontSet;
  const entries = shippedFonts().map((f) => [f.role, { ...f, metrics: loadFontMetrics(f.path) }] as const);
  const fonts = Object.fromEntries(entries) as FontSet['fonts'];
  fontSet = {
    fonts,
    fontFor(cp, base) {
      // CJK ideographs, kana and full-width forms look right only in the CJK face.
      if (isWideCodePoint(cp) && fonts.cjk.metrics.covers(cp)) return 'cjk';
      if (fonts[base].metrics.covers(cp)) return base;
      const other = base === 'sans' ? 'mono' : 'sans';
      if (fonts[other].metrics.covers(cp)) return other;
      if (fonts.cjk.metrics.covers(cp)) return 'cjk';
      return undefined;
    },
  };
  return fontSet;
}

let registered: Promise<void> | undefined;

/** Register the shipped fonts with the canvas once per process. */
export function registerShippedFonts(): Promise<void> {
  registered ??= (async () => {
    const { GlobalFonts } = await loadCanvas();
    for (const f of shippedFonts()) {
      if (!GlobalFonts.has(f.family)) GlobalFonts.registerFromPath(f.path, f.family);
    }
  })();
  return registered;
}

/** East Asian wide characters: CJK ideographs, kana, hangul, CJK punctuation, full-width forms. */
export function isWideCodePoint(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}
