import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
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
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, ComplexityPlugin],
  scopeAuth: {
    authScopes: (context) => ({
      authenticated: context.viewer !== undefined,
      admin: context.viewer?.isAdmin === true,
    }),
    unauthorizedError: () => unauthenticated(),
  },
  errors: { defaultTypes: [] },
  complexity: {
    defaultComplexity: 1,
    // Lists are sized by the arguments that bound them (schema/cost.ts); a list without one is
    // the `edges` of a page its connection already counted.
    defaultListMultiplier: 1,
    // The plugin's own check runs inside execution; transport/cost-limit.ts measures each
    // request before anything executes, the same on HTTP, SSE and WebSocket.
    disabled: true,
  },
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
