import { ValidationError } from '../operations/errors.js';
import type { OperationFailure, OperationRecord } from '../operations/model.js';
import type { OperationPage } from '../operations/service.js';
import { isDone, OperationStatus } from '../operations/status.js';
import { builder } from './builder.js';
import { badUserInput } from './codes.js';
import { pageCost } from './cost.js';
import { OPERATION_TYPENAME, parseOperationId } from './ids.js';

/** `enum OperationStatus`. */
export const OperationStatusEnum = builder.enumType('OperationStatus', {
  values: {
    [OperationStatus.Pending]: {
      value: OperationStatus.Pending,
      description: 'Accepted; no worker has started it yet.',
    },
    [OperationStatus.Running]: { value: OperationStatus.Running },
    [OperationStatus.Cancelling]: {
      value: OperationStatus.Cancelling,
      description: 'Cancellation was requested while it ran; its worker is stopping.',
    },
    [OperationStatus.Succeeded]: { value: OperationStatus.Succeeded },
    [OperationStatus.Failed]: { value: OperationStatus.Failed },
    [OperationStatus.Cancelled]: { value: OperationStatus.Cancelled },
  } as const,
});

const OperationErrorRef = builder.objectRef<OperationFailure>('OperationError').implement({
  fields: (t) => ({
    code: t.exposeString('code', {
      description:
        'Stable machine-readable code: HANDLER_ERROR, TIMEOUT, INTERRUPTED, CANCELLED or CANCEL_FORCED.',
    }),
    message: t.exposeString('message'),
  }),
});

/** `type Operation implements Node`. */
export const OperationRef = builder.objectRef<OperationRecord>(OPERATION_TYPENAME);

builder.node(OperationRef, {
  id: { resolve: (op) => op.id, description: 'Relay global ID.' },
  isTypeOf: (value) =>
    typeof value === 'object' && value !== null && 'revision' in value && 'ownerId' in value,
  fields: (t) => ({
    kind: t.exposeString('kind'),
    status: t.field({ type: OperationStatusEnum, resolve: (op) => op.status }),
    done: t.boolean({
      description:
        'True once status is SUCCEEDED, FAILED or CANCELLED; it never changes after that.',
      resolve: (op) => isDone(op.status),
    }),
    progress: t.float({
      nullable: true,
      description: 'Fraction complete, 0..1; null when the worker has not reported any.',
      resolve: (op) => op.progress,
    }),
    message: t.exposeString('message', {
      nullable: true,
      description: 'Latest human-readable progress message.',
    }),
    ownerId: t.exposeID('ownerId', { description: 'The `sub` of the user who started it.' }),
    input: t.field({ type: 'JSON', nullable: true, resolve: (op) => op.input }),
    result: t.field({ type: 'JSON', nullable: true, resolve: (op) => op.result }),
    error: t.field({ type: OperationErrorRef, nullable: true, resolve: (op) => op.error }),
    createdAt: t.field({ type: 'DateTime', resolve: (op) => op.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (op) => op.updatedAt }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (op) => op.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (op) => op.finishedAt }),
    cancelRequestedAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (op) => op.cancelRequestedAt,
    }),
    cancelledBy: t.exposeID('cancelledBy', {
      nullable: true,
      description: 'The `sub` of the user who asked for cancellation.',
    }),
    cancelReason: t.exposeString('cancelReason', { nullable: true }),
    revision: t.exposeInt('revision', {
      description: 'Starts at 1 and grows by exactly 1 with every change of this operation.',
    }),
    timeoutMs: t.exposeInt('timeoutMs', {
      nullable: true,
      description: 'The deadline given at start, in milliseconds from startedAt.',
    }),
    retryOf: t.field({
      type: OperationRef,
      nullable: true,
      description:
        'The done operation this one retries, when it was started by retryOperation and the viewer may see it.',
      resolve: (op, _args, { operations, viewer }) => operations.retryOf(viewer, op),
    }),
  }),
});

builder.queryFields((t) => ({
  operation: t.field({
    type: OperationRef,
    nullable: true,
    description:
      'Null when it does not exist or the viewer may not see it. Accepts the global ID or the raw ID.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { operations, viewer }) =>
      operations.get(viewer, parseOperationId(id)),
  }),
  operations: t.connection(
    {
      type: OperationRef,
      description:
        'Newest first. Users see their own operations; admins see all, and may narrow them with ownerId.',
      authScopes: { authenticated: true },
      complexity: pageCost,
      args: {
        status: t.arg({ type: [OperationStatusEnum], required: false }),
        kind: t.arg.string({ required: false }),
        ownerId: t.arg.id({ required: false }),
      },
      resolve: async (_root, args, { operations, viewer }) => {
        try {
          return await operations.list(viewer, {
            first: args.first,
            after: args.after,
            last: args.last,
            before: args.before,
            statuses: args.status,
            kind: args.kind,
            ownerId: args.ownerId,
          });
        } catch (error) {
          if (error instanceof ValidationError) throw badUserInput(error.message, error.field);
          throw error;
        }
      },
    },
    {
      name: 'OperationConnection',
      fields: (c) => ({
        totalCount: c.int({
          resolve: (page) => (page as unknown as OperationPage).totalCount(),
        }),
      }),
    },
    { name: 'OperationEdge' },
  ),
}));
