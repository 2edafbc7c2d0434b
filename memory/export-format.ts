/**
 * The JSON document `Memory.export` writes and `Memory.import` reads: every turn and page of
 * a scope, PNGs in base64. Rows are validated field by field before anything is written.
 */
import { z } from 'zod';
import { ChatMessageSchema, MAX_MESSAGE_CHARS } from './messages.js';
import { IdSchema } from './scope.js';
import { pngDigest } from './store/page-digest.js';
import { ANY, type PageRow, type TurnRow } from './store/store.js';

export interface MemoryExport {
  readonly format: 'opticmem-export';
  readonly version: 1;
  readonly turns: readonly TurnRow[];
  /** `pngSha256` is the SHA-256 of the PNG (lowercase hex); exports written before it have none. */
  readonly pages: readonly (Omit<PageRow, 'png'> & { png: string; pngSha256?: string })[];
}

/** A stored scope part: '' when absent, never the '*' that spans parts in reads. */
const StoredPart = z
  .string({ error: 'must be a string (\'\' when absent)' })
  .max(256, 'must be at most 256 characters')
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters')
  .refine((v) => v !== ANY, "must not be '*' (it spans scopes when reading; rows are stored under one)");
const scopeParts = { userId: StoredPart, agentId: StoredPart, sessionId: StoredPart };
const hasOwner = (r: { userId: string; agentId: string; sessionId: string }) => Boolean(r.userId || r.agentId || r.sessionId);
const ownerIssue = { message: 'the row has an empty scope; it needs a userId, agentId or sessionId', path: ['userId'] };

const Count = z.number().int('must be a whole number').min(0, 'must be >= 0');
const Time = z.number().finite('must be a finite number').min(0, 'must be >= 0 (ms since epoch)');
const Finite = z.number().finite('must be a finite number');
const PNG_BASE64 = 'iVBORw0KGgo'; // the PNG signature, base64-encoded

/** A page's PNG must match the digest export wrote with it (when the document carries one). */
const pngMatchesDigest = (r: { id: string; png: string; pngSha256?: string | undefined }, ctx: z.RefinementCtx) => {
  if (r.pngSha256 === undefined || pngDigest(Buffer.from(r.png, 'base64')) === r.pngSha256) return;
  ctx.addIssue({
    code: 'custom',
    path: ['pngSha256'],
    message: `page '${r.id}' has a png that does not match its pngSha256: the document was damaged or edited after export. Export the page again from its store`,
  });
};

const TurnRowSchema = z
  .object({
    id: IdSchema,
    ...scopeParts,
    seq: Finite,
    role: ChatMessageSchema.shape.role,
    name: z.string().max(256),
    content: z.string().max(MAX_MESSAGE_CHARS, `must be at most ${MAX_MESSAGE_CHARS} characters`),
    textTokens: Count,
    createdAt: Time,
  })
  .strict()
  .refine(hasOwner, ownerIssue);

const PageRowSchema = z
  .object({
    id: IdSchema,
    ...scopeParts,
    turnIds: z.array(IdSchema),
    firstSeq: Finite,
    lastSeq: Finite,
    startTime: Time,
    endTime: Time,
    tier: z.string().min(1),
    profile: z.string().min(1),
    png: z
      .string()
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
      .refine((v) => v.startsWith(PNG_BASE64), 'must be a base64 PNG (as written by export)'),
    pngSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the PNG as 64 lowercase hex digits (as written by export)')
      .optional(),
    geometry: z.string().refine((v) => {
      try {
        return typeof JSON.parse(v) === 'object';
      } catch {
        return false;
      }
    }, 'must be the page geometry as JSON'),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    textTokens: Count,
    visualTokens: Count,
    ratio: Finite,
    targetRatio: Finite,
    fidelity: z.number().min(-1).max(1),
    decodedText: z.string(),
    vector: z.array(Finite),
    strength: z.number().finite().positive(),
    recallCount: Count,
    lastRecalledAt: Time,
    pinned: z.boolean(),
    importance: z.number().finite().positive(),
    createdAt: Time,
    updatedAt: Time,
  })
  .strict()
  .refine(hasOwner, ownerIssue)
  .superRefine(pngMatchesDigest);

const unique = (rows: readonly { id: string }[], ctx: z.RefinementCtx) => {
  const seen = new Map<string, number>();
  rows.forEach((r, i) => {
    const first = seen.get(r.id);
    if (first !== undefined) ctx.addIssue({ code: 'custom', message: `repeats the id of row ${first}`, path: [i, 'id'] });
    else seen.set(r.id, i);
  });
};

export const ExportSchema = z
  .object({
    format: z.literal('opticmem-export', { error: "must be 'opticmem-export' (a file written by export)" }),
    version: z.literal(1, { error: 'must be 1; this opticmem reads version 1 exports' }),
    turns: z.array(TurnRowSchema).superRefine(unique),
    pages: z.array(PageRowSchema).superRefine(unique),
  })
  .strict();
