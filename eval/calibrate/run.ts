/**
 * `npm run eval:calibrate [-- --pages N] [--profiles a,b] [--sizes 5,6,...] [--redraw-check] [--name FILE]`:
 * the local OCR model calibrated as a consumer (see benchmark.ts). Rerunning with more pages
 * reads only the pages the state files in test-artifacts/calibration/ do not hold.
 */
import { DEFAULT_SIZES } from '../../src/calibrate/options.js';
import { runCalibrationBenchmark } from './benchmark.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter(Boolean);
await runCalibrationBenchmark({
  profiles: list(flag('--profiles')) ?? ['deepseek-ocr:base', 'qwen2.5-vl', 'gpt-4o'],
  sizes: list(flag('--sizes'))?.map(Number) ?? DEFAULT_SIZES,
  pages: Number(flag('--pages') ?? 10),
  minFidelity: Number(flag('--min-fidelity') ?? 0.95),
  redrawCheck: argv.includes('--redraw-check'),
  workDir: 'test-artifacts/calibration',
  outDir: 'eval/results',
  name: flag('--name') ?? 'calibration',
});
