import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Vite would hand tests graphql's ESM build while Pothos and yoga, loaded by Node, get the CJS
// one: two realms, "Cannot use GraphQLObjectType from another module". One copy for everyone.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    include: ['test/**/*.test.ts'],
    // The default output, plus one line per skipped test that says why it was skipped.
    reporters: ['default', './test/helpers/skip-notes-reporter.ts'],
    // Builds the dashboard once per run for the browser and static-serving tests, and picks the
    // Chromium the browser tests drive.
    globalSetup: ['test/browser/build-dashboard.ts', 'test/browser/chromium.ts'],
    // Far above what any test takes on an idle machine: other work may load the 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
