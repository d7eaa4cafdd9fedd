/** The lifecycle states of an operation (contract: `OperationStatus`). */
export const OperationStatus = {
  Pending: 'PENDING',
  Running: 'RUNNING',
  Cancelling: 'CANCELLING',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Cancelled: 'CANCELLED',
} as const;
export type OperationStatus = (typeof OperationStatus)[keyof typeof OperationStatus];

/** Every status, in lifecycle order. */
export const ALL_STATUSES: readonly OperationStatus[] = Object.values(OperationStatus);

/** The states an operation never leaves. */
export const TERMINAL: ReadonlySet<OperationStatus> = new Set([
  OperationStatus.Succeeded,
  OperationStatus.Failed,
  OperationStatus.Cancelled,
]);

/** The states in which a worker holds a lease and runs the handler. */
export const ACTIVE: ReadonlySet<OperationStatus> = new Set([
  OperationStatus.Running,
  OperationStatus.Cancelling,
]);

/** The states of an operation not done yet, in lifecycle order. */
export const UNFINISHED = [
  OperationStatus.Pending,
  OperationStatus.Running,
  OperationStatus.Cancelling,
] as const;
export type UnfinishedStatus = (typeof UNFINISHED)[number];

/** True once the operation can no longer change. */
export function isDone(status: OperationStatus): boolean {
  return TERMINAL.has(status);
}

/** Stable machine-readable codes of `Operation.error`. */
export const OperationErrorCode = {
  HandlerError: 'HANDLER_ERROR',
  Timeout: 'TIMEOUT',
  Interrupted: 'INTERRUPTED',
  Cancelled: 'CANCELLED',
  CancelForced: 'CANCEL_FORCED',
} as const;
export type OperationErrorCode = (typeof OperationErrorCode)[keyof typeof OperationErrorCode];
