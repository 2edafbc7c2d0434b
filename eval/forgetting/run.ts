import { runForgettingExperiment } from './experiment.js';

const USAGE = 'usage: npm run eval:forgetting -- [--quick] [--json] [--fixture] [--out DIR]';
const argv = process.argv.slice(2);
let outDir = 'eval/results';
const flags = new Set<string>();
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '--out') {
    const dir = argv[++i];
    if (!dir) {
      process.stderr.write(`--out needs a folder\n${USAGE}\n`);
      process.exit(2);
    }
    outDir = dir;
  } else if (a.startsWith('--out=')) outDir = a.slice('--out='.length);
  else if (['--quick', '--json', '--fixture'].includes(a)) flags.add(a);
  else {
    process.stderr.write(`unknown argument '${a}'\n${USAGE}\n`);
    process.exit(2);
  }
}
await runForgettingExperiment({ quick: flags.has('--quick'), json: flags.has('--json'), fixture: flags.has('--fixture'), outDir });
