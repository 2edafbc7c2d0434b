/**
 * Where a command-line store lives: a folder, or a LanceDB URI (s3://, gs://, az://, db://) with
 * the object store's settings from the environment. `OPTICMEM_STORAGE_OPTIONS` holds a JSON
 * object of LanceDB storage options (endpoint, aws_access_key_id, region, allow_http, ...); the
 * object store's own variables (AWS_ACCESS_KEY_ID, AWS_REGION, GOOGLE_SERVICE_ACCOUNT, ...) work
 * as well, read by LanceDB itself.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';

export const STORAGE_OPTIONS_ENV = 'OPTICMEM_STORAGE_OPTIONS';

export function isStoreUri(db: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(db);
}

const StorageOptionsSchema = z.record(z.string(), z.string());

/** Storage options from the environment; a typed error naming the variable when they do not parse. */
export function storageOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  const raw = env[STORAGE_OPTIONS_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidInputError(STORAGE_OPTIONS_ENV, `${STORAGE_OPTIONS_ENV} is not JSON. Set it to an object of strings, e.g. '{"endpoint":"http://127.0.0.1:9000","region":"us-east-1"}'.`);
  }
  const r = StorageOptionsSchema.safeParse(parsed);
  if (!r.success) {
    throw new InvalidInputError(STORAGE_OPTIONS_ENV, `${STORAGE_OPTIONS_ENV} must be a JSON object whose values are strings (write true as "true"), e.g. '{"allow_http":"true"}'.`);
  }
  return r.data;
}

/** `--db` as Memory.open options. */
export function storeLocation(db: string, env: NodeJS.ProcessEnv = process.env): { uri: string; storageOptions?: Record<string, string> } | { path: string } {
  if (!isStoreUri(db)) return { path: db };
  const storageOptions = storageOptionsFromEnv(env);
  return { uri: db, ...(storageOptions ? { storageOptions } : {}) };
}
