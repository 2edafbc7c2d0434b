/**
 * Inputs that used to be accepted and stored wrongly are refused with a typed error naming the
 * field, and nothing is written: lone surrogates in ids (stored as U+FFFD, so 'x\ud800' and
 * 'x\udc00' would share rows) and in content, an empty parts array, a text part whose text is
 * not a string.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Memory } from '../memory/memory.js';
import { InvalidInputError, StoreError } from '../src/errors.js';

let dir: string;
let memory: Memory;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opticmem-refuse-'));
  memory = await Memory.open({ path: dir });
  await memory.add([{ role: 'user', content: 'kept' }], { userId: 'x\ufffd' });
});
afterAll(async () => {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
});

async function refused(call: Promise<unknown>, field: RegExp): Promise<InvalidInputError> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(InvalidInputError.isInstance(error), String(error)).toBe(true);
  expect((error as InvalidInputError).field).toMatch(field);
  return error as InvalidInputError;
}

describe('refused inputs', () => {
  it('scope ids with a lone surrogate, on write and on read', async () => {
    for (const id of ['x\ud800', 'x\udc00', '\udc00\ud800']) {
      const e = await refused(memory.add([{ role: 'user', content: 'hi' }], { userId: id }), /userId/);
      expect(e.message).toMatch(/surrogate/);
      await refused(memory.recall('kept', { scope: { userId: id } }), /userId/);
    }
    // A well-formed pair is an ordinary character.
    await expect(memory.add([{ role: 'user', content: 'emoji id' }], { userId: 'x\ud83d\ude00' })).resolves.toBeDefined();
    // Nothing reached the U+FFFD scope.
    expect((await memory.list({ userId: 'x\ufffd' })).turns.map((t) => t.content)).toEqual(['kept']);
  });

  it('content and names with a lone surrogate', async () => {
    const e = await refused(memory.add([{ role: 'user', content: 'cut emoji \ud83d here' }], { userId: 'u' }), /messages\.0\.content/);
    expect(e.message).toMatch(/index 10/);
    await refused(memory.add([{ role: 'user', content: 'ok', name: 'b\udc00b' }], { userId: 'u' }), /messages\.0\.name/);
  });

  it('an empty parts array, and a text part whose text is not a string', async () => {
    await refused(memory.add([{ role: 'user', content: [] }], { userId: 'u' }), /messages\.0\.content/);
    await refused(memory.add([{ role: 'user', content: [{ type: 'text', text: 5 }] } as never], { userId: 'u' }), /messages\.0\.content/);
    // Unknown part types still pass through as placeholders.
    await expect(memory.add([{ role: 'user', content: [{ type: 'audio', id: 'a1' }] } as never], { userId: 'u' })).resolves.toBeDefined();
    expect((await memory.list({ userId: 'u' })).turns).toHaveLength(1);
  });
});

describe('store paths that cannot hold a store', () => {
  it('a folder under /proc is refused with a StoreError instead of hanging in mkdir', async () => {
    const error = await Memory.open({ path: '/proc/1/nope/store' }).catch((e: unknown) => e);
    expect(StoreError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/\/proc\/1\/nope\/store/);
  }, 15_000);

  it('a folder inside a store table (store/turns.lance) is refused, naming the table', async () => {
    const error = await Memory.open({ path: join(dir, 'turns.lance', 'inner') }).catch((e: unknown) => e);
    expect(InvalidInputError.isInstance(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/turns\.lance/);
  });
});
