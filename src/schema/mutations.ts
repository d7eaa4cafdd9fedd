import {
  NotFoundError,
  OperationFinishedError,
  RateLimitedError,
  UnknownKindError,
  ValidationError,
} from '../operations/errors.js';
import type { OperationRecord } from '../operations/model.js';
import { builder } from './builder.js';
import { COST } from './cost.js';
import { parseOperationId } from './ids.js';
import { OperationRef } from './operation.js';

const StartOperationInput = builder.inputType('StartOperationInput', {
  fields: (t) => ({
    kind: t.string({ required: true }),
    input: t.field({ type: 'JSON', required: false }),
    idempotencyKey: t.string({
      required: false,
      description:
        'Same owner + same key within 24 hours returns the operation started first, instead of a new one.',
    }),
    timeoutMs: t.int({
      required: false,
      description:
        'Deadline in milliseconds from the start of its run; past it the operation ends FAILED with code TIMEOUT.',
    }),
  }),
});

const CancelOperationInput = builder.inputType('CancelOperationInput', {
  fields: (t) => ({
    id: t.id({ required: true, description: 'The global ID or the raw ID.' }),
    reason: t.string({ required: false }),
  }),
});

const RetryOperationInput = builder.inputType('RetryOperationInput', {
  fields: (t) => ({
    id: t.id({ required: true, description: 'The global ID or the raw ID of a done operation.' }),
  }),
});

const StartOperationSuccess = builder
  .objectRef<{ operation: OperationRecord; deduplicated: boolean }>('StartOperationSuccess')
  .implement({
    isTypeOf: (value) => typeof value === 'object' && value !== null && 'deduplicated' in value,
    fields: (t) => ({
      operation: t.field({ type: OperationRef, resolve: (r) => r.operation }),
      deduplicated: t.exposeBoolean('deduplicated', {
        description:
          'True when an earlier start with the same idempotencyKey was returned instead of a new operation.',
      }),
    }),
  });

const CancelOperationSuccess = builder
  .objectRef<{ cancelled: OperationRecord }>('CancelOperationSuccess')
  .implement({
    isTypeOf: (value) => typeof value === 'object' && value !== null && 'cancelled' in value,
    fields: (t) => ({
      operation: t.field({ type: OperationRef, resolve: (r) => r.cancelled }),
    }),
  });

const RetryOperationSuccess = builder
  .objectRef<{ retry: OperationRecord }>('RetryOperationSuccess')
  .implement({
    isTypeOf: (value) => typeof value === 'object' && value !== null && 'retry' in value,
    fields: (t) => ({
      operation: t.field({ type: OperationRef, resolve: (r) => r.retry }),
    }),
  });

builder.mutationFields((t) => ({
  startOperation: t.field({
    type: StartOperationSuccess,
    authScopes: { authenticated: true },
    complexity: COST.write,
    errors: {
      types: [UnknownKindError, ValidationError, RateLimitedError],
      directResult: true,
      union: { name: 'StartOperationResult' },
    },
    args: { input: t.arg({ type: StartOperationInput, required: true }) },
    resolve: (_root, { input }, { operations, viewer }) => operations.start(viewer, input),
  }),
  retryOperation: t.field({
    type: RetryOperationSuccess,
    description:
      "Starts a new operation with the same kind and input as a done one; the new one's retryOf points back.",
    authScopes: { authenticated: true },
    complexity: COST.write,
    errors: {
      types: [NotFoundError, ValidationError, RateLimitedError],
      directResult: true,
      union: { name: 'RetryOperationResult' },
    },
    args: { input: t.arg({ type: RetryOperationInput, required: true }) },
    resolve: async (_root, { input }, { operations, viewer }) => ({
      retry: await operations.retry(viewer, parseOperationId(input.id), input.id),
    }),
  }),
  cancelOperation: t.field({
    type: CancelOperationSuccess,
    authScopes: { authenticated: true },
    complexity: COST.write,
    errors: {
      types: [NotFoundError, OperationFinishedError, ValidationError],
      directResult: true,
      union: { name: 'CancelOperationResult' },
    },
    args: { input: t.arg({ type: CancelOperationInput, required: true }) },
    resolve: async (_root, { input }, { operations, viewer }) => ({
      cancelled: await operations.cancel(
        viewer,
        parseOperationId(input.id),
        input.id,
        input.reason,
      ),
    }),
  }),
}));
