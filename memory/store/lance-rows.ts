/**
 * Rows between the store's camelCase records and LanceDB's snake_case tables: turns, pages, the
 * page-state table that holds what recall and ageing change, and page updates split between them.
 */
import { CorruptPageError, InvalidInputError, StoreError } from '../../src/errors.js';
import { DIGEST_COLUMN, pngDigest, verifiedPng } from './page-digest.js';
import { searchableText } from './search-text.js';
import { WRITE_ID_COLUMN } from './page-dedupe.js';
import type { PageRow, PageUpdate, TurnRow } from './store.js';

export const PAGE_META_COLUMNS = [
  'id', 'user_id', 'agent_id', 'session_id', 'turn_ids', 'first_seq', 'last_seq', 'start_time', 'end_time', 'tier', 'profile',
  'geometry', 'width', 'height', 'text_tokens', 'visual_tokens', 'ratio', 'target_ratio', 'fidelity', 'decoded_text', 'strength',
  'recall_count', 'last_recalled_at', 'pinned', 'importance', 'created_at', 'updated_at',
];

export function turnToRow(t: TurnRow): Record<string, unknown> {
  return {
    id: t.id, user_id: t.userId, agent_id: t.agentId, session_id: t.sessionId, seq: t.seq, role: t.role, name: t.name,
    content: t.content, text_tokens: t.textTokens, created_at: t.createdAt,
  };
}

export function rowToTurn(r: Record<string, unknown>): TurnRow {
  return {
    id: String(r.id), userId: String(r.user_id), agentId: String(r.agent_id), sessionId: String(r.session_id), seq: Number(r.seq),
    role: String(r.role), name: String(r.name), content: String(r.content), textTokens: Number(r.text_tokens), createdAt: Number(r.created_at),
  };
}

export function pageToRow(p: PageRow, dimension: number | undefined, writeId: string): Record<string, unknown> {
  const row: Record<string, unknown> = {
    [WRITE_ID_COLUMN]: writeId, id: p.id, user_id: p.userId, agent_id: p.agentId, session_id: p.sessionId, turn_ids: JSON.stringify(p.turnIds),
    first_seq: p.firstSeq, last_seq: p.lastSeq, start_time: p.startTime, end_time: p.endTime, tier: p.tier, profile: p.profile,
    png: Buffer.from(p.png), [DIGEST_COLUMN]: pngDigest(p.png), geometry: p.geometry, width: p.width, height: p.height, text_tokens: p.textTokens,
    visual_tokens: p.visualTokens, ratio: p.ratio, target_ratio: p.targetRatio, fidelity: p.fidelity, decoded_text: p.decodedText,
    search_text: searchableText(p.decodedText),
    strength: p.strength, recall_count: p.recallCount, last_recalled_at: p.lastRecalledAt, pinned: p.pinned,
    importance: p.importance, created_at: p.createdAt, updated_at: p.updatedAt,
  };
  if (dimension) {
    if (p.vector.length !== 0 && p.vector.length !== dimension) {
      throw new StoreError(`Page '${p.id}' has a vector of length ${p.vector.length}; this store holds vectors of length ${dimension}. Use the same embedder the store was created with.`);
    }
    row.vector = p.vector.length ? [...p.vector] : null;
  }
  return row;
}

