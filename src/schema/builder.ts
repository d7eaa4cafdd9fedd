import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { JsonValue } from '../operations/model.js';
import { unauthenticated } from './codes.js';
import type { Context } from './context.js';

/** The one schema builder: plugins and shared types; every type lives in its own file. */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { authenticated: boolean; admin: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: JsonValue; Output: unknown };
    ID: { Input: string; Output: string };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin],
  scopeAuth: {
    authScopes: (context) => ({
      authenticated: context.viewer !== undefined,
      admin: context.viewer?.isAdmin === true,
    }),
    unauthorizedError: () => unauthenticated(),
  },
  errors: { defaultTypes: [] },
  relay: {
    // The built-in node field throws on malformed IDs; schema/node.ts defines our own.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: { list: false, items: false } },
    nodeFieldOptions: { nullable: false },
  },
});
