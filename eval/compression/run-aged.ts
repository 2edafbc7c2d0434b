/** `npm run eval:aged [-- --quick] [--pages N] [--model-pages N] [--sources kdconv,oasst] [--name FILE]`: see aged-benchmark.ts. */
import { runAgedBenchmark } from './aged-benchmark.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
await runAgedBenchmark({
  pages: Number(flag('--pages') ?? (quick ? 2 : 10)),
  // The OCR model takes 5-90 s a page on aged pages: one page a row keeps the run near an hour.
  modelPages: Number(flag('--model-pages') ?? 1),
  // Large 10x steps down through Base and Small; Base 20x starts small and goes below 4 px.
  drawn: quick
    ? [{ profile: 'deepseek-ocr:base', ratio: 10 }]
    : [
        { profile: 'deepseek-ocr:large', ratio: 10 },
        { profile: 'deepseek-ocr:base', ratio: 20 },
      ],
  steps: [15, 20, 30],
  ...(flag('--sources') ? { sources: flag('--sources')!.split(',') } : {}),
  outDir: 'eval/results',
  name: flag('--name') ?? (quick ? 'aged-quick' : 'aged'),
});
