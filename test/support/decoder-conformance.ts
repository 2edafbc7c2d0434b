/**
 * The behaviour every Decoder must show, as a reusable vitest suite. Local decoders run it
 * against real models; a remote decoder runs it against a local fake server, which cannot
 * read pixels, so text accuracy is a flagged case.
 */
import { distance } from 'fastest-levenshtein';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedText, Decoder } from '../../src/decoders/decoder.js';
import { InvalidImageError, OpticMemError } from '../../src/errors.js';
import { makePage, type TestPage } from './make-page.js';

export interface DecoderConformanceOptions {
  /** The path a page with geometry reports: 'geometry' for local OCR, 'remote' for a VLM endpoint. */
  readonly pathWithGeometry: DecodedText['path'];
  /**
   * What decode() does after close(): 'reopens' (loads its models or connection again) or
   * 'throws' (rejects with an OpticMemError). Each decoder documents which.
   */
  readonly afterClose: 'reopens' | 'throws';
  /**
   * Check that the text read back matches what was drawn. A decoder that cannot read pixels
   * here (a fake server answers canned text) passes `{ skip: 'why' }`.
   */
  readonly readsText: true | { readonly skip: string };
  /**
   * 'measured' (default): every line has a confidence in 0..1. 'unknown': the decoder cannot
   * measure one (a remote VLM returns text only) and reports -1 on every line.
   */
  readonly confidence?: 'measured' | 'unknown';
}

/** 1 - edit distance / length of `expected`: 1 is a perfect read. */
export function charAccuracy(actual: string, expected: string): number {
  if (expected.length === 0) return actual.length === 0 ? 1 : 0;
  return Math.max(0, 1 - distance(actual, expected) / expected.length);
}

const SAMPLE = [
  'The quick brown fox jumps over the lazy dog.',
  'Meeting moved to Thursday 14:30, room 4B; bring the Q3 report.',
];

export function describeDecoderConformance(name: string, makeDecoder: () => Decoder | Promise<Decoder>, options: DecoderConformanceOptions): void {
  describe(`Decoder conformance: ${name}`, () => {
    let decoder: Decoder;
    let page: TestPage;

    beforeAll(async () => {
      decoder = await makeDecoder();
      page = makePage(SAMPLE, { fontSize: 12, width: 480 });
    });
    afterAll(async () => {
      await decoder?.close();
    });

    it('declares specification v1 and a name', () => {
      expect(decoder.specificationVersion).toBe('v1');
      expect(typeof decoder.name).toBe('string');
      expect(decoder.name.length).toBeGreaterThan(0);
    });

    it('returns DecodedText with path, decoder name, timing and lines', async () => {
      const out = await decoder.decode({ png: page.png });
      expect(out.path).toBe(options.pathWithGeometry);
      expect(out.decoder).toBe(decoder.name);
      expect(Number.isFinite(out.elapsedMs)).toBe(true);
      expect(out.elapsedMs).toBeGreaterThanOrEqual(0);
      expect(out.lines.length).toBeGreaterThan(0);
      for (const line of out.lines) {
        expect(typeof line.text).toBe('string');
        if (options.confidence === 'unknown') {
          expect(line.confidence).toBe(-1);
        } else {
          expect(line.confidence).toBeGreaterThanOrEqual(0);
          expect(line.confidence).toBeLessThanOrEqual(1);
        }
        for (const v of [line.box.x, line.box.y, line.box.width, line.box.height]) expect(Number.isFinite(v)).toBe(true);
      }
      expect(out.text).toBe(out.lines.map((l) => l.text).join('\n'));
    });

    if (options.readsText === true) {
      it('reads back the drawn text', async () => {
        const out = await decoder.decode({ png: page.png });
        expect(charAccuracy(out.text, page.lines.join('\n'))).toBeGreaterThanOrEqual(0.97);
      });
    } else {
      it.skip(`reads back the drawn text (skipped: ${options.readsText.skip})`, () => {});
    }

    it('rejects bytes that are not a PNG with InvalidImageError', async () => {
      const error = await decoder.decode({ png: new TextEncoder().encode('definitely not a png file, just some text bytes') }).catch((e: unknown) => e);
      expect(InvalidImageError.isInstance(error)).toBe(true);
      expect((error as InvalidImageError).field).toBe('png');
    });

    it('rejects a corrupt PNG with InvalidImageError', async () => {
      const corrupt = Uint8Array.from(page.png);
      // Flip bytes in the middle of the file (inside the pixel data), as disk or transfer damage would.
      const mid = corrupt.length >> 1;
      for (let i = mid; i < mid + 16; i++) corrupt[i] = corrupt[i]! ^ 0xff;
      const error = await decoder.decode({ png: corrupt }).catch((e: unknown) => e);
      expect(InvalidImageError.isInstance(error)).toBe(true);
      expect((error as InvalidImageError).message).toMatch(/png/i);
    });

    it('rejects a truncated PNG with InvalidImageError', async () => {
      const error = await decoder.decode({ png: page.png.slice(0, page.png.length >> 1) }).catch((e: unknown) => e);
      expect(InvalidImageError.isInstance(error)).toBe(true);
    });

    it('rejects with an OpticMemError when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort(new Error('caller gave up'));
      const error = await decoder.decode({ png: page.png }, { signal: controller.signal }).catch((e: unknown) => e);
      expect(OpticMemError.isInstance(error)).toBe(true);
    });

    it('rejects with an OpticMemError when the signal aborts mid-decode', async () => {
      const controller = new AbortController();
      const pending = decoder.decode({ png: page.png }, { signal: controller.signal });
      controller.abort();
      const error = await pending.catch((e: unknown) => e);
      expect(OpticMemError.isInstance(error)).toBe(true);
    });

    it(`close() is idempotent, and decode after close ${options.afterClose === 'reopens' ? 'loads again' : 'throws a typed error'}`, async () => {
      const own = await makeDecoder();
      await own.decode({ png: page.png });
      await own.close();
      await own.close();
      const after = own.decode({ png: page.png });
      if (options.afterClose === 'reopens') {
        const out = await after;
        expect(out.lines.length).toBeGreaterThan(0);
        await own.close();
      } else {
        const error = await after.catch((e: unknown) => e);
        expect(OpticMemError.isInstance(error)).toBe(true);
      }
      await own.close();
    });
  });
}
