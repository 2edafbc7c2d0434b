/**
 * `npm run eval:scale`: one store, many workers (processes), on a local folder and on an
 * S3-protocol server on 127.0.0.1 (s3rver, which ignores conditional writes):
 *   A. 1, 2 and 4 workers compacting distinct scopes into one store: compacted tokens/s, pages,
 *      turns lost or duplicated;
 *   B. 4 workers compacting the same scope at once (no lock file: compaction's idempotence is
 *      what is measured), repeated: turns lost, duplicated, page copies, sets of turns on two pages;
 *   C. `Memory.add` latency turn by turn, compaction inline vs in the background, side by side;
 *   D. remote decoding through a fake OpenAI-compatible server answering after a fixed delay:
 *      pages/s with 1, 4 and 16 requests in flight.
 * Text: conversations from every source in ../shared/data. Writes eval/results/scale.{md,json,png}.
 * Flags: --quick (fewer runs and pages), --runs N (B), --out DIR.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Memory } from '../../memory/memory.js';
import { storedScope } from '../../memory/scope.js';
import { encode } from '../../src/codec/codec.js';
import { createOpenAIDecoder } from '../../src/decoders/openai-decoder.js';
import { availableDatasets, loadDataset, type Conversation } from '../lib/datasets.js';
import { renderBarChart, writeChart } from '../lib/chart.js';
import { markdownTable, printTable } from '../lib/table.js';
import { startFakeOpenAIServer } from '../lib/fake-openai-server.js';
import { startS3Server, type S3Server } from '../lib/s3-server.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, runs: { type: 'string' }, out: { type: 'string' }, parts: { type: 'string' } }, strict: true });
/** Parts to run (A,B,C,D); the others keep the rows of the last run's scale.json. */
const parts = new Set((values.parts ?? 'A,B,C,D').split(',').map((p) => p.trim().toUpperCase()));
const quick = values.quick === true;
const runs = Number(values.runs ?? (quick ? 3 : 20));
const outDir = values.out ?? 'eval/results';
const HOT = 2000;
/** The fake decoding server's answer time (D). */
const DELAY = 500;
type Msg = { role: 'user' | 'assistant'; content: string };

const messagesOf = (c: Conversation): Msg[] => c.turns.filter((t) => t.content.trim()).map((t) => ({ role: t.role === 'assistant' ? 'assistant' : 'user', content: t.content }));
const sources = availableDatasets();
const conversations: Conversation[] = [];
for (const s of sources) conversations.push(...(await loadDataset(s)).slice(0, quick ? 1 : s === 'locomo' ? 4 : 2));
process.stderr.write(`sources: ${sources.join(', ')}; ${conversations.length} conversations\n`);

interface WorkerOut { ids: string[]; tokens?: number; pages?: number; ms: number }

let jobs = 0;
async function runWorker(job: object): Promise<WorkerOut> {
  // The job goes in a file: a conversation's worth of turns is too long for a command line.
  const file = join(tmpdir(), `opticmem-scale-job-${process.pid}-${jobs++}.json`);
  await writeFile(file, JSON.stringify(job));
  return new Promise<WorkerOut>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'worker.ts'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WorkerOut) : reject(new Error(`worker exited ${code}: ${err.slice(-2000)}`))));
  }).finally(() => rm(file, { force: true }));
}

/** What the store holds for the given turn ids: lost, held twice, page rows vs distinct pages, turns on two pages. */
async function audit(location: string, storageOptions: Record<string, string> | undefined, ids: readonly string[]) {
  const memory = await Memory.open({ ...(location.includes('://') ? { uri: location, ...(storageOptions ? { storageOptions } : {}) } : { path: location }), readOnly: true });
  try {
    const held = new Map<string, number>();
    const raw = await memory.store.counts();
    let distinct = 0;
    for (const { scope } of await memory.scopes()) {
      const { turns, pages } = await memory.list(storedScope(scope));
      distinct += pages.length;
      for (const t of turns) held.set(t.id, (held.get(t.id) ?? 0) + 1);
      // A turn split over two consecutive pages of one batch is on both; count each page set once per turn.
      const onPages = new Map<string, Set<number>>();
      for (const p of pages) for (const t of p.turnIds) onPages.set(t, (onPages.get(t) ?? new Set()).add(p.createdAt));
      for (const [t, batches] of onPages) held.set(t, (held.get(t) ?? 0) + batches.size);
    }
    const lost = ids.filter((id) => !held.has(id)).length;
    const duplicated = ids.filter((id) => (held.get(id) ?? 0) > 1).length;
    return { lost, duplicated, pages: distinct, pageCopies: raw.pages - distinct };
  } finally {
    await memory.close();
  }
}

/** Open and close a memory there once, so the tables exist before workers start. */
async function createStore(location: string, storageOptions: Record<string, string> | undefined): Promise<void> {
  const m = await Memory.open({ ...(location.includes('://') ? { uri: location, ...(storageOptions ? { storageOptions } : {}) } : { path: location }), autoCompact: false });
  await m.close();
}

