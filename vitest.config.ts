import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Protocol and packaging tests spawn real processes; keep the 2-core machine from thrashing.
    maxConcurrency: 4,
    pool: 'forks',
  },
});
