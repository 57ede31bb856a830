/**
 * `npm run test:install`: the package installed on a fresh Debian root booted with systemd
 * (test/install/). Slow (a Debian bootstrap, apt-get from the mirror, a boot), so it is not
 * part of `npm test`; .ci/run runs it after the suite. Only the resolver is shared with
 * vitest.config.ts (merging would add this include to the suite's, not replace it).
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['test/install/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 900_000,
    reporters: ['default'],
  },
});
