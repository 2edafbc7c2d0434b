/**
 * Published reference points: DeepSeek-OCR (Wei et al., 2025), Table 2, Fox benchmark English
 * pages, decoding precision at 64 (Tiny) and 100 (Small) vision tokens by text-token bucket.
 * Compression = mean text tokens / vision tokens.
 */
export interface PaperPoint {
  readonly visionTokens: 64 | 100;
  readonly textTokens: string;
  readonly ratio: number;
  readonly precision: number;
}

export const DEEPSEEK_OCR_FOX: readonly PaperPoint[] = [
  { visionTokens: 64, textTokens: '600-700', ratio: 10.5, precision: 0.965 },
  { visionTokens: 64, textTokens: '700-800', ratio: 11.8, precision: 0.938 },
  { visionTokens: 64, textTokens: '800-900', ratio: 13.2, precision: 0.838 },
  { visionTokens: 64, textTokens: '900-1000', ratio: 15.1, precision: 0.859 },
  { visionTokens: 64, textTokens: '1000-1100', ratio: 16.5, precision: 0.793 },
  { visionTokens: 64, textTokens: '1100-1200', ratio: 17.7, precision: 0.764 },
  { visionTokens: 64, textTokens: '1200-1300', ratio: 19.7, precision: 0.591 },
  { visionTokens: 100, textTokens: '600-700', ratio: 6.7, precision: 0.985 },
  { visionTokens: 100, textTokens: '700-800', ratio: 7.5, precision: 0.973 },
  { visionTokens: 100, textTokens: '800-900', ratio: 8.5, precision: 0.968 },
  { visionTokens: 100, textTokens: '900-1000', ratio: 9.7, precision: 0.968 },
  { visionTokens: 100, textTokens: '1000-1100', ratio: 10.6, precision: 0.915 },
  { visionTokens: 100, textTokens: '1100-1200', ratio: 11.3, precision: 0.898 },
  { visionTokens: 100, textTokens: '1200-1300', ratio: 12.6, precision: 0.871 },
];
