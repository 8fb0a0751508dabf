import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Tests start real servers and measure memory; forks keep them apart, and
    // --expose-gc lets the memory test measure live heap rather than garbage.
    pool: 'forks',
    execArgv: ['--expose-gc'],
  },
});
