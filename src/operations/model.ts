import type { OperationErrorCode, OperationStatus } from './status.js';

/** Any JSON value, as stored in `input` and `result`. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Why an operation ended without a result. */
export interface OperationFailure {
  readonly code: OperationErrorCode;
  readonly message: string;
}

/** The worker lease on a RUNNING or CANCELLING operation. */
export interface Lease {
  /** The id of the worker (one per process) that runs the handler. */
  readonly owner: string;
  readonly expiresAt: Date;
}

/** One operation as stored: the whole state, read and written as a unit. */
export interface OperationRecord {
  /** Raw id (a UUID); the schema wraps it in a Relay global ID. */
  readonly id: string;
  readonly kind: string;
  readonly status: OperationStatus;
  readonly progress: number | null;
  readonly message: string | null;
  readonly ownerId: string;
  readonly input: JsonValue | null;
  readonly result: JsonValue | null;
  readonly error: OperationFailure | null;
  readonly idempotencyKey: string | null;
  readonly timeoutMs: number | null;
  /** Raw id of the done operation this one retries (`retryOperation`); null for a plain start. */
  readonly retryOf: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly cancelRequestedAt: Date | null;
  readonly cancelledBy: string | null;
  readonly cancelReason: string | null;
  /** Starts at 1 and grows by exactly 1 with every visible change. */
  readonly revision: number;
  readonly lease: Lease | null;
}

/** What one entry of the transition log says changed, and who caused it (the audit view). */
export interface LogEntry {
  readonly operationId: string;
  readonly revision: number;
  readonly status: OperationStatus;
  readonly progress: number | null;
  /** `user:<sub>`, `worker:<id>` or `system`. */
  readonly actor: string;
  /** A cancel reason or an error code; null when there is nothing to say. */
  readonly reason: string | null;
  /** When the change was committed (the state's `updatedAt`). */
  readonly at: Date;
}

/**
 * What the transition log stores of one revision: its audit entry and the small fields that may
 * change with it. Input, result and the other fields an operation is created with, or gets only
 * when it ends, are not logged: `operations/log-state.ts` rebuilds whole states from the operation.
 */
export interface LogChange extends LogEntry {
  readonly message: string | null;
  readonly error: OperationFailure | null;
}

/** One entry of the durable transition log, keyed by operation and revision, with its state. */
export interface OperationEvent extends LogEntry {
  /** The operation's whole state at this revision, as subscribers receive it. */
  readonly state: OperationRecord;
}
