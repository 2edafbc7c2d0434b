/**
 * Corruption campaign: a store with pages for two users is damaged one way at a time (a page
 * image's bytes, a table's data file flipped, truncated or removed, a table's latest manifest
 * truncated or removed, a damaged lock file, a page row with impossible values), then opened and
 * read the way users read it (recall, context, list, export, every page by id, check) and
 * written to once (add and compact). Counted per kind: calls answered, typed errors
 * (OpticMemError) and untyped ones, errors that name the page or table, pages other than the
 * damaged one still readable, and whether the write made anything worse (fewer readable pages).
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Memory } from '../../memory/memory.js';
import type { Decoder } from '../../src/decoders/decoder.js';
import { OpticMemError } from '../../src/errors.js';
import { seededRandom } from '../../src/internal/random.js';

export const DAMAGE_KINDS = ['page image bytes', 'data file bytes', 'data file truncated', 'data file missing', 'manifest truncated', 'manifest missing', 'lock file damaged', 'impossible page values'] as const;
export type DamageKind = (typeof DAMAGE_KINDS)[number];

export interface CorruptionRow {
  readonly kind: DamageKind;
  readonly cases: number;
  /** Reads that answered, that failed with a typed error, and that failed with anything else. */
  readonly answered: number;
  readonly typed: number;
  readonly untyped: number;
  /** Typed errors whose message names the damaged page or table (or the lock file). */
  readonly named: number;
  /** Pages other than the damaged one: readable by id after the damage, of all such pages. */
  readonly otherReadable: number;
  readonly otherPages: number;
  /** Cases where a write (add and compact) left fewer pages readable than before it. */
  readonly worseAfterWrite: number;
  readonly examples: readonly string[];
}

const TABLES = ['pages', 'turns', 'meta', 'page_turns'] as const;
const USERS = ['u', 'v'] as const;

/** A store with a few pages and hot turns for each of two users. */
async function buildTemplate(dir: string, decoder?: Decoder): Promise<string[]> {
  const memory = await Memory.open({ path: dir, autoCompact: false, profile: 'deepseek-ocr:tiny', ...(decoder ? { decoder } : {}) });
  try {
    for (const userId of USERS) {
      for (let i = 0; i < 24; i++) {
        await memory.add([{ role: i % 2 ? 'assistant' : 'user', content: `${userId} note ${i}: the ferry to island ${i % 5} leaves at ${7 + (i % 9)}:15 from pier ${i % 4}, tickets ${12 + i} euros.` }], { userId });
        if (i % 8 === 7) await memory.compact({ userId }, { all: true });
      }
    }
    const ids: string[] = [];
    for (const userId of USERS) ids.push(...(await memory.list({ userId })).pages.map((p) => p.id));
    return ids;
  } finally {
    await memory.close();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).map((f) => join(dir, f));
}

/** Apply one damage of `kind`; returns what it names (a page id, a table, or the lock file). */
async function damage(dir: string, kind: DamageKind, pageIds: readonly string[], rand: () => number): Promise<{ page?: string; names: string[] }> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const table = pick(TABLES);
  switch (kind) {
    case 'page image bytes':
    case 'impossible page values': {
      const page = pick(pageIds);
      const db = await lancedb.connect(dir);
      const t = await db.openTable('pages');
      try {
        if (kind === 'page image bytes') {
          const [row] = await t.query().where(`id = '${page}'`).select(['png']).toArray();
          const bytes = Buffer.from(row!.png as Uint8Array);
          const at = 8 + Math.floor(rand() * (bytes.length - 8));
          bytes[at]! ^= 1 + Math.floor(rand() * 255);
          await t.update({ where: `id = '${page}'`, values: { png: bytes } });
        } else {
          const values = pick([{ visual_tokens: -7 }, { width: 0, height: 0 }, { geometry: '{"not": "geometry"' }, { tier: 'no-such-tier' }, { first_seq: 99, last_seq: 3 }, { turn_ids: 'not json' }]);
          await t.update({ where: `id = '${page}'`, values: values as unknown as Record<string, string | number> });
        }
      } finally {
        t.close();
        db.close();
      }
      return { page, names: [page] };
    }
    case 'data file bytes':
    case 'data file truncated':
    case 'data file missing': {
      const files = await filesUnder(join(dir, `${table}.lance`, 'data'));
      if (files.length === 0) return { names: [table] };
      const file = pick(files);
      if (kind === 'data file missing') await rm(file);
      else if (kind === 'data file truncated') await truncate(file, Math.floor(rand() * (await stat(file)).size));
      else {
        const bytes = await readFile(file);
        const at = Math.floor(rand() * Math.max(1, bytes.length - 64));
        for (let i = at; i < Math.min(bytes.length, at + 64); i++) bytes[i]! ^= 0xff;
        await writeFile(file, bytes);
      }
      return { names: [table] };
    }
    case 'manifest truncated':
    case 'manifest missing': {
      const manifests = (await filesUnder(join(dir, `${table}.lance`, '_versions'))).filter((f) => f.endsWith('.manifest')).sort();
      const latest = manifests[manifests.length - 1];
      if (latest) {
        if (kind === 'manifest missing') await rm(latest);
        else await truncate(latest, Math.floor(rand() * (await stat(latest)).size));
      }
      return { names: [table] };
    }
    case 'lock file damaged': {
      const file = join(dir, pick(['.compaction.lock', '.compaction-0123456789abcdef.lock', '.setup.lock']));
      await writeFile(file, Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256))));
      // Left by a crash a minute ago, not by a holder still writing it.
      const past = new Date(Date.now() - 60_000);
      await utimes(file, past, past);
      return { names: ['lock'] };
    }
  }
}

