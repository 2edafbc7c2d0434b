/**
 * The state file of a calibration run (`calibration-state.json` in the output folder): what was
 * calibrated (profile, canvas, decoder, font, a digest of the text) and the result of every
 * (glyph size, page) read so far. It is rewritten after every page (to a temporary file, then
 * renamed), so an interrupted run loses at most the page it was reading, and a rerun reads only
 * the pages the file does not hold. A folder holding another calibration is refused.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { RenderTurn } from '../../renderers/text-layout.js';
import { InvalidInputError } from '../errors.js';

export const STATE_FILE = 'calibration-state.json';

const PageResultSchema = z
  .object({
    glyphPx: z.number().positive(),
    page: z.number().int().nonnegative(),
    seenGlyphPx: z.number().positive(),
    fontSize: z.number().positive(),
    columns: z.number().int().positive(),
    start: z.number().int().nonnegative(),
    chars: z.number().int().nonnegative(),
    textTokens: z.number().int().nonnegative(),
    visualTokens: z.number().int().positive(),
    ratio: z.number().nonnegative(),
    fidelity: z.number().min(0).max(1),
    decodedChars: z.number().int().nonnegative(),
    elapsedMs: z.number().nonnegative(),
    /** Why the page counts as unread (a refusal, a transcription cut at the token limit). */
    error: z.string().optional(),
    /** The planted fact's question, answered right or not, and the answer given. */
    needle: z.object({ found: z.boolean(), answer: z.string() }).strict().optional(),
  })
  .strict();

export type PageResult = z.infer<typeof PageResultSchema>;

const KeySchema = z
  .object({
    profile: z.string(),
    canvas: z.object({ width: z.number(), height: z.number() }).strict(),
    decoder: z.string(),
    model: z.string(),
    font: z.string(),
    /** The asker of needle questions, when pages carry one (they differ from pages without). */
    needles: z.string().optional(),
    textSha256: z.string(),
  })
  .strict();

export type StateKey = z.infer<typeof KeySchema>;

const StateSchema = z
  .object({
    format: z.literal('opticmem-calibration-state'),
    version: z.literal(1),
    key: KeySchema,
    results: z.array(PageResultSchema),
  })
  .strict();

export type CalibrationState = z.infer<typeof StateSchema>;

/** A digest of the text pages are filled from: the same text gives the same pages. */
export function textDigest(turns: readonly RenderTurn[]): string {
  const h = createHash('sha256');
  for (const t of turns) h.update(JSON.stringify([t.role, t.label ?? null, t.content])).update('\n');
  return h.digest('hex');
}

export function resultKey(glyphPx: number, page: number): string {
  return `${glyphPx}/${page}`;
}

/** How the stored key differs from this run's: "profile gpt-4o, not qwen2.5-vl", or undefined. */
function difference(stored: StateKey, run: StateKey): string | undefined {
  const canvas = (k: StateKey) => `${k.canvas.width}x${k.canvas.height}`;
  const fields: [string, string, string][] = [
    ['profile', stored.profile, run.profile],
    ['canvas', canvas(stored), canvas(run)],
    ['decoder', stored.decoder, run.decoder],
    ['model', stored.model, run.model],
    ['font', stored.font, run.font],
    ['needles', stored.needles ?? 'none', run.needles ?? 'none'],
  ];
  for (const [name, a, b] of fields) if (a !== b) return `${name} ${a}, not ${b}`;
  if (stored.textSha256 !== run.textSha256) return 'another text';
  return undefined;
}

/** The state in `dir` for `key`: a fresh one when the folder holds none. */
export async function loadState(dir: string, key: StateKey): Promise<CalibrationState> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { format: 'opticmem-calibration-state', version: 1, key, results: [] };
    throw new InvalidInputError('outDir', `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. Pass a folder you can write to (--out).`, { cause: error });
  }
  let parsed: CalibrationState;
  try {
    parsed = StateSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new InvalidInputError('outDir', `${path} is not a calibration state file opticmem can read. Delete it to start over, or pass another output folder (--out).`, { cause });
  }
  const differs = difference(parsed.key, key);
  if (differs) {
    throw new InvalidInputError(
      'outDir',
      `${path} holds a calibration of another run (${differs}). Pass another output folder (--out) for this one, or delete the file to start over.`,
    );
  }
  return parsed;
}

/** Write the state: a temporary file renamed over the old one, so a crash never leaves half a file. */
export async function saveState(dir: string, state: CalibrationState): Promise<void> {
  const path = join(dir, STATE_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, JSON.stringify(state, null, 1) + '\n');
    await rename(tmp, path);
  } catch (cause) {
    throw new InvalidInputError('outDir', `Cannot write ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}. Pass a folder you can write to (--out).`, { cause });
  }
}
