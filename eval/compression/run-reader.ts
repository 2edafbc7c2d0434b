/** `npm run eval:reader [-- --quick] [--modes base,small] [--pages N] [--name FILE]`: see reader-benchmark.ts. */
import { runReaderBenchmark } from './reader-benchmark.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const modes = (flag('--modes') ?? (quick ? 'base' : 'tiny,small,base,large,gundam')).split(',').map((m) => `deepseek-ocr:${m}`);
await runReaderBenchmark({
  pages: Number(flag('--pages') ?? (quick ? 2 : 10)),
  modes,
  ratios: quick ? [10, 20] : [10, 20, 25],
  modelPages: quick ? 1 : 2,
  outDir: 'eval/results',
  name: flag('--name') ?? (quick ? 'reader-quick' : 'reader'),
});
