import { runMemoryBenchmark } from './benchmark.js';

const args = new Set(process.argv.slice(2));
await runMemoryBenchmark({ quick: args.has('--quick'), json: args.has('--json'), outDir: 'eval/results' });