const previous = (parts.size < 4 ? JSON.parse(await readFile(join(outDir, 'scale.json'), 'utf8').catch(() => '{}')) : {}) as Record<string, string[][] | undefined>;
const distinctRows: string[][] = parts.has('A') ? [] : (previous.distinctRows ?? []);
const throughput: Record<string, (number | null)[]> = {};
const sameRows: string[][] = parts.has('B') ? [] : (previous.sameRows ?? []);
const latencyRows: string[][] = parts.has('C') ? [] : (previous.latencyRows ?? []);
const decodeRows: string[][] = parts.has('D') ? [] : (previous.decodeRows ?? []);
const decodeRate: number[] = [];
const s3: S3Server = await startS3Server();
const backends: { name: string; location: () => Promise<string>; storageOptions?: Record<string, string> }[] = [
  { name: 'local folder', location: async () => mkdtemp(join(tmpdir(), 'opticmem-scale-')) },
  { name: 'S3 protocol (s3rver)', location: async () => s3.uri(`scale-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`), storageOptions: s3.storageOptions },
];

if (parts.has('A')) {
// A. distinct scopes.
for (const backend of backends) {
  throughput[backend.name] = [];
  for (const workers of [1, 2, 4]) {
    const location = await backend.location();
    await createStore(location, backend.storageOptions); // tables made once, as a deployment would
    const shares = Array.from({ length: workers }, (_, w) => conversations.filter((_, i) => i % workers === w));
    const t0 = performance.now();
    const settled = await Promise.allSettled(
      shares.map((share, w) => runWorker({ op: 'compact', location, storageOptions: backend.storageOptions, lock: true, hotBudgetTokens: HOT, items: share.map((c) => ({ scope: { userId: `w${w}`, sessionId: c.id }, turns: messagesOf(c) })) })),
    );
    const seconds = (performance.now() - t0) / 1000;
    const failures = settled.filter((o) => o.status === 'rejected');
    for (const f of failures) process.stderr.write(`  worker failed: ${String((f as PromiseRejectedResult).reason).slice(0, 300)}\n`);
    const outs = settled.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const tokens = outs.reduce((a, o) => a + (o.tokens ?? 0), 0);
    const a = await audit(location, backend.storageOptions, outs.flatMap((o) => o.ids)).catch((e: unknown) => ({ lost: NaN, duplicated: NaN, pages: NaN, pageCopies: NaN, error: String(e) }));
    throughput[backend.name]!.push(tokens / seconds);
    distinctRows.push([
      backend.name, String(workers), String(outs.reduce((x, o) => x + o.ids.length, 0)), String(tokens), seconds.toFixed(1), (Math.max(0, ...outs.map((o) => o.ms)) / 1000).toFixed(1), (tokens / seconds).toFixed(0), String(a.pages), String(a.lost), String(a.duplicated), String(a.pageCopies), String(failures.length),
    ]);
    process.stderr.write(`A ${backend.name} x${workers}: ${(tokens / seconds).toFixed(0)} tok/s, lost ${a.lost}, dup ${a.duplicated}\n`);
    if (!location.includes('://')) await rm(location, { recursive: true, force: true });
  }
}
}

if (parts.has('B')) {
// B. four workers, one scope.
const piece = messagesOf(conversations[0]!).slice(0, 80);
for (const backend of backends) {
  let lost = 0;
  let duplicated = 0;
  let copies = 0;
  let pages = 0;
  let turns = 0;
  let failed = 0;
  for (let run = 0; run < runs; run++) {
    const location = await backend.location();
    const scope = { userId: 'team', sessionId: `run${run}` };
    const writer = await Memory.open({ ...(location.includes('://') ? { uri: location, storageOptions: backend.storageOptions! } : { path: location }), autoCompact: false, tiers: { hotBudgetTokens: HOT } });
    const ids = (await writer.add(piece, scope)).turnIds;
    await writer.close();
    const outs = await Promise.allSettled(Array.from({ length: 4 }, () => runWorker({ op: 'compact', location, storageOptions: backend.storageOptions, lock: false, hotBudgetTokens: HOT, items: [{ scope }] })));
    failed += outs.filter((o) => o.status === 'rejected').length;
    const a = await audit(location, backend.storageOptions, ids).catch(() => ({ lost: ids.length, duplicated: 0, pages: 0, pageCopies: 0 }));
    lost += a.lost;
    duplicated += a.duplicated;
    copies += a.pageCopies;
    pages += a.pages;
    turns += ids.length;
    process.stderr.write(`B ${backend.name} run ${run + 1}/${runs}: lost ${a.lost}, dup ${a.duplicated}, copies ${a.pageCopies}\n`);
    if (!location.includes('://')) await rm(location, { recursive: true, force: true });
  }
  sameRows.push([backend.name, String(runs), String(turns), String(pages), String(lost), String(duplicated), String(copies), String(failed)]);
}
}

await s3.close();

