import type { OperationStatus as GeneratedStatus } from './generated/graphql.js';

/** The lifecycle states of an operation, as the schema's `OperationStatus` enum names them. */
export const OperationStatus = {
  Pending: 'PENDING',
  Running: 'RUNNING',
  Cancelling: 'CANCELLING',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Cancelled: 'CANCELLED',
} as const satisfies Record<string, GeneratedStatus>;
export type OperationStatus = GeneratedStatus;

/** Every status, in lifecycle order. */
export const ALL_STATUSES: readonly OperationStatus[] = Object.values(OperationStatus);

/** The statuses an operation never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<OperationStatus> = new Set<OperationStatus>([
  OperationStatus.Succeeded,
  OperationStatus.Failed,
  OperationStatus.Cancelled,
]);

/** True once `status` can no longer change. */
export function isTerminal(status: OperationStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
