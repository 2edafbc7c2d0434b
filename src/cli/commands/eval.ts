/**
 * `opticmem eval <benchmark>`: the benchmarks in eval/, compiled beside the CLI and loaded on
 * use. Without the shared data folder (OPTICMEM_DATA_DIR, else ../shared/data beside the
 * package) each falls back to the small conversations shipped in the package and says so.
 */
import { InvalidInputError } from '../../errors.js';

export interface EvalOptions {
  quick?: boolean;
  json?: boolean;
  out: string;
}

export const BENCHMARKS = ['compression', 'memory', 'forgetting'] as const;

export async function evalCommand(name: string, options: EvalOptions): Promise<number> {
  const common = { quick: options.quick === true, json: options.json === true, outDir: options.out };
  switch (name) {
    case 'compression': {
      const { runCompressionBenchmark } = await import('../../../eval/compression/benchmark.js');
      await runCompressionBenchmark(common);
      return 0;
    }
    case 'memory': {
      const { runMemoryBenchmark } = await import('../../../eval/memory/benchmark.js');
      await runMemoryBenchmark(common);
      return 0;
    }
    case 'forgetting': {
      const { runForgettingExperiment } = await import('../../../eval/forgetting/experiment.js');
      await runForgettingExperiment(common);
      return 0;
    }
  }
  throw new InvalidInputError('benchmark', `Unknown benchmark '${name}'. Use one of: ${BENCHMARKS.join(', ')}.`);
}
