/**
 * Every failure opticmem raises is an `OpticMemError` with a stable `code`, the `field` at
 * fault where there is one, and a message that names the fix. Marker symbols make
 * `isInstance` work across duplicate copies of the package (as the AI SDK does).
 */
import type { z } from 'zod';

const MARKER = Symbol.for('opticmem.error');

export interface OpticMemErrorOptions {
  field?: string;
  cause?: unknown;
}

export class OpticMemError extends Error {
  readonly [MARKER] = true;
  readonly code: string;
  readonly field: string | undefined;

  constructor(code: string, message: string, options: OpticMemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = options.field;
  }

  static isInstance(error: unknown): error is OpticMemError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}

function marked<T extends abstract new (...args: never[]) => OpticMemError>(cls: T, code: string): T {
  const sym = Symbol.for(`opticmem.error.${code}`);
  Object.defineProperty(cls.prototype, sym, { value: true });
  Object.defineProperty(cls, 'isInstance', {
    value: (e: unknown) => typeof e === 'object' && e !== null && sym in e,
  });
  return cls;
}

/** Caller passed something invalid. `field` names the offending option. */
export class InvalidInputError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is InvalidInputError;
  constructor(field: string, message: string, options: Omit<OpticMemErrorOptions, 'field'> = {}) {
    super('invalid_input', message, { ...options, field });
  }
}
marked(InvalidInputError, 'invalid_input');

/** A vision-token profile name nobody registered. */
export class UnknownProfileError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is UnknownProfileError;
  /** The profile names that exist. */
  readonly known: readonly string[];
  readonly profileName: string;
  /** `field`: the option that named it ('profile', or 'consumer' where 'text' is allowed too). */
  constructor(name: string, known: readonly string[], field = 'profile') {
    super(
      'unknown_profile',
      `Unknown vision-token profile '${name}' in '${field}'. Use ${field === 'consumer' ? "'text' or " : ''}one of: ${known.join(', ')}.`,
      { field },
    );
    this.known = known;
    this.profileName = name;
  }
}
marked(UnknownProfileError, 'unknown_profile');

/** Bytes that are not a PNG, or a PNG we cannot read. */
export class InvalidImageError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is InvalidImageError;
  constructor(field: string, message: string, options: Omit<OpticMemErrorOptions, 'field'> = {}) {
    super('invalid_image', message, { ...options, field });
  }
}
marked(InvalidImageError, 'invalid_image');

/** A PNG that lacks the opticmem geometry chunk where one is required. */
export class MissingGeometryError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is MissingGeometryError;
  constructor(field: string) {
    super(
      'missing_geometry',
      `The image in '${field}' has no opticmem line geometry. Render it with opticmem, or decode it with { useGeometry: false } to run text detection first.`,
      { field },
    );
  }
}
marked(MissingGeometryError, 'missing_geometry');

/** Layout or planning could not satisfy the request. */
export class RenderError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is RenderError;
  constructor(message: string, options: OpticMemErrorOptions = {}) {
    super('render_failed', message, options);
  }
}
marked(RenderError, 'render_failed');

/** A decoder failed to produce text. */
export class DecodeError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is DecodeError;
  constructor(message: string, options: OpticMemErrorOptions = {}) {
    super('decode_failed', message, options);
  }
}
marked(DecodeError, 'decode_failed');

/** A model, font or native module could not be loaded. */
export class ModelLoadError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is ModelLoadError;
  constructor(message: string, options: OpticMemErrorOptions = {}) {
    super('model_load_failed', message, options);
  }
}
marked(ModelLoadError, 'model_load_failed');

/** The remote endpoint answered with an error or not at all. */
export class RemoteServiceError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is RemoteServiceError;
  readonly status: number | undefined;
  constructor(message: string, options: OpticMemErrorOptions & { status?: number } = {}) {
    super('remote_failed', message, options);
    this.status = options.status;
  }
}
marked(RemoteServiceError, 'remote_failed');

/** The store (LanceDB) failed or holds data we cannot read. */
export class StoreError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is StoreError;
  constructor(message: string, options: OpticMemErrorOptions = {}) {
    super('store_failed', message, options);
  }
}
marked(StoreError, 'store_failed');

/**
 * A page whose stored image no longer matches the SHA-256 written with it: the store's data
 * files were damaged. A StoreError (code 'store_failed') that names the page.
 */
export class CorruptPageError extends StoreError {
  declare static isInstance: (e: unknown) => e is CorruptPageError;
  readonly pageId: string;
  /** `damage` says what of the page is damaged (default: its image fails its checksum), naming its field. */
  constructor(pageId: string, options: Omit<OpticMemErrorOptions, 'field'> & { damage?: { field: string; what: string } } = {}) {
    const { damage, ...rest } = options;
    super(
      `Page '${pageId}' ${damage?.what ?? 'failed its checksum: its image in the store is not the one that was written'}, so the store's files are damaged. ` +
        "Delete the page ('opticmem inspect --allow-write', or store.deletePages) and import it again from an earlier export ('opticmem import'), or restore the store folder from a backup.",
      { ...rest, field: damage?.field ?? 'png' },
    );
    this.pageId = pageId;
  }
}
marked(CorruptPageError, 'corrupt_page');

/** A write to a memory or store opened with `readOnly: true`. */
export class ReadOnlyError extends OpticMemError {
  declare static isInstance: (e: unknown) => e is ReadOnlyError;
  constructor(action: string) {
    super(
      'read_only',
      `This memory was opened with readOnly: true, so ${action} is refused. Open it without 'readOnly' (Memory.open({ path })) to write.`,
      { field: 'readOnly' },
    );
  }
}
marked(ReadOnlyError, 'read_only');

/**
 * Parse `input` with a strict zod schema; on failure throw an InvalidInputError that names
 * the first offending path (prefixed by `root`) and carries zod's prettified report.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [root, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.');
  const lines = result.error.issues.map((i) => {
    const p = [root, ...i.path.map(String)].filter(Boolean).join('.');
    return `'${p}': ${i.message}`;
  });
  throw new InvalidInputError(path || root, `Invalid ${lines.join('; ')}`, { cause: result.error });
}
