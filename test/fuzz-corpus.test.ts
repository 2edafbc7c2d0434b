/**
 * The fuzz corpus (test/fixtures/fuzz-corpus.json): every input that once failed, replayed.
 * API calls must be refused with a typed error naming the recorded field and change nothing;
 * command lines must exit with the recorded code and one typed error.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryCall } from '../eval/reliability/campaigns.js';
import { classify, runCli } from '../eval/reliability/cli-fuzz.js';
import { Memory } from '../memory/memory.js';

interface Corpus {
  readonly api: { note: string; call: [string, unknown, unknown]; field: string }[];
  readonly cli: { note: string; argv: string[]; exit: number }[];
}
const corpus = JSON.parse(readFileSync(new URL('./fixtures/fuzz-corpus.json', import.meta.url), 'utf8')) as Corpus;

let dir: string;
let memory: Memory;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opticmem-corpus-'));
  memory = await Memory.open({ path: join(dir, 'db'), autoCompact: false, profile: 'deepseek-ocr:tiny' });
  for (let i = 0; i < 8; i++) await memory.add({ role: i % 2 ? 'assistant' : 'user', content: `note ${i}: the tram to the harbour leaves at ${8 + i}:10.` }, { userId: 'u' });
  await memory.compact({ userId: 'u' }, { all: true });
});
afterAll(async () => {
  await memory.close();
  await rm(dir, { recursive: true, force: true });
});

describe('fuzz corpus', () => {
  it.each(corpus.api.map((e) => [e.note, e] as const))('API: %s', async (_, entry) => {
    const [name, a, b] = entry.call;
    const r = await tryCall(memory, name, a, b === null ? undefined : b);
    expect(r.outcome, JSON.stringify(r)).toBe('refused');
    expect(r.changed).toBe(false);
    if (r.outcome === 'refused') expect(r.field).toBe(entry.field);
  });

  it('CLI: every command line exits with its code and one typed error', async () => {
    await memory.close();
    const tmp = join(dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const chat = join(dir, 'chat.json');
    await writeFile(chat, JSON.stringify([{ role: 'user', content: 'the ferry leaves at nine' }, { role: 'assistant', content: 'noted' }]));
    const reader = await Memory.open({ path: join(dir, 'db'), readOnly: true });
    const doc = JSON.parse(JSON.stringify(await reader.export({ userId: 'u' }))) as { pages: { png: string; pngSha256?: string }[] };
    await reader.close();
    const garbage = Buffer.from('not a png at all, only bytes');
    doc.pages[0]!.png = garbage.toString('base64');
    doc.pages[0]!.pngSha256 = createHash('sha256').update(garbage).digest('hex');
    const garbageExport = join(dir, 'garbage-export.json');
    await writeFile(garbageExport, JSON.stringify(doc));
    const fill = (a: string) => a.replace('{db}', join(dir, 'db')).replace('{chat}', chat).replace('{tmp}', tmp).replace('{garbage-export}', garbageExport);
    for (const entry of corpus.cli) {
      const r = await runCli(entry.argv.map(fill));
      expect(classify(r), `${entry.note}: ${r.stderr}`).toBe('typed');
      expect(r.code, `${entry.note}: ${r.stderr}`).toBe(entry.exit);
    }
    memory = await Memory.open({ path: join(dir, 'db'), autoCompact: false });
  }, 240_000);
});
