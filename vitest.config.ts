import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end suites spawn gateways and load them; on a 2-core machine
    // running them all at once would measure contention, not behaviour.
    fileParallelism: false,
  },
});
