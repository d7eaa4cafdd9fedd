/**
 * `longrun/client`: a typed client for longrun that runs in browsers and in Node.
 *
 * ```ts
 * import { createOperationsClient } from 'longrun/client';
 * const client = createOperationsClient({ url: 'http://127.0.0.1:4000/graphql', token });
 * const started = await client.start('demo.sleep', { ms: 5000 });
 * if (started.__typename === 'StartOperationSuccess') {
 *   for await (const op of client.watch(started.operation.id)) console.log(op.status, op.progress);
 * }
 * ```
 */

export { operationTypePolicies, possibleTypes } from './apollo.js';
export {
  type CancelResult,
  type ConnectionState,
  createOperationsClient,
  type Operation,
  type OperationEvent,
  type OperationFilter,
  type OperationKind,
  type OperationPage,
  type OperationsClient,
  type OperationsClientOptions,
  type RetryResult,
  type StartResult,
  type Viewer,
  type WatchTokenResult,
} from './client.js';
export {
  ClientErrorCode,
  type GraphQLErrorEntry,
  isOperationsClientError,
  OperationsClientError,
} from './errors.js';
export { ALL_STATUSES, isTerminal, OperationStatus, TERMINAL_STATUSES } from './status.js';