/** A page from its row; the image, when the row holds one, only once it matches its digest. */
export function rowToPage(r: Record<string, unknown>): PageRow {
  const png = r.png as Uint8Array | undefined;
  const vector = r.vector as ArrayLike<number> | null | undefined;
  return {
    id: String(r.id), userId: String(r.user_id), agentId: String(r.agent_id), sessionId: String(r.session_id),
    turnIds: turnIdsOf(r), firstSeq: Number(r.first_seq), lastSeq: Number(r.last_seq),
    startTime: Number(r.start_time), endTime: Number(r.end_time), tier: String(r.tier), profile: String(r.profile),
    png: png ? verifiedPng(String(r.id), new Uint8Array(png), r[DIGEST_COLUMN]) : new Uint8Array(0), geometry: String(r.geometry), width: Number(r.width), height: Number(r.height),
    textTokens: Number(r.text_tokens), visualTokens: Number(r.visual_tokens), ratio: Number(r.ratio), targetRatio: Number(r.target_ratio),
    fidelity: Number(r.fidelity), decodedText: String(r.decoded_text), vector: vector ? Array.from(vector) : [],
    strength: Number(r.strength), recallCount: Number(r.recall_count), lastRecalledAt: Number(r.last_recalled_at), pinned: Boolean(r.pinned),
    importance: Number(r.importance), createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

/** The column the full-text index is built on: decoded_text in searchable form. */
export const FTS_COLUMN = 'search_text';

const UPDATE_COLUMNS: Record<string, string> = {
  tier: 'tier', profile: 'profile', geometry: 'geometry', width: 'width', height: 'height', textTokens: 'text_tokens',
  visualTokens: 'visual_tokens', ratio: 'ratio', targetRatio: 'target_ratio', fidelity: 'fidelity', decodedText: 'decoded_text',
  strength: 'strength', recallCount: 'recall_count', lastRecalledAt: 'last_recalled_at', pinned: 'pinned', importance: 'importance',
  updatedAt: 'updated_at', firstSeq: 'first_seq', lastSeq: 'last_seq', startTime: 'start_time', endTime: 'end_time',
};

/** A page update as stored columns. */
export function toColumns(update: PageUpdate): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(update)) {
    if (v === undefined) continue;
    if (k === 'png') {
      values.png = Buffer.from(v as Uint8Array);
      values[DIGEST_COLUMN] = pngDigest(v as Uint8Array);
    } else if (k === 'turnIds') values.turn_ids = JSON.stringify(v);
    else if (k === 'vector') values.vector = [...(v as number[])];
    else if (k === 'decodedText') {
      values.decoded_text = v;
      values.search_text = searchableText(String(v));
    } else if (UPDATE_COLUMNS[k]) {
      // LanceDB writes NaN and Infinity into the SQL of the update as bare words.
      if (typeof v === 'number' && !Number.isFinite(v)) throw new InvalidInputError(`update.${k}`, `'update.${k}' is ${v}; page fields take finite numbers.`);
      values[UPDATE_COLUMNS[k]!] = v;
    }
  }
  return values;
}

/** PageRow fields kept in the page_state table, and their columns. */
const STATE_COLUMNS: Readonly<Record<string, string>> = {
  strength: 'strength', recallCount: 'recall_count', lastRecalledAt: 'last_recalled_at', pinned: 'pinned', importance: 'importance', updatedAt: 'updated_at',
};
export const STATE_TABLE_COLUMNS = ['id', 'user_id', 'agent_id', 'session_id', ...Object.values(STATE_COLUMNS)];

export function stateRow(p: Pick<PageRow, 'id' | 'userId' | 'agentId' | 'sessionId' | 'strength' | 'recallCount' | 'lastRecalledAt' | 'pinned' | 'importance' | 'updatedAt'>): Record<string, unknown> {
  return {
    id: p.id, user_id: p.userId, agent_id: p.agentId, session_id: p.sessionId, strength: p.strength, recall_count: p.recallCount,
    last_recalled_at: p.lastRecalledAt, pinned: p.pinned, importance: p.importance, updated_at: p.updatedAt,
  };
}

/** An update's fields for the page_state table and for the pages table. */
export function splitUpdate(update: PageUpdate): { state: PageUpdate; page: PageUpdate } {
  const state: Record<string, unknown> = {};
  const page: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(update)) if (v !== undefined) (k in STATE_COLUMNS ? state : page)[k] = v;
  return { state: state as PageUpdate, page: page as PageUpdate };
}

/** Pages from rows; a damaged row is reported to `onDamaged` and left out when it is given, else it fails the read. */
export function rowsToPages<T>(rows: readonly Record<string, unknown>[], toPage: (r: Record<string, unknown>) => T, onDamaged?: (pageId: string, error: CorruptPageError) => void): T[] {
  const out: T[] = [];
  for (const r of rows) {
    try {
      out.push(toPage(r));
    } catch (error) {
      if (!onDamaged || !CorruptPageError.isInstance(error)) throw error;
      onDamaged(String(r.id), error);
    }
  }
  return out;
}

/** A page row's turn ids; a list that is not a JSON array of strings is a damaged page, named. */
export function turnIdsOf(r: Record<string, unknown>): string[] {
  try {
    const ids = JSON.parse(String(r.turn_ids)) as unknown;
    if (Array.isArray(ids) && ids.every((t) => typeof t === 'string')) return ids as string[];
  } catch {
    // reported below
  }
  throw new CorruptPageError(String(r.id), { damage: { field: 'turnIds', what: 'has an unreadable list of turns (turn_ids is not a JSON array of ids)' } });
}
