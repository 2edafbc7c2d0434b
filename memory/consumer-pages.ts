/**
 * Pages drawn for one consumer. A stored page is planned for the memory's profile; a
 * consumer that sees its glyphs below its legibility floor (after the consumer's own resize)
 * gets the page's decoded text drawn again on its own canvases, at the highest ratio its floor
 * allows. Drawings are cached per page content and consumer, so a page that ages (new image,
 * new text) is drawn again and a page that is only recalled is not.
 */
import { createHash } from 'node:crypto';
import { encode } from '../src/codec/codec.js';
import { planPages } from '../renderers/page-planner.js';
import { seenGlyphPx } from '../src/tokens/legibility.js';
import type { TextTokenizer } from '../src/tokens/text-tokenizer.js';
import type { Legibility, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';
import { parseStoredGeometry } from './store/stored-geometry.js';
import type { RenderTurn } from '../renderers/text-layout.js';

/** One image as handed to a consumer. */
export interface ConsumerImage {
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Visual tokens the consumer charges for it. */
  readonly tokens: number;
  /** Smallest glyph on it as the consumer sees it, px. */
  readonly glyphPx: number;
}

export interface ConsumerRendition {
  readonly images: readonly ConsumerImage[];
  readonly tokens: number;
  /** Drawn again for this consumer (false: the stored page as it is). */
  readonly redrawn: boolean;
}

/** The smallest glyph of a stored page as `profile`'s model sees it; undefined without usable geometry. */
export function storedGlyphPx(geometryJson: string, profile: VisionTokenProfile): number | undefined {
  const g = parseStoredGeometry(geometryJson);
  if (!g || !(g.width > 0 && g.height > 0)) return undefined;
  // A resampled page was drawn larger and shrunk to its canvas: its glyphs shrank with it.
  const shrink = g.resampled ? Math.min(g.width / g.resampled.width, g.height / g.resampled.height) : 1;
  const sizes = g.lines.length ? g.lines.map((l) => l.fontSize) : [g.fontSize];
  return seenGlyphPx(profile, Math.min(...sizes) * shrink, g.width, g.height);
}

/** Most drawings kept; each is a few pages of PNG bytes. */
const CACHE_ENTRIES = 256;

export class ConsumerPages {
  readonly #cache = new Map<string, Promise<ConsumerRendition>>();
  /** Text tokens per visual token the last drawings for each consumer and floor achieved. */
  readonly #ratios = new Map<string, number>();

  /** The ratio drawings for this consumer at this floor lately achieved (a first guess for the next), if any. */
  ratioHint(profile: VisionTokenProfile, legibility: Legibility): number | undefined {
    return this.#ratios.get(`${profile.name}|${legibility.minGlyphPx}`);
  }

  /** Record a ratio a drawing achieved. */
  noteRatio(profile: VisionTokenProfile, legibility: Legibility, ratio: number): void {
    if (Number.isFinite(ratio) && ratio > 0) this.#ratios.set(`${profile.name}|${legibility.minGlyphPx}`, ratio);
  }

  constructor(private readonly tokenizer: TextTokenizer) {}

  /**
   * `turns` (decoded text, one entry per turn) drawn on `profile`'s canvases with glyphs no
   * smaller than `legibility.minGlyphPx`, planned at `ratio` or below. `key` names the content
   * (a page's id and digest); equal keys reuse the drawing.
   */
  draw(key: string, turns: readonly string[], profile: VisionTokenProfile, legibility: Legibility, ratio: number): Promise<ConsumerRendition> {
    const id = `${key}|${profile.name}|${legibility.minGlyphPx}|${ratio}`;
    const hit = this.#cache.get(id);
    if (hit) {
      this.#cache.delete(id);
      this.#cache.set(id, hit);
      return hit;
    }
    const made = this.#draw(turns, profile, legibility, ratio);
    made.catch(() => this.#cache.delete(id));
    this.#cache.set(id, made);
    while (this.#cache.size > CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    return made;
  }

  /**
   * Visual tokens `draw` would spend on the same input, from the page plan alone (nothing is
   * rendered), so callers can weigh selections before drawing one.
   */
  planTokens(turns: readonly string[], profile: VisionTokenProfile, legibility: Legibility, ratio: number): number {
    const source = toRenderTurns(turns);
    if (source.length === 0) return 0;
    return planPages(source, { ratio, profile, tokenizer: this.tokenizer, minGlyphPx: legibility.minGlyphPx }).reduce((a, p) => a + p.visualTokens, 0);
  }

  async #draw(turns: readonly string[], profile: VisionTokenProfile, legibility: Legibility, ratio: number): Promise<ConsumerRendition> {
    const source = toRenderTurns(turns);
    if (source.length === 0) return { images: [], tokens: 0, redrawn: true };
    const pages = await encode(source, { ratio, profile, tokenizer: this.tokenizer, minGlyphPx: legibility.minGlyphPx });
    const images = pages.map((p) => ({
      png: p.png,
      width: p.geometry.width,
      height: p.geometry.height,
      tokens: p.visualTokens,
      glyphPx: seenGlyphPx(profile, Math.min(...p.geometry.lines.map((l) => l.fontSize), p.geometry.fontSize), p.geometry.width, p.geometry.height),
    }));
    return { images, tokens: images.reduce((a, i) => a + i.tokens, 0), redrawn: true };
  }
}

function toRenderTurns(turns: readonly string[]): RenderTurn[] {
  return turns.filter((t) => t.trim()).map((content) => ({ role: 'user', content, label: '' }));
}

/** Names a page's content: its id with a digest of its geometry and decoded text. */
export function contentKey(page: { readonly id: string; readonly geometry: string; readonly decodedText: string; readonly width: number; readonly height: number }): string {
  const digest = createHash('sha1').update(page.geometry).update('\u0000').update(page.decodedText).digest('hex').slice(0, 16);
  return `${page.id}@${page.width}x${page.height}:${digest}`;
}
