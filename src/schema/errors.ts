import {
  NotFoundError,
  OperationFinishedError,
  RateLimitedError,
  UnknownKindError,
  ValidationError,
} from '../operations/errors.js';
import { builder } from './builder.js';
import { toGlobalId } from './ids.js';
import { OperationRef } from './operation.js';

/** `interface Error { message }`: every error returned as data implements it. */
export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'Every error returned as data implements this.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description:
    'No such operation, or one the viewer may not see (the two are indistinguishable on purpose).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({ id: t.exposeID('id') }),
});

builder.objectType(OperationFinishedError, {
  name: 'OperationFinishedError',
  description: 'The operation already SUCCEEDED or FAILED; it can no longer be cancelled.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof OperationFinishedError,
  fields: (t) => ({ operation: t.field({ type: OperationRef, resolve: (e) => e.operation }) }),
});

builder.objectType(UnknownKindError, {
  name: 'UnknownKindError',
  description: 'No handler is registered for this kind.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof UnknownKindError,
  fields: (t) => ({ kind: t.exposeString('kind') }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'An argument was rejected; nothing was changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({ field: t.exposeString('field', { nullable: true }) }),
});

builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  description:
    'A per-owner quota refused the start (too many active operations, or too many starts in a minute); nothing was stored.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof RateLimitedError,
  fields: (t) => ({
    retryAfterMs: t.exposeInt('retryAfterMs', {
      description: 'How long to wait before a start can succeed.',
    }),
  }),
});

export { toGlobalId };
