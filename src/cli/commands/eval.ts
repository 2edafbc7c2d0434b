import { InvalidInputError } from '../../errors.js';

export interface EvalOptions {
  quick?: boolean;
  json?: boolean;
  out: string;
}

export const BENCHMARKS = ['compression'] as const;

export async function evalCommand(name: string, options: EvalOptions): Promise<number> {
  if (name === 'compression') {
    // The benchmark lives in eval/ and is compiled beside the CLI.
    const { runCompressionBenchmark } = await import('../../../eval/compression/benchmark.js');
    await runCompressionBenchmark({ quick: options.quick === true, json: options.json === true, outDir: options.out });
    return 0;
  }
  throw new InvalidInputError('benchmark', `Unknown benchmark '${name}'. Use one of: ${BENCHMARKS.join(', ')}.`);
}
