import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * The typed client's documents (src/client/documents.ts) against the committed schema.graphql,
 * and the union and interface members Apollo Client's cache needs (`possibleTypes`).
 * `npm run codegen` rewrites src/client/generated/; test/schema/codegen.test.ts fails when the
 * committed output is stale.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/client/documents.ts'],
  ignoreNoDocuments: false,
  // Relative imports end in `.js`, as NodeNext resolution and browsers need.
  emitLegacyCommonJSImports: false,
  generates: {
    'src/client/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Documents are typed strings: no GraphQL parser or AST in a browser bundle.
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
    // Apollo Client's `possibleTypes`: without them its cache cannot match `... on Error` or
    // `... on Node` and silently drops those fields. Plain data, re-exported by longrun/client.
    'src/client/generated/possible-types.ts': {
      plugins: ['fragment-matcher'],
      config: { apolloClientVersion: 3, useExplicitTyping: true },
    },
  },
};

export default config;
