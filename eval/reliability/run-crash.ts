/**
 * `npm run eval:crash [-- --workloads age,rerender] [--kills N] [--seed N] [--out DIR]`: the crash
 * campaign alone (crash.ts), on some workloads, for a quicker or more focused look than the full
 * `npm run eval:reliability`. Prints the per-phase table and writes DIR/crash.md and crash.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { markdownTable, printTable } from '../lib/table.js';
import { crashCampaign, TARGETS, type Workload } from './crash.js';

const { values } = parseArgs({ options: { workloads: { type: 'string' }, kills: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } }, strict: true });
const workloads = values.workloads?.split(',').map((w) => w.trim()) ?? [...new Set(TARGETS.map((t) => t.workload))];
const unknown = workloads.filter((w) => !TARGETS.some((t) => t.workload === w));
if (unknown.length) throw new Error(`Unknown workload ${unknown.join(', ')}: use ${[...new Set(TARGETS.map((t) => t.workload))].join(', ')}.`);
const targets = TARGETS.filter((t) => workloads.includes(t.workload as Workload));
const kills = Number(values.kills ?? 10 * targets.length);
const seed = Number(values.seed ?? 20261206);
const outDir = values.out ?? 'eval/results';

const t0 = performance.now();
const r = await crashCampaign({ kills, seed, targets, onKill: (i, target, landed) => process.stderr.write(`crash ${i + 1}/${kills}: aimed at ${target}, landed in ${landed}\n`) });
const seconds = (performance.now() - t0) / 1000;
const head = ['workload', 'phase the kill landed in', 'kills', 'lost', 'duplicated', 'failed reopens', 'check problems'];
const rows = r.byPhase.map((p) => [p.workload, p.phase, String(p.kills), String(p.lost), String(p.duplicated), String(p.failedReopens), String(p.checkProblems)]);
printTable(head, rows);
const summary = `${r.kills} kills (${r.landed} before the work ended) on ${workloads.join(', ')}: ${r.lost} lost, ${r.duplicated} duplicated, ${r.failedReopens} failed reopens, ${r.checkProblems} check problems; ${seconds.toFixed(0)} s.`;
process.stdout.write(`${summary}\n`);
await mkdir(outDir, { recursive: true });
const args = [values.workloads ? `--workloads ${values.workloads}` : '', values.kills ? `--kills ${values.kills}` : '', values.seed ? `--seed ${values.seed}` : ''].filter(Boolean).join(' ');
await writeFile(join(outDir, 'crash.md'), ['# Crash campaign', '', `Command: \`npm run eval:crash${args ? ` -- ${args}` : ''}\` (seed ${seed}). See \`eval/results/reliability.md\` for how kills are aimed and audited.`, '', summary, '', markdownTable(head, rows), ''].join('\n'));
await writeFile(join(outDir, 'crash.json'), JSON.stringify({ seed, workloads, ...r }, null, 2));
process.stdout.write(`wrote ${join(outDir, 'crash.md')}\n`);
