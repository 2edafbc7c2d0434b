/**
 * The reliability campaigns' quick variants that run processes (the full ones:
 * `npm run eval:reliability`): a few SIGKILLs aimed at writing phases, each resumed and
 * audited; one run of four processes adding, compacting, recalling and ageing at once, in one
 * scope and in four. Each must find nothing. The other campaigns' quick variants are in
 * reliability-inputs.test.ts (two files, so the two test workers share them).
 */
import { describe, expect, it } from 'vitest';
import { crashCampaign, TARGETS } from '../eval/reliability/crash.js';
import { concurrencyCampaign, MODES } from '../eval/reliability/concurrency.js';

describe('reliability campaigns, quick: processes', () => {
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
