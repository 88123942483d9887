import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start their own servers on 127.0.0.1 ports chosen by the OS,
    // so files can run in parallel; the 2-core CI machine sets the pace.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
