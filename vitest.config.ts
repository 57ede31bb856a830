import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import workspace packages from their TypeScript sources, so a unit test never
    // depends on a stale dist/. (Spawned binaries use dist/, built by `npm test` first.)
    alias: [
      { find: /^@tandem\/([a-z0-9-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@tandem\/([a-z0-9-]+)\/(.+)$/, replacement: `${root}packages/$1/src/$2.ts` },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The installed package on a booted Debian root: `npm run test:install` (vitest.install.config.ts).
    exclude: ['**/node_modules/**', 'test/install/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites that need namespaces or peers use unique names and subnets, so files may run in parallel.
    fileParallelism: true,
    reporters: ['default'],
  },
});
