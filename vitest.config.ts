import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    // Room for a busy 2-core machine: tests wait for conditions, and these only end a test that hangs.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // Tests start real servers and measure memory; forks keep them apart, and
    // --expose-gc lets the memory test measure live heap rather than garbage.
    pool: 'forks',
    execArgv: ['--expose-gc'],
  },
});
