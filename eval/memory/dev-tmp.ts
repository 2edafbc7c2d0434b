import { runMemoryBenchmark } from './benchmark.js';
await runMemoryBenchmark({ quick: true, json: false, outDir: '/tmp/memdev', maxConversations: 2, maxTurns: 120, scaleSizes: [200, 2500], latencyQueries: 30, contextQuestions: 3, name: 'dev' });
