/**
 * The reliability campaigns' quick variants (the full ones: `npm run eval:reliability`): a few
 * SIGKILLs aimed at writing phases, each resumed and audited; a few hundred
 * generated API calls; a few hundred calls over scopes with hostile ids; one store damaged each
 * way; one run of four processes adding, compacting, recalling and ageing at once, in one scope
 * and in four. Each must find nothing.
 */
import { describe, expect, it } from 'vitest';
import { fuzzCampaign, isolationCampaign } from '../eval/reliability/campaigns.js';
import { crashCampaign, TARGETS } from '../eval/reliability/crash.js';
import { cliFuzzCampaign } from '../eval/reliability/cli-fuzz.js';
import { corruptionCampaign, DAMAGE_KINDS } from '../eval/reliability/corruption.js';
import { concurrencyCampaign, MODES } from '../eval/reliability/concurrency.js';

describe('reliability campaigns, quick', () => {
  it('SIGKILL inside writing phases of compress, background compaction, ageing and import, then the same work again: nothing lost or doubled, the store checks clean', async () => {
    const aimed = ['rendering', 'committing pages', 'background compaction', 'ageing', 'import'];
    const targets = TARGETS.filter((t) => aimed.includes(t.phase) && !((t.workload === 'age' || t.workload === 'rerender') && t.phase === 'committing pages'));
    const r = await crashCampaign({ kills: targets.length, seed: 7, targets });
    expect(r.kills).toBe(targets.length);
    expect(r).toMatchObject({ lost: 0, duplicated: 0, failedReopens: 0, checkProblems: 0 });
    // The kills land inside the phases they are aimed at, not after the work.
    expect(r.landed).toBeGreaterThanOrEqual(targets.length - 1);
    expect(new Set(r.byPhase.map((p) => p.workload))).toEqual(new Set(['compress', 'background', 'age', 'rerender', 'import']));
  }, 300_000);

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

  it('four processes adding, compacting, recalling and ageing one store at once lose, double and misplace nothing', async () => {
    const rows = await concurrencyCampaign({ runs: 1, messages: 12 });
    expect(rows.map((r) => r.mode)).toEqual([...MODES]);
    for (const r of rows) {
      expect(r.examples, r.mode).toEqual([]);
      expect(r, r.mode).toMatchObject({ runs: 1, messages: 48, lost: 0, duplicated: 0, misplaced: 0, checkProblems: 0, errors: 0, crashedWorkers: 0 });
      expect(r.pages, r.mode).toBeGreaterThan(0);
    }
  }, 240_000);
});
