import { builder } from './builder.js';
import { parseOperationId } from './ids.js';

builder.queryFields((t) => ({
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    // Our own field: plugin-relay's would throw on a malformed ID, where the contract wants null.
    resolve: (_root, { id }, { operations, viewer }) =>
      operations.get(viewer, parseOperationId(id)),
  }),
}));
