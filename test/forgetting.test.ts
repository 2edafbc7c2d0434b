import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, pageRetention, type AgeingStrategy } from '../memory/ageing.js';
import { DEEPSEEK_MODE_LADDER, RATIO_LADDER, stepFor } from '../memory/ladder.js';
import { Memory } from '../memory/memory.js';
import { createEbbinghausCurve, createFsrsCurve } from '../memory/retention.js';
import { createOnnxDecoder } from '../src/decoders/onnx/index.js';
import { InvalidInputError } from '../src/errors.js';

/** The InvalidInputError a call rejects with (fails the test if it resolves or throws anything else). */
async function inputError(p: Promise<unknown>): Promise<InvalidInputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

describe('retention curves', () => {
  it('Ebbinghaus: R = e^(-t/S), S grows by the recall boost, importance multiplies S', () => {
    const c = createEbbinghausCurve();
    expect(c.retention(0, { strength: 1, importance: 1 })).toBe(1);
    expect(c.retention(1, { strength: 1, importance: 1 })).toBeCloseTo(Math.exp(-1), 12);
    expect(c.retention(1, { strength: 2, importance: 1 })).toBeCloseTo(Math.exp(-0.5), 12);
    expect(c.retention(3, { strength: 1.5, importance: 2 })).toBeCloseTo(Math.exp(-1), 12);
    // Not MemoryBank's e^(-t/5*S) = e^(-tS/5): a stronger memory must retain more, not less.
    expect(c.retention(5, { strength: 3, importance: 1 })).toBeGreaterThan(c.retention(5, { strength: 1, importance: 1 }));
    expect(c.strengthen(2, { strength: 1, importance: 1 })).toBe(2);
    expect(() => c.retention(Number.NaN, { strength: 1, importance: 1 })).toThrow(InvalidInputError);
  });

  it('FSRS-style: R(t = S) = 0.9, power-law tail, fading memories gain more from a recall', () => {
    const c = createFsrsCurve();
    expect(c.retention(0, { strength: 4, importance: 1 })).toBe(1);
    expect(c.retention(4, { strength: 4, importance: 1 })).toBeCloseTo(0.9, 12);
    // (1 + 19/81 * 9)^-0.5 by hand at t = 9 S
    expect(c.retention(36, { strength: 4, importance: 1 })).toBeCloseTo(Math.pow(1 + (19 / 81) * 9, -0.5), 12);
    expect(c.retention(365, { strength: 1, importance: 1 })).toBeGreaterThan(createEbbinghausCurve().retention(365, { strength: 1, importance: 1 }));
    const early = c.strengthen(1, { strength: 4, importance: 1 });
    const late = c.strengthen(20, { strength: 4, importance: 1 });
    expect(early).toBeGreaterThan(4);
    expect(late).toBeGreaterThan(early);
  });

  it('FSRS-4.5 values computed by hand', () => {
    const s4 = { strength: 4, importance: 1 };
    // R(36, S = 4) = (1 + 19/81 * 9)^-0.5 = 3.111111^-0.5
    expect(createFsrsCurve().retention(36, s4)).toBeCloseTo(0.5669467, 7);
    // S' = S (1 + e^1.6474 (11 - D) S^-0.1367 (e^(1.0461 (1 - R)) - 1)); e^1.6474 = 5.193459,
    // 4^-0.1367 = 0.827367; at t = 1, R = 1.058642^-0.5 = 0.971909; at t = 20, R = 2.172840^-0.5 = 0.678401.
    const d5 = createFsrsCurve({ difficulty: 5 });
    expect(d5.strengthen(1, s4)).toBeCloseTo(7.075453, 5); // 4 (1 + 5.193459 * 6 * 0.827367 * 0.029822)
    expect(d5.strengthen(20, s4)).toBeCloseTo(45.24344, 4); // 4 (1 + 5.193459 * 6 * 0.827367 * 0.399934)
    expect(d5.strengthen(0, s4)).toBe(4); // R = 1: a recall at once adds nothing
    // The default difficulty is FSRS-4.5's initial difficulty for 'good', w4 = 5.1618 (11 - D = 5.8382).
    const c = createFsrsCurve();
    expect(c.strengthen(1, s4)).toBeCloseTo(6.992518, 5);
    expect(c.strengthen(20, s4)).toBeCloseTo(44.13124, 4);
    expect(c.initialStrength).toBe(3.7145);
  });

  it('Ebbinghaus: massed recalls do not stack; the boost grows with the spacing up to a day', () => {
    const c = createEbbinghausCurve();
    expect(c.strengthen(0, { strength: 1, importance: 1 })).toBe(1);
    expect(c.strengthen(0.25, { strength: 1, importance: 1 })).toBe(1.25);
    expect(c.strengthen(3, { strength: 1, importance: 1 })).toBe(2);
    let strength = 1;
    for (let i = 0; i < 730; i++) strength = c.strengthen(0, { strength, importance: 1 });
    expect(strength).toBe(1);
    expect(createEbbinghausCurve({ spacingDays: 2 }).strengthen(1, { strength: 1, importance: 1 })).toBe(1.5);
  });

  it('refuses importance or strength outside > 0 instead of reading them as forgotten', () => {
    for (const c of [createEbbinghausCurve(), createFsrsCurve()]) {
      expect(() => c.retention(0, { strength: 1, importance: 0 })).toThrow(/'importance' must be a finite number > 0/);
      expect(() => c.retention(0, { strength: Number.NaN, importance: 1 })).toThrow(InvalidInputError);
      expect(() => c.strengthen(1, { strength: -1, importance: 1 })).toThrow(/'strength'/);
      expect(c.retention(0, { strength: 1, importance: 0.01 })).toBe(1);
    }
  });

  it('maps retention to ladder steps, dropping below the last', () => {
    expect(stepFor(RATIO_LADDER, 0.95)).toBe(0);
    expect(stepFor(RATIO_LADDER, 0.5)).toBe(1);
    expect(stepFor(RATIO_LADDER, 0.3)).toBe(2);
    expect(stepFor(RATIO_LADDER, 0.1)).toBe(3);
    expect(stepFor(RATIO_LADDER, 0.01)).toBe(-1);
  });
});

