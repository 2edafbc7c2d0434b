/**
 * The reliability campaigns' quick variants (the full ones: `npm run eval:reliability`): a few
 * SIGKILLs of `opticmem compress` at random moments, each resumed and audited; a few hundred
 * generated API calls; a few hundred calls over scopes with hostile ids. Each must find nothing.
 */
import { describe, expect, it } from 'vitest';
import { crashCampaign, fuzzCampaign, isolationCampaign } from '../eval/reliability/campaigns.js';

describe('reliability campaigns, quick', () => {
  it('SIGKILL at random moments of compress, then the same command again: nothing lost or doubled, the store checks clean', async () => {
    const r = await crashCampaign({ kills: 3, seed: 7, messages: 40 });
    expect(r.kills).toBe(3);
    expect(r).toMatchObject({ lost: 0, duplicated: 0, failedReopens: 0, checkProblems: 0 });
  }, 240_000);

  it('generated calls through the Memory API succeed or give a typed error naming the field, and a refusal changes nothing', async () => {
    const r = await fuzzCampaign({ inputs: 300, seed: 11 });
    expect(r.examples).toEqual([]);
    expect(r).toMatchObject({ inputs: 300, untyped: 0, changedOnRefusal: 0 });
    expect(r.accepted).toBeGreaterThan(0);
    expect(r.refused).toBeGreaterThan(0);
  }, 120_000);

  it('calls over scopes with hostile ids never return or touch another scope', async () => {
    const r = await isolationCampaign({ calls: 200, seed: 13 });
    expect(r.leaks).toBe(0);
  }, 180_000);
});
