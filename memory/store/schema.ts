/** Arrow schemas of the store's tables, and the schema version with its migrations. */
import { Binary, Bool, Field, FixedSizeList, Float32, Float64, Schema, Utf8 } from 'apache-arrow';

export const SCHEMA_VERSION = 6;

/** Every table's row id and the scope it belongs to, the columns all filters start from. */
function rowKeyFields(): Field[] {
  return [new Field('id', new Utf8(), false), new Field('user_id', new Utf8(), false), new Field('agent_id', new Utf8(), false), new Field('session_id', new Utf8(), false)];
}

export function turnsSchema(): Schema {
  return new Schema([
    ...rowKeyFields(),
    new Field('seq', new Float64(), false),
    new Field('role', new Utf8(), false),
    new Field('name', new Utf8(), false),
    new Field('content', new Utf8(), false),
    new Field('text_tokens', new Float64(), false),
    new Field('created_at', new Float64(), false),
  ]);
}

export function pagesSchema(vectorDimension: number | undefined): Schema {
  const fields: Field[] = [
    ...rowKeyFields(),
    new Field('turn_ids', new Utf8(), false),
    new Field('first_seq', new Float64(), false),
    new Field('last_seq', new Float64(), false),
    new Field('start_time', new Float64(), false),
    new Field('end_time', new Float64(), false),
    new Field('tier', new Utf8(), false),
    new Field('profile', new Utf8(), false),
    // Created as Binary (LanceDB's JS schemas cannot name LargeBinary) and widened to LargeBinary
    // on open by PNG_TYPE_MIGRATION: compacting a few thousand pages of a few hundred KB
    // overflows 32-bit offsets.
    new Field('png', new Binary(), false),
    // SHA-256 of png as lowercase hex, checked on every read of the image (see page-digest.ts).
    new Field('png_sha256', new Utf8(), false),
    // Which write made this row: of two copies of a page two workers committed, the smaller stays (see page-dedupe.ts).
    new Field('write_id', new Utf8(), false),
    new Field('geometry', new Utf8(), false),
    new Field('width', new Float64(), false),
    new Field('height', new Float64(), false),
    new Field('text_tokens', new Float64(), false),
    new Field('visual_tokens', new Float64(), false),
    new Field('ratio', new Float64(), false),
    new Field('target_ratio', new Float64(), false),
    new Field('fidelity', new Float64(), false),
    new Field('decoded_text', new Utf8(), false),
    // decoded_text in the form the full-text index holds (see search-text.ts).
    new Field('search_text', new Utf8(), false),
    new Field('strength', new Float64(), false),
    new Field('recall_count', new Float64(), false),
    new Field('last_recalled_at', new Float64(), false),
    new Field('pinned', new Bool(), false),
    new Field('importance', new Float64(), false),
    new Field('created_at', new Float64(), false),
    new Field('updated_at', new Float64(), false),
  ];
  if (vectorDimension) fields.push(vectorSchemaField(vectorDimension));
  return new Schema(fields);
}

/**
 * Page embeddings; nullable, so pages written before an embedder was configured have none.
 * `arrow` picks the apache-arrow build the classes come from (LanceDB's CommonJS build needs its own).
 */
export function vectorSchemaField(dimension: number, arrow: Pick<typeof import('apache-arrow'), 'Field' | 'FixedSizeList' | 'Float32'> = { Field, FixedSizeList, Float32 }): Field {
  return new arrow.Field('vector', new arrow.FixedSizeList(dimension, new arrow.Field('item', new arrow.Float32(), true)), true);
}

export function metaSchema(): Schema {
  return new Schema([new Field('key', new Utf8(), false), new Field('value', new Utf8(), false)]);
}

/**
 * Version n -> n+1 steps, as SQL column additions with defaults. Version 0 is the layout before
 * forgetting: pages without pinned/importance. Version 1 -> 2 widens `png` to LargeBinary
 * (see PNG_TYPE_MIGRATION). Version 2 -> 3 moves what changes on every recall into the
 * `page_state` table (see pageStateSchema), copied from the pages on open. Version 3 -> 4 adds
 * `search_text`, which the full-text index moves to: a copy of `decoded_text`, rewritten on
 * open for rows in Chinese, Japanese or Korean (see searchableText). Version 4 -> 5 adds
 * `png_sha256`, the digest of each page's image, computed on open for the pages written before
 * (see addMissingDigests).
 */
export const MIGRATIONS: readonly { from: number; pages: readonly { name: string; valueSql: string }[] }[] = [
  {
    from: 0,
    pages: [
      { name: 'pinned', valueSql: 'false' },
      { name: 'importance', valueSql: 'CAST(1.0 AS DOUBLE)' },
    ],
  },
  { from: 3, pages: [{ name: 'search_text', valueSql: 'decoded_text' }] },
  { from: 4, pages: [{ name: 'png_sha256', valueSql: "''" }] },
  { from: 5, pages: [{ name: 'write_id', valueSql: "''" }] },
];

/**
 * Ladder moves of pages. Added after schema 1 without a version bump: like every table, it is
 * created when a store that lacks it is opened, and older readers ignore it.
 */
export function movesSchema(): Schema {
  return new Schema([
    ...rowKeyFields(),
    new Field('page_id', new Utf8(), false),
    new Field('from_tier', new Utf8(), false),
    new Field('to_tier', new Utf8(), false),
    new Field('retention', new Float64(), false),
    new Field('visual_tokens_before', new Float64(), false),
    new Field('visual_tokens_after', new Float64(), false),
    new Field('moved_at', new Float64(), false),
  ]);
}

export function tombstonesSchema(): Schema {
  return new Schema([
    ...rowKeyFields(),
    new Field('page_id', new Utf8(), false),
    new Field('turn_count', new Float64(), false),
    new Field('start_time', new Float64(), false),
    new Field('end_time', new Float64(), false),
    new Field('tier', new Utf8(), false),
    new Field('reason', new Utf8(), false),
    new Field('dropped_at', new Float64(), false),
  ]);
}

/** Version 1 -> 2: the PNG column as LargeBinary, cast in place (LanceDB casts binary to large binary). */
export const PNG_TYPE_MIGRATION = { path: 'png', dataType: 'large_binary' } as const;

/**
 * What recalls and pins change about a page, in a table of its own: a rehearsal then rewrites a
 * row of a few numbers instead of a page row with its image, and the pages' full-text index
 * keeps every row. The pages table keeps the values a page was written with; these override them.
 */
export function pageStateSchema(): Schema {
  return new Schema([
    ...rowKeyFields(),
    new Field('strength', new Float64(), false),
    new Field('recall_count', new Float64(), false),
    new Field('last_recalled_at', new Float64(), false),
    new Field('pinned', new Bool(), false),
    new Field('importance', new Float64(), false),
    new Field('updated_at', new Float64(), false),
  ]);
}

/**
 * The turn-level index: each page's decoded text cut into its turns (see splitTurnTexts), one
 * row per turn of a page, searched by its own full-text index. Derived from the pages and
 * rebuilt from them whenever a page's text changes; added without a version bump (a store that
 * lacks it gets it, built from its pages, on the next writable open).
 */
export function pageTurnsSchema(): Schema {
  return new Schema([
    ...rowKeyFields(),
    new Field('page_id', new Utf8(), false),
    new Field('turn_id', new Utf8(), false),
    // Position of the turn on the page; -1 for a page whose text could not be cut into turns.
    new Field('turn', new Float64(), false),
    new Field('seq', new Float64(), false),
    new Field('text', new Utf8(), false),
    new Field('search_text', new Utf8(), false),
  ]);
}
