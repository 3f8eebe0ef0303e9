import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: keep integration suites from starving each other.
    maxWorkers: 2,
    // CI asks for a JSON report as well, to print a plain "N passed, N failed" line.
    ...(process.env.WANJI_VITEST_JSON
      ? { reporters: ['default', 'json'], outputFile: { json: process.env.WANJI_VITEST_JSON } }
      : {}),
  },
});
