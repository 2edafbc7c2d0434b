import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Finds or installs Debian's chromium for the inspector's browser test (inject('chromium')).
    globalSetup: ['scripts/ensure-chromium.mjs'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native sessions (onnxruntime, canvas) are heavy; two workers match the two CI cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
