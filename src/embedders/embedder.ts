/** Turns text into vectors for semantic recall. Optional: without one, recall is full-text only. */
export interface EmbedderV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** Length of every vector this embedder returns. */
  readonly dimension: number;
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
}

export type Embedder = EmbedderV1;
