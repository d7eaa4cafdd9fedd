import type { LogChange, OperationRecord } from './model.js';
import { ACTIVE, isDone, OperationStatus } from './status.js';

/**
 * The operation's whole state at the revision `change` logged, rebuilt from the operation as it
 * stands now (`current`, read after the change, so at its revision or later). Exact because of
 * how `transitions.ts` changes a record: kind, owner, input, idempotency key, timeout and
 * creation time never change; `startedAt` is set by the claim that ends PENDING and never
 * again; the cancel request fields are set by the change to CANCELLING (or from PENDING to
 * CANCELLED) and kept to the end; `result` and `finishedAt` come with the terminal state, which
 * is always the last revision; status, progress, message and error are in the log. The lease is
 * not part of any answer: an active revision carries the current lease.
 */
export function stateAt(current: OperationRecord, change: LogChange): OperationRecord {
  const { status } = change;
  const cancelRequested = status === OperationStatus.Cancelling || isDone(status);
  return {
    ...current,
    status,
    progress: change.progress,
    message: change.message,
    error: change.error,
    result: isDone(status) ? current.result : null,
    updatedAt: change.at,
    startedAt: status === OperationStatus.Pending ? null : current.startedAt,
    finishedAt: isDone(status) ? current.finishedAt : null,
    cancelRequestedAt: cancelRequested ? current.cancelRequestedAt : null,
    cancelledBy: cancelRequested ? current.cancelledBy : null,
    cancelReason: cancelRequested ? current.cancelReason : null,
    revision: change.revision,
    lease: ACTIVE.has(status) ? current.lease : null,
  };
}
