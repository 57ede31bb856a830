/**
 * `npm run test:install`: the package installed on a fresh Debian root booted with systemd
 * (test/install/). Slow (a Debian bootstrap, apt-get from the mirror, a boot), so it is not
 * part of `npm test`; .ci/run runs it after the suite.
 */
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/install/**/*.test.ts'],
      exclude: [],
      fileParallelism: false,
      testTimeout: 300_000,
      hookTimeout: 900_000,
    },
  }),
);