interface Tally {
  answered: number;
  typed: number;
  untyped: number;
  named: number;
  examples: string[];
}

async function attempt(t: Tally, label: string, names: readonly string[], fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    t.answered++;
    return true;
  } catch (error) {
    if (OpticMemError.isInstance(error)) {
      t.typed++;
      if (names.some((n) => error.message.includes(n))) t.named++;
    } else {
      t.untyped++;
      if (t.examples.length < 5) t.examples.push(`${label}: ${String((error as Error)?.message ?? error).slice(0, 200)}`);
    }
    return false;
  }
}

/** Pages of `ids` readable by id (their image passes its checksum). */
async function readable(dir: string, ids: readonly string[]): Promise<Set<string>> {
  const ok = new Set<string>();
  const memory = await Memory.open({ path: dir, readOnly: true }).catch(() => undefined);
  if (!memory) return ok;
  try {
    for (const id of ids) {
      for (const userId of USERS) {
        const page = await memory.get(id, { userId }).catch(() => undefined);
        if (page) ok.add(id);
      }
    }
  } finally {
    await memory.close().catch(() => undefined);
  }
  return ok;
}

export async function corruptionCampaign(options: { cases: number; seed: number; decoder?: Decoder; onCase?: (i: number, kind: DamageKind) => void }): Promise<CorruptionRow[]> {
  const rand = seededRandom(options.seed);
  const root = await mkdtemp(join(tmpdir(), 'opticmem-corrupt-'));
  const template = join(root, 'template');
  type Mutable = { -readonly [K in keyof CorruptionRow]: CorruptionRow[K] } & Tally;
  const rows = new Map<DamageKind, Mutable>();
  try {
    const pageIds = await buildTemplate(template, options.decoder);
    for (let i = 0; i < options.cases; i++) {
      const kind = DAMAGE_KINDS[i % DAMAGE_KINDS.length]!;
      options.onCase?.(i, kind);
      const dir = join(root, `case${i}`);
      await cp(template, dir, { recursive: true });
      const hit = await damage(dir, kind, pageIds, rand);
      const row: Mutable = rows.get(kind) ?? { kind, cases: 0, answered: 0, typed: 0, untyped: 0, named: 0, otherReadable: 0, otherPages: 0, worseAfterWrite: 0, examples: [] };
      rows.set(kind, row);
      row.cases++;
      const others = pageIds.filter((id) => id !== hit.page);
      const before = await readable(dir, others);
      row.otherReadable += before.size;
      row.otherPages += others.length;
      const names = hit.names;
      let memory: Memory | undefined;
      await attempt(row, 'open', names, async () => {
        memory = await Memory.open({ path: dir, autoCompact: false, ...(options.decoder ? { decoder: options.decoder } : {}) });
      });
      if (memory) {
        const m = memory;
        for (const userId of USERS) {
          const scope = { userId };
          await attempt(row, 'recall', names, () => m.recall('ferry pier', { scope, as: 'both', rehearse: false }));
          await attempt(row, 'buildContext', names, () => m.buildContext({ scope, budgetTokens: 3000, query: 'ferry' }));
          await attempt(row, 'list', names, () => m.list(scope));
          await attempt(row, 'export', names, () => m.export(scope));
        }
        await attempt(row, 'check', names, () => m.check());
        // One write, then nothing readable before it may be lost.
        await attempt(row, 'add and compact', names, async () => {
          await m.add([{ role: 'user', content: 'after the damage: the last ferry leaves at 23:40.' }], { userId: 'u' });
          await m.compact({ userId: 'u' }, { all: true });
        });
        await m.close().catch(() => undefined);
      }
      const after = await readable(dir, others);
      if ([...before].some((id) => !after.has(id))) row.worseAfterWrite++;
      await rm(dir, { recursive: true, force: true });
    }
    return DAMAGE_KINDS.filter((k) => rows.has(k)).map((k) => rows.get(k)!);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