if (parts.has('C')) {
// C. add latency, inline vs background, side by side.
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
for (const compaction of ['inline', 'background'] as const) {
  const times: number[] = [];
  let pages = 0;
  for (const c of conversations.slice(0, quick ? 2 : conversations.length)) {
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-add-'));
    const memory = await Memory.open({ path: dir, compaction, tiers: { hotBudgetTokens: HOT } });
    let inline = 0;
    for (const m of messagesOf(c)) {
      const t0 = performance.now();
      const r = await memory.add(m, { userId: c.id });
      times.push(performance.now() - t0);
      inline += r.compacted?.pagesWritten ?? 0;
    }
    pages += inline + (await memory.flush()).pagesWritten;
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
  latencyRows.push([compaction, String(times.length), String(pages), q(times, 0.5).toFixed(1), q(times, 0.99).toFixed(1), Math.max(...times).toFixed(0)]);
}
}

if (parts.has('D')) {
// D. remote decoding pool.
const server = await startFakeOpenAIServer();
server.reply({ text: 'ok', delayMs: DELAY });
const pagesToRead = (await encode(conversations.slice(0, 3).flatMap(messagesOf), { ratio: 10, profile: 'deepseek-ocr:small' })).slice(0, quick ? 16 : 48);
for (const inFlight of [1, 4, 16]) {
  const decoder = createOpenAIDecoder({ model: 'deepseek-ai/DeepSeek-OCR', baseURL: server.baseURL, apiKey: 'none', concurrency: inFlight });
  const t0 = performance.now();
  await Promise.all(pagesToRead.map((p) => decoder.decode({ png: p.png })));
  const rate = pagesToRead.length / ((performance.now() - t0) / 1000);
  decodeRate.push(rate);
  decodeRows.push([String(inFlight), String(pagesToRead.length), rate.toFixed(2), (rate / decodeRate[0]!).toFixed(1)]);
}
await server.close();
}

const heads = {
  distinct: ['store', 'workers', 'turns', 'compacted tokens', 'wall s', 'slowest worker s', 'tok/s', 'pages', 'turns lost', 'turns duplicated', 'page copies', 'worker failures'],
  same: ['store', 'runs', 'turns', 'pages', 'turns lost', 'turns duplicated', 'page copies', 'worker failures'],
  latency: ['compaction', 'adds', 'pages', 'p50 ms', 'p99 ms', 'max ms'],
  decode: ['requests in flight', 'pages', 'pages/s', 'vs one at a time'],
};
printTable(heads.distinct, distinctRows);
printTable(heads.same, sameRows);
printTable(heads.latency, latencyRows);
printTable(heads.decode, decodeRows);
await mkdir(outDir, { recursive: true });
const partNote = parts.size < 4 ? ` (parts ${[...parts].join(', ')} measured again alone with \`-- --parts ${[...parts].join(',')}\`; the others from the previous run)` : '';
const md = [
  '# One store, many workers',
  '',
  `Command: \`npm run eval:scale${quick ? ' -- --quick' : ''}\`${partNote}. Text: ${conversations.length} conversations from ${sources.join(', ')}; hot tier ${HOT} tokens; default reader and Base pages. The S3-protocol server is s3rver on 127.0.0.1, which ignores conditional writes: concurrent LanceDB commits to one table can lose one there, as they would on any store without them.`,
  '',
  '## A. Workers compacting distinct scopes into one store',
  '',
  'Each worker is a process that adds its conversations (one scope each) and compacts them; wall time from spawning the first worker to the last exit (process start and reader load included); "slowest worker s" from its store being open to its last compaction. tok/s is compacted tokens over wall time. The machine has 2 cores: one worker already keeps both busy (drawing on a worker thread, LanceDB on its own threads), so more processes share the same CPU; the gain from workers comes with more machines.',
  '',
  markdownTable(heads.distinct, distinctRows),
  '',
  `## B. Four workers compacting the same scope at once (${runs} runs, no lock file)`,
  '',
  'The turns are stored first; four processes then compact the scope together. "page copies" counts rows beyond one per page id; a turn on pages of two different batches counts as duplicated.',
  '',
  markdownTable(heads.same, sameRows),
  '',
  '## C. Memory.add, turn by turn, inline vs background compaction',
  '',
  markdownTable(heads.latency, latencyRows),
  '',
  `## D. Remote decoding, fake OpenAI-compatible server answering after ${DELAY} ms`,
  '',
  markdownTable(heads.decode, decodeRows),
  '',
].join('\n');
await writeFile(join(outDir, 'scale.md'), md);
await writeFile(join(outDir, 'scale.json'), JSON.stringify({ distinctRows, sameRows, latencyRows, decodeRows, runs, sources }, null, 2));
await writeChart(
  join(outDir, 'scale.png'),
  await renderBarChart({
    title: 'Compaction throughput by worker count (distinct scopes)',
    yLabel: 'compacted tokens/s',
    categories: ['1 worker', '2 workers', '4 workers'],
    series: [...new Set(distinctRows.map((r) => r[0]!))].map((name) => ({ name, values: distinctRows.filter((r) => r[0] === name).map((r) => Number(r[6])) })),
  }),
);
process.stdout.write(`\nwrote ${join(outDir, 'scale.md')}\n`);
