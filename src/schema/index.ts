import { encodeGlobalID } from '@pothos/plugin-relay';
import { type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './operation.js';
import './events.js';
import './errors.js';
import './node.js';
import './viewer.js';
import './kinds.js';
import './wait.js';
import './mutations.js';
import './subscriptions.js';
import './watch.js';

builder.queryType({});
builder.mutationType({});

/** A node type's own id resolver, as given to `builder.node`. */
type RawIdResolver = GraphQLFieldResolver<unknown, unknown, unknown, unknown>;

/**
 * The relay plugin resolves every node's `id` in an async function, which makes the execution
 * of anything that selects one asynchronous: a promise per operation of a page, and per event of
 * a subscription before it can be written. The same global id (`encodeGlobalID` of the type's
 * name and its raw id, as the plugin encodes it), resolved in the same turn when the raw id is.
 */
function resolveNodeIdsInTurn(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || !type.getInterfaces().some((node) => node.name === 'Node')) continue;
    const options = type.extensions.pothosOptions as { id?: { resolve?: RawIdResolver } };
    const rawId = options?.id?.resolve;
    const field = type.getFields().id;
    if (rawId === undefined || field === undefined) continue;
    const { name } = type;
    const encode = (raw: unknown) => encodeGlobalID(name, String(raw));
    field.resolve = (parent, args, context, info) => {
      const raw = rawId(parent, args, context, info);
      return raw instanceof Promise ? raw.then(encode) : encode(raw);
    };
  }
  return schema;
}

/** The executable schema of the API. */
export const schema = resolveNodeIdsInTurn(builder.toSchema({ sortSchema: false }));
