/**
 * The memory's time: an injected clock (`MemoryOptions.now`) or a `now` passed to one call.
 * Every place that stamps or compares times reads it through here, so a broken clock fails
 * with one typed error naming `now` instead of storing NaN or surfacing as a curve error.
 */
import { InvalidInputError } from '../src/errors.js';

function checked(value: unknown, what: string): number {
  const t = value instanceof Date ? value.getTime() : value;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
    const shown = value instanceof Date ? 'an invalid Date' : typeof value === 'number' ? String(value) : typeof value;
    throw new InvalidInputError('now', `${what} must be a valid time (ms since epoch >= 0, or a valid Date); got ${shown}.`);
  }
  return t;
}

/** The current time from the memory's clock. */
export function readClock(clock: () => number): number {
  return checked(clock(), "The clock ('now' in Memory.open options)");
}

/** A `now` given to one call, or the clock's time when none is given. */
export function resolveNow(input: unknown, clock: () => number): number {
  return input === undefined ? readClock(clock) : checked(input, "'now'");
}
