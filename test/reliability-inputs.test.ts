/**
 * The reliability campaigns' quick variants on inputs and stores (the full ones:
 * `npm run eval:reliability`): a few hundred generated API calls and command lines; a few
 * hundred calls over scopes with hostile ids; one store damaged each way. Each must find nothing.
 */
import { describe, expect, it } from 'vitest';
import { fuzzCampaign, isolationCampaign } from '../eval/reliability/campaigns.js';
import { cliFuzzCampaign } from '../eval/reliability/cli-fuzz.js';
import { corruptionCampaign, DAMAGE_KINDS } from '../eval/reliability/corruption.js';

describe('reliability campaigns, quick: inputs and damaged stores', () => {
  it('generated calls through the Memory API succeed or give a typed error naming the field, and a refusal changes nothing', async () => {
    const r = await fuzzCampaign({ inputs: 300, seed: 11 });
    expect(r.examples).toEqual([]);
    expect(r).toMatchObject({ inputs: 300, untyped: 0, changedOnRefusal: 0 });
    expect(r.accepted).toBeGreaterThan(0);
    expect(r.refused).toBeGreaterThan(0);
  }, 120_000);

  it('a store damaged each way gives typed errors only, keeps the other pages readable, and a write makes nothing worse', async () => {
    const rows = await corruptionCampaign({ cases: DAMAGE_KINDS.length, seed: 17 });
    expect(rows.map((r) => r.kind)).toEqual([...DAMAGE_KINDS]);
    for (const r of rows) {
      expect(r.examples, r.kind).toEqual([]);
      expect(r.untyped, r.kind).toBe(0);
      expect(r.worseAfterWrite, r.kind).toBe(0);
      expect(r.answered + r.typed, r.kind).toBeGreaterThan(0);
    }
    // Damage to one page's image or row leaves every other page readable.
    for (const r of rows.filter((x) => x.kind === 'page image bytes' || x.kind === 'impossible page values')) expect(r.otherReadable, r.kind).toBe(r.otherPages);
  }, 240_000);

  it('generated command lines and input files: exit 0 or one typed error, never a stack trace, a native panic or a hang', async () => {
    const r = await cliFuzzCampaign({ runs: 16, seed: 19 });
    expect(r.examples).toEqual([]);
    expect(r).toMatchObject({ runs: 16, untyped: 0, hangs: 0 });
    expect(r.typed).toBeGreaterThan(0);
  }, 300_000);

  it('calls over scopes with hostile ids never return or touch another scope', async () => {
    const r = await isolationCampaign({ calls: 200, seed: 13 });
    expect(r.leaks).toBe(0);
  }, 180_000);
});
