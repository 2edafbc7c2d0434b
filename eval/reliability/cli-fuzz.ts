/**
 * CLI fuzz campaign: generated command lines (fast-check) and input files through the
 * `opticmem` binary. Every run must exit 0, or exit with a usage (2), model (3) or store (4)
 * code printing one typed error (`opticmem: XxxError: ...`): no stack trace, no native panic,
 * no exit 1, no hang. Arguments mix valid values with empty ones (`--user=`), numbers out of
 * range, unicode, missing paths, a folder inside a table and unknown flags; input files mix chat
 * JSON, JSON Lines with junk, export documents with altered fields, binary bytes and nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Memory } from '../../memory/memory.js';
import { packageRoot } from '../../src/internal/package-root.js';

export interface CliFuzzResult {
  readonly runs: number;
  readonly ok: number;
  readonly typed: number;
  /** Exit 1, another code, a stack trace or a native panic on stderr. */
  readonly untyped: number;
  readonly hangs: number;
  readonly examples: readonly string[];
}

const TIMEOUT_MS = 90_000;

export function runCli(args: string[], input?: string): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    // The OS refuses NUL bytes in arguments (generated text may hold them; files keep them).
    const argv = args.map((a) => a.replace(/\0/g, ''));
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'opticmem.js'), ...argv], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, OPTICMEM_CACHE_DIR: 'off' } });
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
  });
}

/** The outcome of one run: 'ok', 'typed', or why it is not. */
export function classify(r: { code: number | null; stderr: string; timedOut: boolean }): 'ok' | 'typed' | 'hang' | string {
  if (r.timedOut) return 'hang';
  if (r.code === 0) return 'ok';
  if (/panicked at|RUST_BACKTRACE/.test(r.stderr)) return 'native panic on stderr';
  if (/\n\s+at .+:\d+:\d+\)?/.test(r.stderr)) return 'stack trace on stderr';
  if (r.code !== 2 && r.code !== 3 && r.code !== 4) return `exit ${r.code}`;
  if (!/^opticmem: \w+Error: |^error: /m.test(r.stderr)) return 'no typed error on stderr';
  return 'typed';
}

export async function cliFuzzCampaign(options: { runs: number; seed: number; onRun?: (i: number, outcome: string) => void }): Promise<CliFuzzResult> {
  const dir = await mkdtemp(join(tmpdir(), 'opticmem-cli-fuzz-'));
  const db = join(dir, 'db');
  try {
    const memory = await Memory.open({ path: db, autoCompact: false, profile: 'deepseek-ocr:tiny' });
    for (let i = 0; i < 12; i++) await memory.add([{ role: i % 2 ? 'assistant' : 'user', content: `note ${i}: the tram to the harbour leaves at ${8 + i}:10.` }], { userId: 'u' });
    await memory.compact({ userId: 'u' }, { all: true });
    const doc = await memory.export({ userId: 'u' });
    await memory.close();
    const files = {
      chat: join(dir, 'chat.json'),
      jsonl: join(dir, 'chat.jsonl'),
      export: join(dir, 'export.json'),
      page: join(dir, 'page.png'),
    };
    await writeFile(files.chat, JSON.stringify([{ role: 'user', content: 'the ferry leaves at nine' }, { role: 'assistant', content: 'noted' }]));
    await writeFile(files.jsonl, '{"role":"user","content":"a"}\n');
    await writeFile(files.export, JSON.stringify(doc));

    // Command-line arguments cannot hold NUL bytes (the OS refuses them); files can, and do below.
    const text = fc.oneof(fc.constantFrom('', ' ', 'u', '..', '-', '*', "' OR 1=1 --", 'naïve 東京', '\ud800'), fc.string({ maxLength: 12 }).map((v) => v.replace(/\0/g, '')));
    const number = fc.constantFrom('0', '-1', '1', '10', '1e309', 'NaN', '10abc', '0.001', '', '99999999999');
    const path = fc.constantFrom(files.chat, files.jsonl, files.export, files.page, join(dir, 'missing.json'), dir, join(db, 'turns.lance'), '/proc/1/nope', '-', '');
    const dbPath = fc.constantFrom(db, join(dir, 'fresh'), join(db, 'pages.lance'), join(dir, 'missing', 'deeper'), '/proc/1/nope', '', files.chat);
    const scopeFlags = fc.array(fc.tuple(fc.constantFrom('--user', '--agent', '--session'), text, fc.boolean()), { maxLength: 3 });
    const extra = fc.array(fc.oneof(fc.constantFrom('--json', '--verify', '--repair', '--purge', '--rehearse', '--no-such-flag', '--k', '--profile', '--ratio'), text), { maxLength: 3 });
    const fileBody = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 200 }),
      fc.constantFrom('[]', '{}', 'null', '[{"role":"user"}]', '[{"role":"wizard","content":"x"}]', '{"version":99,"turns":[],"pages":[]}', '[{"role":"user","content":42}]', '\u0000\u0001\u00ff'),
      fc.constant(JSON.stringify({ ...doc, pages: doc.pages.map((p) => ({ ...p, png: 'AAAA' })) })),
      fc.constant(JSON.stringify({ ...doc, turns: doc.turns.map((t) => ({ ...t, userId: '' })) })),
    );
    const command = fc.record({
      name: fc.constantFrom('render', 'decode', 'compress', 'recall', 'export', 'import', 'stats', 'check', 'age'),
      file: path,
      db: fc.option(dbPath, { nil: undefined }),
      scope: scopeFlags,
      number,
      profile: fc.constantFrom('deepseek-ocr:tiny', '', 'gpt-99', 'gpt-4o'),
      extra,
      body: fileBody,
    });
    const samples = fc.sample(command, { numRuns: options.runs, seed: options.seed });
    let ok = 0;
    let typed = 0;
    let untyped = 0;
    let hangs = 0;
    const examples: string[] = [];
    for (const [i, c] of samples.entries()) {
      // An input file written for this run, when one is generated.
      let file = c.file;
      if (c.body !== undefined) {
        file = join(dir, `input-${i}.json`);
        await writeFile(file, c.body);
      }
      const args: string[] = [c.name];
      if (['render', 'decode', 'compress', 'recall', 'import'].includes(c.name)) args.push(c.name === 'recall' ? (c.body ?? 'tram') : file);
      if (c.db !== undefined && c.name !== 'render' && c.name !== 'decode') args.push('--db', c.db);
      for (const [flag, value, joined] of c.scope) args.push(...(joined ? [`${flag}=${value}`] : [flag, value]));
      if (c.name === 'render') args.push('--out', join(dir, `out-${i}.png`), '--ratio', c.number, '--profile', c.profile);
      if (c.name === 'recall') args.push('--k', c.number);
      if (c.name === 'compress') args.push('--hot-budget', c.number, '--profile', c.profile);
      if (c.name === 'age') args.push('--now', c.number);
      args.push(...c.extra);
      const r = await runCli(args, c.body);
      const outcome = classify(r);
      if (outcome === 'ok') ok++;
      else if (outcome === 'typed') typed++;
      else if (outcome === 'hang') hangs++;
      else {
        untyped++;
        if (examples.length < 10) examples.push(`opticmem ${args.map((a) => JSON.stringify(a)).join(' ')}: ${outcome}: ${r.stderr.slice(0, 300)}`);
      }
      options.onRun?.(i, outcome);
    }
    return { runs: samples.length, ok, typed, untyped, hangs, examples };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
