import { parseArgs } from 'node:util';
import { runMemoryBenchmark } from './benchmark.js';

// --distinct 10000,100000 measures those store sizes again with distinct page bytes (default 10k, 100k; quick: the smallest).
const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, json: { type: 'boolean' }, out: { type: 'string' }, distinct: { type: 'string' } },
  strict: true,
});
const sizes = (list: string) =>
  list.split(',').filter(Boolean).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--distinct takes store sizes in pages, e.g. 10000,100000; '${s}' is not one.`);
    return n;
  });
await runMemoryBenchmark({
  quick: values.quick === true,
  json: values.json === true,
  outDir: values.out ?? 'eval/results',
  ...(values.distinct !== undefined ? { distinctSizes: sizes(values.distinct) } : {}),
});
