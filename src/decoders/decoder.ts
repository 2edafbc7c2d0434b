import type { PageGeometry } from '../../renderers/page.js';

export interface DecodeOptions {
  /**
   * Use the page's line geometry (fast path: recognition only). Defaults to true when the
   * page carries geometry; false runs text detection first.
   */
  readonly useGeometry?: boolean;
  readonly signal?: AbortSignal;
}

export interface DecoderInput {
  /** PNG bytes. Geometry is read from the PNG's `opticmem` chunk when not given here. */
  readonly png: Uint8Array;
  readonly geometry?: PageGeometry;
}

export interface DecodedLine {
  readonly text: string;
  /** Mean per-character confidence, 0..1; -1 when the decoder cannot measure it (remote VLMs report none). */
  readonly confidence: number;
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

export interface DecodedText {
  /** Lines joined with '\n' in reading order. */
  readonly text: string;
  readonly lines: readonly DecodedLine[];
  /** Which path ran: 'geometry' (recognition only), 'detection', or 'remote'. */
  readonly path: 'geometry' | 'detection' | 'remote';
  readonly decoder: string;
  readonly elapsedMs: number;
}

/** Turns a page image back into text. Implementations: local ONNX OCR, remote VLM. */
export interface DecoderV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /**
   * How many decodes this decoder serves at once; callers with many pages (compaction, ageing)
   * keep that many in flight. Optional, default 1 (a local reader on the CPU).
   */
  readonly concurrency?: number;
  decode(input: DecoderInput, options?: DecodeOptions): Promise<DecodedText>;
  /** Releases native sessions or connections. Safe to call twice. */
  close(): Promise<void>;
}

export type Decoder = DecoderV1;
