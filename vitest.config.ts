import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native sessions (onnxruntime, canvas) are heavy; two workers match the two CI cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
