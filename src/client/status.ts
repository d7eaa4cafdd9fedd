import type { OperationStatus } from './generated/graphql.js';

/** The statuses an operation never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<OperationStatus> = new Set<OperationStatus>([
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
]);

/** True once `status` can no longer change. */
export function isTerminal(status: OperationStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
