import { defineConfig } from 'vitest/config';

/**
 * `npm run test:browser`: the tests that drive a real Chromium (test/browser/*.browser.ts). They are
 * named so that `npm test` (test/**\/*.test.ts) never picks them up and runs on a machine without a
 * browser.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One browser and one pipeline at a time: the 2-core machine sets the pace.
    fileParallelism: false,
  },
});
