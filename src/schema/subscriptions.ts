import { NotFoundError, ValidationError } from '../operations/errors.js';
import { builder } from './builder.js';
import { badUserInput, notFound } from './codes.js';
import { parseOperationId } from './ids.js';
import { OperationRef, OperationStatusEnum } from './operation.js';

builder.subscriptionType({
  fields: (t) => ({
    operationUpdated: t.field({
      type: OperationRef,
      description:
        "The operation's current state at once, then every later change in revision\norder; completes after the terminal state. Error NOT_FOUND when the viewer may\nnot see it.",
      authScopes: { authenticated: true },
      args: {
        id: t.arg.id({ required: true }),
        afterRevision: t.arg.int({
          required: false,
          description:
            'Resume: replay every revision after this one from the log (status changes never\ncoalesced), then go on live, instead of starting with the current state.',
        }),
      },
      subscribe: async (_root, { id, afterRevision }, { operations, viewer, signal }) => {
        if (afterRevision != null && afterRevision < 0) {
          throw badUserInput('afterRevision must be 0 or more.', 'afterRevision');
        }
        try {
          return await operations.watch(viewer, parseOperationId(id), id, signal, afterRevision);
        } catch (error) {
          if (error instanceof NotFoundError) throw notFound(id);
          if (error instanceof ValidationError) throw badUserInput(error.message, error.field);
          throw error;
        }
      },
      resolve: (op) => op,
    }),
    operationsUpdated: t.field({
      type: OperationRef,
      description: 'Every change of every operation the viewer may see (a dashboard feed).',
      authScopes: { authenticated: true },
      args: {
        status: t.arg({ type: [OperationStatusEnum], required: false }),
        kind: t.arg.string({ required: false }),
      },
      subscribe: (_root, { status, kind }, { operations, viewer, signal }) =>
        operations.watchAll(viewer, { statuses: status, kind }, signal),
      resolve: (op) => op,
    }),
  }),
});
