/**
 * `npm run eval:reliability`: the crash, fuzz and isolation campaigns at full size (see
 * campaigns.ts); concurrency is measured by `npm run eval:scale` (four workers on one scope).
 * Prints tables and writes eval/results/reliability.{md,json,png}.
 * Flags: --quick (small sizes), --seed N, --out DIR.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderBarChart, writeChart } from '../lib/chart.js';
import { markdownTable, printTable } from '../lib/table.js';
import { crashCampaign, fuzzCampaign, isolationCampaign } from './campaigns.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, seed: { type: 'string' }, out: { type: 'string' } }, strict: true });
const quick = values.quick === true;
const seed = Number(values.seed ?? 20261206);
const outDir = values.out ?? 'eval/results';
const sizes = quick ? { kills: 5, fuzz: 500, isolation: 200 } : { kills: 100, fuzz: 10_000, isolation: 1_000 };

const t0 = performance.now();
const crash = await crashCampaign({ kills: sizes.kills, seed, onKill: (i, r) => process.stderr.write(`crash ${i + 1}/${sizes.kills}: landed ${r.landed}, lost ${r.lost}, duplicated ${r.duplicated}\n`) });
const crashS = (performance.now() - t0) / 1000;
const t1 = performance.now();
const fuzz = await fuzzCampaign({ inputs: sizes.fuzz, seed });
const fuzzS = (performance.now() - t1) / 1000;
const t2 = performance.now();
const isolation = await isolationCampaign({ calls: sizes.isolation, seed });
const isolationS = (performance.now() - t2) / 1000;

const head = ['campaign', 'size', 'outcome', 'target', 'status', 'seconds'];
const rows = [
  ['crash (SIGKILL compress, resume, audit)', `${crash.kills} kills (${crash.landed} before the end), ${crash.messages} messages`, `${crash.lost} lost, ${crash.duplicated} duplicated, ${crash.failedReopens} failed reopens, ${crash.checkProblems} check problems`, '0 / 0 / 0', crash.lost + crash.duplicated + crash.failedReopens + crash.checkProblems === 0 ? 'met' : 'not met', crashS.toFixed(0)],
  ['fuzz (Memory API)', `${fuzz.inputs} inputs`, `${fuzz.accepted} accepted, ${fuzz.refused} refused; ${fuzz.untyped} untyped, ${fuzz.changedOnRefusal} refusals that changed the store`, '0 untyped, 0 changed', fuzz.untyped + fuzz.changedOnRefusal === 0 ? 'met' : 'not met', fuzzS.toFixed(0)],
  ['isolation (hostile scope ids)', `${isolation.calls} calls over ${isolation.scopes} scopes`, `${isolation.leaks} leaks`, '0', isolation.leaks === 0 ? 'met' : 'not met', isolationS.toFixed(0)],
];
printTable(head, rows);
if (fuzz.examples.length) process.stdout.write(`untyped failures:\n${fuzz.examples.join('\n')}\n`);
await mkdir(outDir, { recursive: true });
await writeFile(
  join(outDir, 'reliability.md'),
  [
    '# Reliability campaigns',
    '',
    `Command: \`npm run eval:reliability${quick ? ' -- --quick' : ''}\` (seed ${seed}). Concurrency (four workers compacting one scope) is in \`eval/results/scale.md\`.`,
    '',
    markdownTable(head, rows),
    '',
    ...(fuzz.examples.length ? ['Untyped failures (first ten):', '', ...fuzz.examples.map((e) => `- \`${e.replace(/`/g, "'").replace(/\n/g, ' ')}\``), ''] : []),
  ].join('\n'),
);
await writeFile(join(outDir, 'reliability.json'), JSON.stringify({ seed, sizes, crash, fuzz, isolation }, null, 2));
await writeChart(
  join(outDir, 'reliability.png'),
  await renderBarChart({
    title: 'Reliability campaigns: failures found (target 0)',
    yLabel: 'count',
    categories: ['turns lost (crash)', 'duplicated (crash)', 'failed reopens', 'untyped (fuzz)', 'changed on refusal', 'scope leaks'],
    series: [{ name: 'failures', values: [crash.lost, crash.duplicated, crash.failedReopens, fuzz.untyped, fuzz.changedOnRefusal, isolation.leaks] }],
  }),
);
process.stdout.write(`wrote ${join(outDir, 'reliability.md')}\n`);
