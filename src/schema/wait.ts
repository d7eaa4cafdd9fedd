import { ValidationError } from '../operations/errors.js';
import { builder } from './builder.js';
import { badUserInput } from './codes.js';
import { parseOperationId } from './ids.js';
import { OperationRef } from './operation.js';

builder.queryFields((t) => ({
  waitOperation: t.field({
    type: OperationRef,
    nullable: true,
    description:
      'Waits until the operation is done or timeoutMs passes (default 30000, at most 60000), then returns its state.\nNull when it does not exist or the viewer may not see it.',
    authScopes: { authenticated: true },
    args: {
      id: t.arg.id({ required: true }),
      timeoutMs: t.arg.int({ required: false }),
    },
    // The stream signal ends the wait when the request or socket ends, the token expires or the server stops.
    resolve: async (_root, { id, timeoutMs }, context) => {
      const { operations, viewer } = context;
      try {
        return await operations.wait(viewer, {
          id: parseOperationId(id),
          givenId: id,
          timeoutMs,
          signal: context.streamSignal(),
        });
      } catch (error) {
        if (error instanceof ValidationError) throw badUserInput(error.message, error.field);
        throw error;
      }
    },
  }),
}));
