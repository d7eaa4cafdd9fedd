import { ValidationError } from '../operations/errors.js';
import type { LogEntry } from '../operations/model.js';
import { builder } from './builder.js';
import { badUserInput } from './codes.js';
import { pageCost } from './cost.js';
import { OperationRef, OperationStatusEnum } from './operation.js';

const OperationEventRef = builder.objectRef<LogEntry>('OperationEvent').implement({
  description: 'One entry of the transition log: what changed at one revision, and who caused it.',
  fields: (t) => ({
    revision: t.exposeInt('revision'),
    status: t.field({ type: OperationStatusEnum, resolve: (event) => event.status }),
    progress: t.float({ nullable: true, resolve: (event) => event.progress }),
    actor: t.exposeString('actor', {
      description: '`user:<sub>` for a request, `worker:<id>` for a runner, `system` for recovery.',
    }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'The cancel reason or the error code of a new status.',
    }),
    time: t.field({ type: 'DateTime', resolve: (event) => event.at }),
  }),
});

builder.objectField(OperationRef, 'events', (t) =>
  t.connection(
    {
      type: OperationEventRef,
      description: 'The transition log of this operation, oldest first (audit).',
      complexity: pageCost,
      resolve: async (op, args, { history }) => {
        try {
          return await history.page(op, args);
        } catch (error) {
          if (error instanceof ValidationError) throw badUserInput(error.message, error.field);
          throw error;
        }
      },
    },
    { name: 'OperationEventConnection' },
    { name: 'OperationEventEdge' },
  ),
);
