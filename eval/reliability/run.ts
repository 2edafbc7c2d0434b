/**
 * `npm run eval:reliability`: the crash (crash.ts), fuzz and isolation (campaigns.ts, cli-fuzz.ts),
 * corruption (corruption.ts) and concurrency (concurrency.ts) campaigns at full size; the
 * throughput of many workers is measured by `npm run eval:scale`.
 * Prints tables and writes eval/results/reliability.{md,json,png}.
 * Flags: --quick (small sizes), --seed N, --out DIR.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderBarChart, writeChart } from '../lib/chart.js';
import { markdownTable, printTable } from '../lib/table.js';
import { fuzzCampaign, isolationCampaign } from './campaigns.js';
import { crashCampaign } from './crash.js';
import { cliFuzzCampaign } from './cli-fuzz.js';
import { corruptionCampaign, DAMAGE_KINDS } from './corruption.js';
import { concurrencyCampaign, WORKERS } from './concurrency.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, seed: { type: 'string' }, out: { type: 'string' } }, strict: true });
const quick = values.quick === true;
const seed = Number(values.seed ?? 20261206);
const outDir = values.out ?? 'eval/results';
const sizes = quick ? { kills: 5, fuzz: 500, cli: 20, isolation: 200, corruption: DAMAGE_KINDS.length, runs: 1, messages: 16 } : { kills: 100, fuzz: 10_000, cli: 400, isolation: 1_000, corruption: 10 * DAMAGE_KINDS.length, runs: 20, messages: 40 };

const t0 = performance.now();
const crash = await crashCampaign({ kills: sizes.kills, seed, onKill: (i, target, landed) => process.stderr.write(`crash ${i + 1}/${sizes.kills}: aimed at ${target}, landed in ${landed}\n`) });
const crashS = (performance.now() - t0) / 1000;
const t1 = performance.now();
const fuzz = await fuzzCampaign({ inputs: sizes.fuzz, seed });
const fuzzS = (performance.now() - t1) / 1000;
const t1c = performance.now();
const cli = await cliFuzzCampaign({ runs: sizes.cli, seed, onRun: (i, outcome) => process.stderr.write(`cli fuzz ${i + 1}/${sizes.cli}: ${outcome}\n`) });
const cliS = (performance.now() - t1c) / 1000;
const t2 = performance.now();
const isolation = await isolationCampaign({ calls: sizes.isolation, seed });
const isolationS = (performance.now() - t2) / 1000;
const t3 = performance.now();
const corruption = await corruptionCampaign({ cases: sizes.corruption, seed, onCase: (i, kind) => process.stderr.write(`corruption ${i + 1}/${sizes.corruption}: ${kind}\n`) });
const corruptionS = (performance.now() - t3) / 1000;
const t4 = performance.now();
const concurrency = await concurrencyCampaign({ runs: sizes.runs, messages: sizes.messages, onRun: (mode, run, line) => process.stderr.write(`concurrency ${mode} ${run + 1}/${sizes.runs}: ${line}\n`) });
const concurrencyS = (performance.now() - t4) / 1000;
const csum = (f: (r: (typeof concurrency)[number]) => number) => concurrency.reduce((a, r) => a + f(r), 0);
const sum = (f: (r: (typeof corruption)[number]) => number) => corruption.reduce((a, r) => a + f(r), 0);

const head = ['campaign', 'size', 'outcome', 'target', 'status', 'seconds'];
const rows = [
  ['crash (SIGKILL inside each writing phase, resume, audit)', `${crash.kills} kills (${crash.landed} before the work ended), ${new Set(crash.byPhase.map((r) => r.phase)).size} phases`, `${crash.lost} lost, ${crash.duplicated} duplicated, ${crash.failedReopens} failed reopens, ${crash.checkProblems} check problems`, '0 / 0 / 0', crash.lost + crash.duplicated + crash.failedReopens + crash.checkProblems === 0 ? 'met' : 'not met', crashS.toFixed(0)],
  ['fuzz (Memory API)', `${fuzz.inputs} inputs`, `${fuzz.accepted} accepted, ${fuzz.refused} refused; ${fuzz.untyped} untyped, ${fuzz.changedOnRefusal} refusals that changed the store`, '0 untyped, 0 changed', fuzz.untyped + fuzz.changedOnRefusal === 0 ? 'met' : 'not met', fuzzS.toFixed(0)],
  ['fuzz (CLI arguments and input files)', `${cli.runs} command lines`, `${cli.ok} exit 0, ${cli.typed} typed refusals; ${cli.untyped} untyped, ${cli.hangs} hangs`, '0 untyped, 0 hangs', cli.untyped + cli.hangs === 0 ? 'met' : 'not met', cliS.toFixed(0)],
  ['isolation (hostile scope ids)', `${isolation.calls} calls over ${isolation.scopes} scopes`, `${isolation.leaks} leaks`, '0', isolation.leaks === 0 ? 'met' : 'not met', isolationS.toFixed(0)],
  [
    'corruption (damaged files, rows, locks)',
    `${sum((r) => r.cases)} damaged stores, ${DAMAGE_KINDS.length} kinds`,
    `${sum((r) => r.untyped)} untyped errors, ${sum((r) => r.worseAfterWrite)} made worse by a write`,
    '0 / 0',
    sum((r) => r.untyped) + sum((r) => r.worseAfterWrite) === 0 ? 'met' : 'not met',
    corruptionS.toFixed(0),
  ],
  [
    `concurrency (${WORKERS} processes adding, compacting, recalling, ageing)`,
    `${csum((r) => r.runs)} runs (${concurrency.map((r) => `${r.runs} ${r.mode}`).join(', ')}), ${csum((r) => r.messages)} messages`,
    `${csum((r) => r.lost)} lost, ${csum((r) => r.duplicated)} duplicated, ${csum((r) => r.misplaced)} misplaced, ${csum((r) => r.checkProblems)} check problems, ${csum((r) => r.errors)} errors, ${csum((r) => r.crashedWorkers)} crashed workers`,
    '0 / 0 / 0 / 0 / 0 / 0',
    csum((r) => r.lost + r.duplicated + r.misplaced + r.checkProblems + r.errors + r.crashedWorkers) === 0 ? 'met' : 'not met',
    concurrencyS.toFixed(0),
  ],
];
const concurrencyHead = ['mode', 'runs', 'messages', 'pages at the end', 'lost', 'duplicated', 'misplaced', 'check problems', 'errors', 'crashed workers'];
const concurrencyRows = concurrency.map((r) => [r.mode, String(r.runs), String(r.messages), String(r.pages), String(r.lost), String(r.duplicated), String(r.misplaced), String(r.checkProblems), String(r.errors), String(r.crashedWorkers)]);
const phaseHead = ['workload', 'phase the kill landed in', 'kills', 'lost', 'duplicated', 'failed reopens', 'check problems'];
const phaseRows = crash.byPhase.map((r) => [r.workload, r.phase, String(r.kills), String(r.lost), String(r.duplicated), String(r.failedReopens), String(r.checkProblems)]);
const damageHead = ['damage', 'cases', 'reads answered', 'typed errors', 'naming the page or table', 'untyped errors', 'other pages readable', 'made worse by a write'];
const damageRows = corruption.map((r) => [r.kind, String(r.cases), String(r.answered), String(r.typed), String(r.named), String(r.untyped), `${r.otherReadable} / ${r.otherPages}`, String(r.worseAfterWrite)]);
printTable(head, rows);
printTable(phaseHead, phaseRows);
printTable(damageHead, damageRows);
printTable(concurrencyHead, concurrencyRows);
for (const r of concurrency) for (const e of r.examples) process.stdout.write(`concurrency ${r.mode}: ${e}\n`);
const damageExamples = corruption.flatMap((r) => r.examples.map((e) => `${r.kind}: ${e}`));
if (fuzz.examples.length) process.stdout.write(`untyped failures:\n${fuzz.examples.join('\n')}\n`);
if (cli.examples.length) process.stdout.write(`untyped CLI failures:\n${cli.examples.join('\n')}\n`);
await mkdir(outDir, { recursive: true });
await writeFile(
  join(outDir, 'reliability.md'),
  [
    '# Reliability campaigns',
    '',
    `Command: \`npm run eval:reliability${quick ? ' -- --quick' : ''}\` (seed ${seed}). Throughput with many workers is in \`eval/results/scale.md\`.`,
    '',
    markdownTable(head, rows),
    '',
    ...(fuzz.examples.length ? ['Untyped failures (first ten):', '', ...fuzz.examples.map((e) => `- \`${e.replace(/`/g, "'").replace(/\n/g, ' ')}\``), ''] : []),
    '## Crash, per phase',
    '',
    'Each kill is aimed at a phase that writes: it lands a few milliseconds after the phase is entered (its first to third entry), and the phase it landed in is read from the trace (`OPTICMEM_PHASE_TRACE`). `finished`: the work ended before the kill. After each kill the same work runs again to the end; then compress and background runs must hold every message exactly once, age runs must end with the pages, tiers and sizes of an uninterrupted run, import runs with every turn and page of the export once, and `check` must find nothing.',
    '',
    markdownTable(phaseHead, phaseRows),
    '',
    ...(cli.examples.length ? ['Untyped CLI failures (first ten):', '', ...cli.examples.map((e) => `- \`${e.replace(/`/g, "'").replace(/\n/g, ' ')}\``), ''] : []),
    '## Corruption, per kind of damage',
    '',
    'Each case copies a store holding pages and hot turns of two users, damages it one way, opens it and reads it as users do (recall, context, list and export per user, check), then writes once (add and compact). `reads answered`: calls that returned; `typed errors`: calls refused with an OpticMemError; `other pages readable`: pages other than the damaged one readable by id after the damage; `made worse by a write`: cases where the write left fewer pages readable.',
    '',
    markdownTable(damageHead, damageRows),
    '',
    ...(damageExamples.length ? ['Untyped failures:', '', ...damageExamples.map((e) => `- \`${e.replace(/`/g, "'").replace(/\n/g, ' ')}\``), ''] : []),
    '## Concurrency',
    '',
    `Each run starts ${WORKERS} processes on one new store at once. Each adds its ${sizes.messages} messages one at a time with background compaction and, after every 8, recalls (counting a rehearsal), builds a context and ages its scope with its clock 400 days ahead (downsample and re-render in turn). "same scope": all in one scope; "distinct scopes": one each. Then every message must be held exactly once (hot or on one page) in its own scope, \`check\` must find nothing, and no call may fail.`,
    '',
    markdownTable(concurrencyHead, concurrencyRows),
    '',
    ...concurrency.flatMap((r) => r.examples.map((e) => `- ${r.mode}: \`${e.replace(/`/g, "'").replace(/\n/g, ' ')}\``)),
  ].join('\n'),
);
await writeFile(join(outDir, 'reliability.json'), JSON.stringify({ seed, sizes, crash, fuzz, cli, isolation, corruption, concurrency }, null, 2));
await writeChart(
  join(outDir, 'reliability.png'),
  await renderBarChart({
    title: 'Reliability campaigns: failures found (target 0)',
    yLabel: 'count',
    categories: ['turns lost (crash)', 'duplicated (crash)', 'failed reopens', 'untyped (fuzz)', 'changed on refusal', 'untyped or hung (CLI)', 'scope leaks', 'untyped (corruption)', 'worse after a write', 'lost or doubled (concurrency)', 'errors (concurrency)'],
    series: [{ name: 'failures', values: [crash.lost, crash.duplicated, crash.failedReopens, fuzz.untyped, fuzz.changedOnRefusal, cli.untyped + cli.hangs, isolation.leaks, sum((r) => r.untyped), sum((r) => r.worseAfterWrite), csum((r) => r.lost + r.duplicated + r.misplaced), csum((r) => r.errors + r.crashedWorkers)] }],
  }),
);
process.stdout.write(`wrote ${join(outDir, 'reliability.md')}\n`);
