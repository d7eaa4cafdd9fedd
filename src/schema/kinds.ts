import type { OperationKindInfo } from '../handlers/registry.js';
import { builder } from './builder.js';

const OperationKindRef = builder.objectRef<OperationKindInfo>('OperationKind').implement({
  fields: (t) => ({
    kind: t.exposeString('kind'),
    description: t.exposeString('description', { nullable: true }),
    inputSchema: t.field({
      type: 'JSON',
      description: 'JSON Schema (draft 2020-12) of the input the kind accepts.',
      resolve: (kind) => kind.inputSchema,
    }),
    exampleInput: t.field({
      type: 'JSON',
      nullable: true,
      description: 'An input that the kind accepts, for forms and examples.',
      resolve: (kind) => kind.exampleInput,
    }),
  }),
});

builder.queryFields((t) => ({
  operationKinds: t.field({
    type: [OperationKindRef],
    description: 'Every kind this server can run, with the JSON Schema of its input.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, { operations }) => operations.kinds(),
  }),
}));
