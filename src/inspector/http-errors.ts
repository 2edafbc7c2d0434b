/**
 * Errors the inspector answers with an HTTP status, and the mapping from every other
 * OpticMemError to a status and a JSON body of the same shape.
 */
import { OpticMemError } from '../errors.js';

const MARKER = Symbol.for('opticmem.error.inspector_request');

/** A request the inspector refuses: unknown scope or page, read-only, too large, bad path. */
export class InspectorRequestError extends OpticMemError {
  readonly status: number;
  constructor(status: number, code: string, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.status = status;
    Object.defineProperty(this, MARKER, { value: true });
  }

  static override isInstance(error: unknown): error is InspectorRequestError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}

export interface ErrorBody {
  readonly error: { readonly status: number; readonly code: string; readonly field?: string; readonly message: string };
}

/** Status and JSON body for anything a handler threw. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (InspectorRequestError.isInstance(error)) return body(error.status, error.code, error.message, error.field);
  if (OpticMemError.isInstance(error)) {
    const status =
      error.code === 'invalid_input' || error.code === 'unknown_profile' ? 400 : error.code === 'read_only' ? 403 : error.code === 'closed' ? 503 : error.code === 'decode_failed' || error.code === 'remote_failed' ? 502 : 500;
    return body(status, error.code, error.message, error.field);
  }
  return body(500, 'internal_error', `Unexpected error: ${error instanceof Error ? error.message : String(error)}`);
}

function body(status: number, code: string, message: string, field?: string): { status: number; body: ErrorBody } {
  return { status, body: { error: { status, code, ...(field ? { field } : {}), message } } };
}