describe('ageing a real store', () => {
  const decoder = createOnnxDecoder();
  const dirs: string[] = [];
  let clock = Date.UTC(2026, 0, 1);
  let memory: Memory;
  const text = 'On Tuesday we walked the Alfama and ate grilled sardines near the castle; the tram 28 was packed. '.repeat(6);

  beforeEach(async () => {
    clock = Date.UTC(2026, 0, 1);
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-age-'));
    dirs.push(dir);
    memory = await Memory.open({ path: dir, decoder, profile: 'deepseek-ocr:small', autoCompact: false, now: () => clock, forgetting: { curve: 'ebbinghaus' } });
  });
  afterAll(async () => {
    await memory.close();
    await decoder.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function onePage(userId: string) {
    await memory.add({ role: 'user', content: text }, { userId });
    await memory.compact({ userId }, { all: true });
    const [page] = (await memory.list({ userId })).pages;
    return page!;
  }

  it('a recalled page decays more slowly than its untouched twin', async () => {
    await onePage('twin-a');
    await onePage('twin-b');
    clock += 0.5 * DAY_MS;
    expect((await memory.recall('sardines', { scope: { userId: 'twin-a' } })).length).toBe(1);
    clock += 1.5 * DAY_MS;
    const [a] = (await memory.list({ userId: 'twin-a' })).pages;
    const [b] = (await memory.list({ userId: 'twin-b' })).pages;
    expect(a!.strength).toBeGreaterThan(b!.strength);
    expect(pageRetention(a!, clock, memory.curve)).toBeGreaterThan(pageRetention(b!, clock, memory.curve));
    const result = await memory.age();
    const tierIndex = async (userId: string) => {
      const tier = (await memory.list({ userId })).pages[0]!.tier;
      return RATIO_LADDER.steps.findIndex((s) => s.name === tier);
    };
    expect(result.moved.map((m) => m.pageId)).toContain(b!.id);
    expect(await tierIndex('twin-a')).toBeLessThan(await tierIndex('twin-b'));
  });

  it('moves pages down with smaller images, idempotently, never back up, and pinned pages never', async () => {
    const page = await onePage('walker');
    const pinned = await onePage('keeper');
    await memory.pin(pinned.id, { userId: 'keeper' });
    const tiers: number[] = [];
    for (const days of [0.3, 1, 2, 3.5]) {
      clock = Date.UTC(2026, 0, 1) + days * DAY_MS;
      const before = (await memory.list({ userId: 'walker' })).pages[0];
      const r = await memory.age();
      const after = (await memory.list({ userId: 'walker' })).pages[0];
      if (!after) break;
      tiers.push(RATIO_LADDER.steps.findIndex((s) => s.name === after.tier));
      const move = r.moved.find((m) => m.pageId === page.id);
      if (move) {
        expect(move.strategy).toBe('downsample');
        expect(after.visualTokens).toBeLessThan(before!.visualTokens);
        const full = await memory.get(page.id, { userId: 'walker' });
        expect(full!.png[0]).toBe(0x89);
        expect(full!.decodedText.length).toBeGreaterThan(20);
      }
    }
    expect(tiers.length).toBeGreaterThan(2);
    for (let i = 1; i < tiers.length; i++) expect(tiers[i]!).toBeGreaterThanOrEqual(tiers[i - 1]!);
    expect(tiers.at(-1)!).toBeGreaterThan(0);
    const kept = (await memory.list({ userId: 'keeper' })).pages[0]!;
    expect(kept.tier).toBe('lossless');
    expect(kept.visualTokens).toBe(pinned.visualTokens);
  });

  it('is idempotent for the same now', async () => {
    await onePage('same');
    clock += 1.2 * DAY_MS;
    await memory.age();
    const snapshot = await memory.get((await memory.list({ userId: 'same' })).pages[0]!.id, { userId: 'same' });
    const again = await memory.age();
    expect(again.moved).toEqual([]);
    expect(again.dropped).toEqual([]);
    const after = await memory.get(snapshot!.id, { userId: 'same' });
    expect(Buffer.from(after!.png).equals(Buffer.from(snapshot!.png))).toBe(true);
  });

  it('drops faded pages with a tombstone, or without one when purging', async () => {
    await onePage('fader');
    await onePage('purged');
    clock += 30 * DAY_MS;
    const r = await memory.age({ scope: { userId: 'fader' } });
    expect(r.dropped.length).toBe(1);
    expect((await memory.list({ userId: 'fader' })).pages).toEqual([]);
    const [stone] = await memory.store.listTombstones({ userId: 'fader' });
    expect(stone).toMatchObject({ userId: 'fader', turnCount: 1 });
    expect(stone!.reason).toMatch(/retention/);
    await memory.age({ scope: { userId: 'purged' }, purge: true });
    expect(await memory.store.listTombstones({ userId: 'purged' })).toEqual([]);
  });

  it('reports progress after each page it moves or drops', async () => {
    await onePage('progress-a');
    await onePage('progress-b');
    await onePage('progress-c');
    clock += 30 * DAY_MS;
    const seen: [number, number][] = [];
    const r = await memory.age({ onProgress: (done, total) => seen.push([done, total]) });
    const changed = r.moved.length + r.dropped.length;
    expect(changed).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toEqual([changed, changed]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThan(seen[i - 1]![0]);
    expect(await inputError(memory.age({ onProgress: 'yes' } as never))).toMatchObject({ field: 'options.onProgress' });
  });

  it('re-renders from decoded text as the second strategy', async () => {
    const page = await onePage('rerender');
    clock += 1.2 * DAY_MS;
    const r = await memory.age({ strategy: 'rerender', scope: { userId: 'rerender' } });
    const moved = r.moved.find((m) => m.pageId === page.id)!;
    expect(moved.strategy).toBe('rerender');
    expect(moved.visualTokensAfter).toBeLessThan(moved.visualTokensBefore);
    expect(moved.ratioAfter).toBeCloseTo(page.textTokens / moved.visualTokensAfter, 12);
    const after = (await memory.get(page.id, { userId: 'rerender' }))!;
    expect(after.fidelity).toBeGreaterThan(0.8);
    expect(after.decodedText).toMatch(/sardines/);
  });

  it('refuses bad clocks with typed errors', async () => {
    await onePage('clock');
    for (const now of [Number.NaN, -5, Number.POSITIVE_INFINITY]) {
      const err = await memory.age({ now }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe('now');
    }
    expect((await inputError(memory.age({ now: new Date('not a date') }))).field).toBe('now');
    await memory.age({ now: clock + DAY_MS });
    const err = await memory.age({ now: clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/before the last ageing/);
  });

  it('keeps the last ageing per scope, and a clock behind another process is not refused', async () => {
    const HOUR = DAY_MS / 24;
    await onePage('scope-a');
    await onePage('scope-b');
    // Scope A aged to a later time first does not stop scope B from being aged to an earlier one.
    await memory.age({ scope: { userId: 'scope-a' }, now: clock + 3 * HOUR });
    expect((await memory.age({ scope: { userId: 'scope-b' }, now: clock + 2 * HOUR })).examined).toBe(1);
    // Within one scope an explicit time before its last ageing is still refused...
    expect((await inputError(memory.age({ scope: { userId: 'scope-a' }, now: clock + 2 * HOUR }))).message).toMatch(/before the last ageing/);
    // ...and so is one before the last ageing of the whole store.
    await memory.age({ now: clock + 5 * HOUR });
    expect((await inputError(memory.age({ scope: { userId: 'scope-b' }, now: clock + 4 * HOUR }))).message).toMatch(/before the last ageing/);
    // The memory's own clock may lag one that aged a moment later elsewhere: ageing goes ahead and the record stays.
    clock += 4 * HOUR;
    expect((await memory.age()).examined).toBe(2);
    expect(Number(await memory.store.getMeta('last_aged_at'))).toBe(clock + HOUR);
  });

  it('refuses a now before a page was said, changing nothing', async () => {
    const page = await onePage('early');
    const err = await inputError(memory.age({ now: clock - DAY_MS }));
    expect(err.field).toBe('now');
    expect(err.message).toMatch(new RegExp(`before page '${page.id}' was last said or recalled`));
    expect(await memory.store.getMeta('last_aged_at')).toBeUndefined();
    expect((await memory.get(page.id, { userId: 'early' }))!.updatedAt).toBe(page.updatedAt);
  });

  it('a broken clock fails add, compact, recall, pin and age with one typed error naming now', async () => {
    const page = await onePage('broken');
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-age-'));
    dirs.push(dir);
    let bad = Number.NaN;
    const broken = await Memory.open({ path: dir, decoder, profile: 'deepseek-ocr:small', autoCompact: false, now: () => bad, forgetting: { curve: 'fsrs' } });
    try {
      const scope = { userId: 'broken' };
      for (const call of [
        () => broken.add({ role: 'user', content: 'hi' }, scope),
        () => broken.compact(scope, { all: true }),
        () => broken.age(),
        () => broken.pin(page.id, scope),
      ]) {
        const err = await inputError(call());
        expect(err.field).toBe('now');
        expect(err.message).toMatch(/clock .* must be a valid time.*got NaN/);
      }
      bad = clock;
      await broken.add({ role: 'user', content: text }, scope);
      await broken.compact(scope, { all: true });
      bad = Number.NaN;
      expect((await inputError(broken.recall('sardines', { scope }))).field).toBe('now');
      bad = -1;
      expect((await inputError(broken.add({ role: 'user', content: 'hi' }, scope))).field).toBe('now');
      // Nothing was stored with a broken time.
      bad = clock;
      const listed = await broken.list(scope);
      expect(listed.turns).toEqual([]);
      expect(listed.pages.every((p) => Number.isFinite(p.createdAt) && p.recallCount === 0)).toBe(true);
    } finally {
      await broken.close();
    }
  });

  it('validates age, pin and importance options strictly, naming the field', async () => {
    const page = await onePage('strict');
    const scope = { userId: 'strict' };
    clock += 30 * DAY_MS; // far enough to drop the page
    const purge = await inputError(memory.age({ purge: 'no' } as never));
    expect(purge.field).toBe('options.purge');
    expect(purge.message).toMatch(/'options.purge': must be true or false/);
    expect((await inputError(memory.age({ strategy: 'blur' } as never))).message).toMatch(/'options.strategy': must be 'downsample' or 'rerender'/);
    expect((await inputError(memory.age({ dryRun: true } as never))).message).toMatch(/dryRun/);
    expect((await inputError(memory.pin(page.id, scope, 'yes' as never))).field).toBe('pinned');
    expect((await inputError(memory.pin(42 as never, scope))).field).toBe('pageId');
    expect((await inputError(memory.setImportance(page.id, scope, 0))).field).toBe('importance');
    expect((await inputError(memory.setImportance(page.id, scope, Number.NaN))).field).toBe('importance');
    // None of the refused calls dropped or changed the page.
    expect((await memory.get(page.id, scope))!).toMatchObject({ tier: 'lossless', pinned: false, importance: 1 });
    expect(await memory.store.listTombstones(scope)).toEqual([]);
  });

  it('setImportance slows fading: an important page stays higher than its twin', async () => {
    const a = await onePage('important');
    const b = await onePage('ordinary');
    await memory.setImportance(a.id, { userId: 'important' }, 3);
    expect((await memory.get(a.id, { userId: 'important' }))!.importance).toBe(3);
    clock += 1.2 * DAY_MS; // e^-1.2 = 0.30 (20x step); with importance 3, e^-0.4 = 0.67 (15x)
    const r = await memory.age();
    expect(r.moved.find((m) => m.pageId === a.id)?.to).toBe('15x');
    expect(r.moved.find((m) => m.pageId === b.id)?.to).toBe('forgetting');
  });

  it('never moves a page back up: not after a recall, a raised importance, nor from an unknown tier', async () => {
    const page = await onePage('climber');
    const scope = { userId: 'climber' };
    clock += 0.5 * DAY_MS; // e^-0.5 = 0.61: lossless -> 15x
    expect((await memory.age()).moved.map((m) => [m.pageId, m.to])).toEqual([[page.id, '15x']]);
    const moved = (await memory.get(page.id, scope))!;
    expect(moved.visualTokens).toBeLessThan(page.visualTokens);
    // A recall restarts the curve (retention 1, the lossless step) and a raised importance lifts it further.
    expect((await memory.recall('sardines', { scope })).map((h) => h.pageId)).toEqual([page.id]);
    await memory.setImportance(page.id, scope, 50);
    const lifted = (await memory.get(page.id, scope))!;
    expect(pageRetention(lifted, clock + 0.01 * DAY_MS, memory.curve)).toBeGreaterThan(RATIO_LADDER.steps[0]!.minRetention);
    clock += 0.01 * DAY_MS;
    const r = await memory.age();
    expect(r.moved).toEqual([]);
    expect(r.unchanged).toBe(1);
    const after = (await memory.get(page.id, scope))!;
    expect([after.tier, after.visualTokens, after.profile]).toEqual(['15x', moved.visualTokens, moved.profile]);
    expect(Buffer.from(after.png).equals(Buffer.from(moved.png))).toBe(true);

    // A tier this ladder does not know counts as its last step: ageing may drop it, never lift it.
    await memory.store.updatePage(scope, page.id, { tier: 'mystery', importance: 1 });
    const fresh = await onePage('fresh-twin');
    clock += 0.01 * DAY_MS;
    const again = await memory.age();
    expect(again.moved).toEqual([]);
    expect((await memory.get(page.id, scope))!.tier).toBe('mystery');
    expect((await memory.get(fresh.id, { userId: 'fresh-twin' }))!.tier).toBe('lossless');
  });

  it('keeps one curve and ladder per store: another is refused, none means the stored one', async () => {
    const page = await onePage('policy');
    clock += 0.5 * DAY_MS;
    await memory.age();
    const path = memory.store.uri;
    const ladder = await inputError(Memory.open({ path, decoder, autoCompact: false, now: () => clock, forgetting: { ladder: 'deepseek-modes' } }));
    expect(ladder.field).toBe('forgetting.ladder');
    expect(ladder.message).toMatch(/on 'ratio', not 'deepseek-modes'.*--ladder ratio/);
    const curve = await inputError(Memory.open({ path, decoder, autoCompact: false, now: () => clock, forgetting: { curve: 'fsrs' } }));
    expect(curve.field).toBe('forgetting.curve');
    expect(curve.message).toMatch(/'ebbinghaus' curve, not 'fsrs'/);
    const reopened = await Memory.open({ path, decoder, profile: 'deepseek-ocr:small', autoCompact: false, now: () => clock });
    try {
      expect(reopened.curve.name).toBe('ebbinghaus');
      expect(reopened.ladder).toEqual(RATIO_LADDER);
      expect((await reopened.get(page.id, { userId: 'policy' }))!.tier).toBe('15x');
    } finally {
      await reopened.close();
    }
  });

  it('a step that cannot shrink the image is not taken; one the image already meets only renames', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-age-'));
    dirs.push(dir);
    // Tiny (64 tokens) is the smallest DeepSeek-OCR canvas: no ratio step can shrink its pages.
    const tiny = await Memory.open({ path: dir, decoder, profile: 'deepseek-ocr:tiny', autoCompact: false, now: () => clock, forgetting: { curve: 'ebbinghaus' } });
    try {
      await tiny.add({ role: 'user', content: text }, { userId: 'small-page' });
      await tiny.compact({ userId: 'small-page' }, { all: true });
      const [page] = (await tiny.list({ userId: 'small-page' })).pages;
      expect(page!.visualTokens).toBe(64);
      clock += 0.5 * DAY_MS;
      const r = await tiny.age();
      expect(r).toMatchObject({ moved: [], cannotShrink: 1, unchanged: 0 });
      expect((await tiny.get(page!.id, { userId: 'small-page' }))!.tier).toBe('lossless');
    } finally {
      await tiny.close();
    }

    // A page whose ratio already reaches 15x takes the 15x step without re-encoding.
    const listed = await onePage('dense');
    const page = (await memory.get(listed.id, { userId: 'dense' }))!;
    await memory.store.updatePage({ userId: 'dense' }, page.id, { textTokens: page.visualTokens * 16 });
    clock += 0.5 * DAY_MS;
    const r = await memory.age({ scope: { userId: 'dense' } });
    expect(r.moved).toEqual([expect.objectContaining({ pageId: page.id, from: 'lossless', to: '15x', strategy: 'kept', visualTokensBefore: page.visualTokens, visualTokensAfter: page.visualTokens, ratioAfter: 16 })]);
    const after = (await memory.get(page.id, { userId: 'dense' }))!;
    expect(after.tier).toBe('15x');
    expect(Buffer.from(after.png).equals(Buffer.from(page.png))).toBe(true);
  });

  it('repairs a page whose strength is not a number instead of dropping it', async () => {
    const page = await onePage('nan');
    // What a rehearsal under a broken clock used to store. Updates refuse NaN now, so the row is written whole.
    const scope = { userId: 'nan' };
    await expect(memory.store.updatePage(scope, page.id, { strength: Number.NaN })).rejects.toThrow(/update\.strength/);
    const row = (await memory.store.getPage(scope, page.id))!;
    await memory.store.deletePages(scope, [page.id]);
    await memory.store.addPages([{ ...row, strength: Number.NaN }]);
    expect((await memory.get(page.id, { userId: 'nan' }))!.strength).toBeNaN();
    clock += 0.1 * DAY_MS;
    const r = await memory.age();
    expect(r.repaired).toEqual([page.id]);
    expect(r.dropped).toEqual([]);
    expect((await memory.get(page.id, { userId: 'nan' }))!.strength).toBe(memory.curve.initialStrength);
  });

  it('writes a tombstone before dropping, and a rerun after a crash writes no second one', async () => {
    const page = await onePage('crash');
    const scope = { userId: 'crash' };
    // What a crash between the two writes leaves: the tombstone, and the page still there.
    await memory.store.addTombstones([
      { id: 'left-by-crash', userId: 'crash', agentId: '', sessionId: '', pageId: page.id, turnCount: 1, startTime: page.startTime, endTime: page.endTime, tier: 'lossless', reason: 'retention 0.001 below 0.08 (ebbinghaus)', droppedAt: clock },
    ]);
    clock += 30 * DAY_MS;
    const r = await memory.age({ scope });
    expect(r.dropped.map((d) => d.pageId)).toEqual([page.id]);
    expect(await memory.get(page.id, scope)).toBeUndefined();
    expect((await memory.store.listTombstones(scope)).map((t) => t.id)).toEqual(['left-by-crash']);
  });
});

describe('rehearsal under FSRS', () => {
  it('a recall counts: recallCount, lastRecalledAt and the FSRS strength update', async () => {
    const decoder = createOnnxDecoder();
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-fsrs-'));
    let clock = Date.UTC(2026, 0, 1);
    const memory = await Memory.open({ path: dir, decoder, profile: 'deepseek-ocr:small', autoCompact: false, now: () => clock });
    try {
      const scope = { userId: 'fsrs' };
      await memory.add({ role: 'user', content: 'The ferry to Cacilhas leaves every twenty minutes from Cais do Sodré. '.repeat(4) }, scope);
      await memory.compact(scope, { all: true });
      const [page] = (await memory.list(scope)).pages;
      expect(memory.curve.name).toBe('fsrs');
      expect(page!.strength).toBe(3.7145);
      clock += 20 * DAY_MS;
      expect((await memory.recall('Cacilhas ferry', { scope })).map((h) => h.pageId)).toEqual([page!.id]);
      const once = (await memory.get(page!.id, scope))!;
      expect(once.recallCount).toBe(1);
      expect(once.lastRecalledAt).toBe(clock);
      // 3.7145 (1 + e^1.6474 (11 - 5.1618) 3.7145^-0.1367 (e^(1.0461 (1 - R)) - 1)) with
      // R = (1 + 19/81 * 20/3.7145)^-0.5 = 0.664751: 3.7145 (1 + 5.193459 * 5.8382 * 0.835785 * 0.420067)
      expect(once.strength).toBeCloseTo(43.2556, 3);
      expect(once.strength).toBeCloseTo(createFsrsCurve().strengthen(20, { strength: 3.7145, importance: 1 }), 10);
      // Asked again at the same instant: counted, but no stronger (R = 1).
      await memory.recall('Cacilhas ferry', { scope });
      const twice = (await memory.get(page!.id, scope))!;
      expect(twice.recallCount).toBe(2);
      expect(twice.strength).toBe(once.strength);
      // Looking without rehearsing changes nothing.
      clock += DAY_MS;
      await memory.recall('Cacilhas ferry', { scope, rehearse: false });
      expect((await memory.get(page!.id, scope))!).toMatchObject({ recallCount: 2, lastRecalledAt: clock - DAY_MS });
    } finally {
      await memory.close();
      await decoder.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the DeepSeek-OCR mode ladder', () => {
  const decoder = createOnnxDecoder();
  const dirs: string[] = [];
  afterAll(async () => {
    await decoder.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const text = 'On Tuesday we walked the Alfama and ate grilled sardines near the castle; the tram 28 was packed. '.repeat(8);

  it('needs a DeepSeek-OCR profile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-modes-'));
    dirs.push(dir);
    const err = await inputError(Memory.open({ path: dir, decoder, profile: 'gpt-4o', forgetting: { ladder: 'deepseek-modes' } }));
    expect(err.field).toBe('forgetting.ladder');
    expect(err.message).toMatch(/'deepseek-ocr:gundam'.*profile is 'gpt-4o'/);
  });

  for (const strategy of ['downsample', 'rerender'] as AgeingStrategy[]) {
    it(`walks a page Gundam -> Large -> Base -> Small -> Tiny -> dropped (${strategy})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'opticmem-modes-'));
      dirs.push(dir);
      const start = Date.UTC(2026, 0, 1);
      let clock = start;
      const memory = await Memory.open({ path: dir, decoder, autoCompact: false, now: () => clock, forgetting: { curve: 'ebbinghaus', ladder: 'deepseek-modes' } });
      try {
        expect(memory.profile.name).toBe('deepseek-ocr:base');
        const scope = { userId: 'modes' };
        await memory.add({ role: 'user', content: text }, scope);
        await memory.compact(scope, { all: true });
        const [page] = (await memory.list(scope)).pages;
        // Compacted at the first step's mode, with tiles: n x 100 + 256 > Large's 400.
        expect(page).toMatchObject({ tier: 'gundam', profile: 'deepseek-ocr:gundam' });
        expect(page!.visualTokens).toBeGreaterThanOrEqual(456);
        expect((page!.visualTokens - 256) % 100).toBe(0);
        // R = e^-t (S = 1 day): 0.74, 0.50, 0.30, 0.14 fall on Large, Base, Small and Tiny.
        const walk: [number, string, string, number, number, number][] = [
          [0.3, 'large', 'deepseek-ocr:large', 400, 1280, 1280],
          [0.7, 'base', 'deepseek-ocr:base', 256, 1024, 1024],
          [1.2, 'small', 'deepseek-ocr:small', 100, 640, 640],
          [2, 'tiny', 'deepseek-ocr:tiny', 64, 512, 512],
        ];
        let tokens = page!.visualTokens;
        let tier = 'gundam';
        for (const [days, step, profile, visual, width, height] of walk) {
          clock = start + days * DAY_MS;
          const r = await memory.age({ strategy });
          expect(r.moved).toEqual([expect.objectContaining({ pageId: page!.id, from: tier, to: step, strategy, profileAfter: profile, visualTokensBefore: tokens, visualTokensAfter: visual })]);
          expect(visual).toBeLessThan(tokens);
          const stored = (await memory.get(page!.id, scope))!;
          expect(stored).toMatchObject({ tier: step, profile, visualTokens: visual, width, height, ratio: page!.textTokens / visual });
          expect(JSON.parse(stored.geometry)).toMatchObject({ width, height });
          tokens = visual;
          tier = step;
        }
        const moves = await memory.store.listMoves!(scope);
        expect(moves.map((m) => m.to)).toEqual(['large', 'base', 'small', 'tiny']);
        clock = start + 3.5 * DAY_MS; // e^-3.5 = 0.03 < 0.05
        const r = await memory.age({ strategy });
        expect(r.dropped).toEqual([expect.objectContaining({ pageId: page!.id, tier: 'tiny' })]);
        expect((await memory.store.listTombstones(scope))[0]).toMatchObject({ pageId: page!.id, tier: 'tiny' });
        expect(await memory.store.getMeta('forgetting_ladder')).toBe('deepseek-modes');
        expect(DEEPSEEK_MODE_LADDER.steps.map((s) => s.name)).toEqual(['gundam', ...walk.map((w) => w[1])]);
      } finally {
        await memory.close();
      }
    });
  }
});
