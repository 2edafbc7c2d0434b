import { z } from 'zod';

/** How much stays as text and how hard older turns are compressed. */
export const TiersSchema = z
  .object({
    /** Recent turns kept as text, in text tokens, before compaction moves the oldest to pages. */
    hotBudgetTokens: z.number().int().positive('hotBudgetTokens must be > 0').default(2000),
    lossless: z
      .object({
        ratio: z.number().positive().default(10),
        /** Closed-loop target: pages are re-planned at lower ratios until they decode this well. */
        minFidelity: z.number().min(0).max(1).default(0.98),
      })
      .strict()
      .default({ ratio: 10, minFidelity: 0.98 }),
    // The ladder (Memory.open's `forgetting.ladder`) sets the ratios pages fade through; a
    // separate forgetting ratio here was never read, so it is refused rather than ignored.
    forgetting: z
      .never({ error: "tiers.forgetting is not an option: the ratios pages fade through come from the ladder. Pass forgetting: { ladder: { steps: [{ name, ratio, minRetention }, ...] } } to Memory.open instead" })
      .optional(),
  })
  .strict();

export type TiersInput = z.input<typeof TiersSchema>;
export type Tiers = z.output<typeof TiersSchema>;
