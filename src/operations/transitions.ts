import { OperationFinishedError } from './errors.js';
import type { JsonValue, Lease, OperationFailure, OperationRecord } from './model.js';
import { isDone, OperationErrorCode, OperationStatus } from './status.js';

/**
 * The state machine of an operation, as pure functions: each takes the current record and
 * returns what should happen. Only `operations/commit.ts` turns an outcome into a write.
 */
export type Outcome =
  | { readonly kind: 'changed'; readonly next: OperationRecord }
  | { readonly kind: 'unchanged'; readonly current: OperationRecord }
  | { readonly kind: 'rejected'; readonly error: OperationFinishedError };

/** What a new operation is made of. */
export interface NewOperation {
  readonly id: string;
  readonly kind: string;
  readonly ownerId: string;
  readonly input: JsonValue | null;
  readonly idempotencyKey: string | null;
  readonly timeoutMs: number | null;
  /** The done operation this one retries, or null. */
  readonly retryOf: string | null;
}

/** The message of a cancelled operation's error when no reason was given. */
export const DEFAULT_CANCEL_MESSAGE = 'Cancelled';

function assertNever(value: never): never {
  throw new Error(`Unexpected status: ${String(value)}`);
}

// The only place that sets updatedAt and adds 1 to revision.
function changed(op: OperationRecord, now: Date, patch: Partial<OperationRecord>): Outcome {
  return { kind: 'changed', next: { ...op, ...patch, updatedAt: now, revision: op.revision + 1 } };
}

function unchanged(op: OperationRecord): Outcome {
  return { kind: 'unchanged', current: op };
}

function ended(
  op: OperationRecord,
  now: Date,
  status: OperationStatus,
  patch: Partial<OperationRecord>,
): Outcome {
  return changed(op, now, { ...patch, status, finishedAt: now, lease: null });
}

/** A new operation: PENDING at revision 1. */
export function create(op: NewOperation, now: Date): OperationRecord {
  return {
    ...op,
    status: OperationStatus.Pending,
    progress: null,
    message: null,
    result: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    cancelRequestedAt: null,
    cancelledBy: null,
    cancelReason: null,
    revision: 1,
    lease: null,
  };
}

/** A worker takes a PENDING operation: RUNNING under its lease. Anything else stays as it is. */
export function claim(op: OperationRecord, lease: Lease, now: Date): Outcome {
  if (op.status !== OperationStatus.Pending) return unchanged(op);
  return changed(op, now, { status: OperationStatus.Running, startedAt: now, lease });
}

/** A cancel request (SEMANTICS.md, "Lifecycle and cancellation"). */
export function cancel(op: OperationRecord, by: string, reason: string | null, now: Date): Outcome {
  const request = { cancelledBy: by, cancelReason: reason, cancelRequestedAt: now };
  switch (op.status) {
    case OperationStatus.Pending: // its handler never runs
      return ended(op, now, OperationStatus.Cancelled, {
        ...request,
        error: cancelledError(reason),
      });
    case OperationStatus.Running:
      return changed(op, now, { ...request, status: OperationStatus.Cancelling });
    case OperationStatus.Cancelling:
    case OperationStatus.Cancelled: // idempotent: the first caller stays cancelledBy
      return unchanged(op);
    case OperationStatus.Succeeded:
    case OperationStatus.Failed:
      return { kind: 'rejected', error: new OperationFinishedError(op) };
    default:
      return assertNever(op.status);
  }
}

/** Progress from the handler: clamped into 0..1, NaN ignored, nothing once done. */
export function progress(
  op: OperationRecord,
  value: number | null,
  message: string | null | undefined,
  now: Date,
): Outcome {
  if (isDone(op.status) || op.status === OperationStatus.Pending) return unchanged(op);
  const nextProgress =
    value === null || Number.isNaN(value) ? op.progress : Math.min(1, Math.max(0, value));
  const nextMessage = message === undefined ? op.message : message;
  if (nextProgress === op.progress && nextMessage === op.message) return unchanged(op);
  return changed(op, now, { progress: nextProgress, message: nextMessage });
}

/** The handler resolved: it finished its work, even when a cancel came too late. */
export function succeed(op: OperationRecord, result: JsonValue | null, now: Date): Outcome {
  if (isDone(op.status) || op.status === OperationStatus.Pending) return unchanged(op);
  return ended(op, now, OperationStatus.Succeeded, { result });
}

/** Why a handler stopped without a result, as the runner saw it. */
export type HandlerStop =
  | { readonly cause: 'error'; readonly message: string }
  | { readonly cause: 'timeout' };

/**
 * The handler rejected. Once cancellation was requested any rejection means CANCELLED; past its
 * deadline it is TIMEOUT; otherwise the handler's own error.
 */
export function handlerStopped(op: OperationRecord, stop: HandlerStop, now: Date): Outcome {
  if (isDone(op.status) || op.status === OperationStatus.Pending) return unchanged(op);
  if (op.status === OperationStatus.Cancelling) {
    return ended(op, now, OperationStatus.Cancelled, { error: cancelledError(op.cancelReason) });
  }
  const error: OperationFailure =
    stop.cause === 'timeout'
      ? { code: OperationErrorCode.Timeout, message: 'The operation ran past its timeoutMs.' }
      : { code: OperationErrorCode.HandlerError, message: stop.message };
  return ended(op, now, OperationStatus.Failed, { error });
}

/**
 * The handler ignored its AbortSignal past the grace period: a cancelled one is declared
 * CANCEL_FORCED, a timed-out one TIMEOUT. Whatever it does later is discarded.
 */
export function forceStop(op: OperationRecord, now: Date): Outcome {
  if (isDone(op.status) || op.status === OperationStatus.Pending) return unchanged(op);
  if (op.status === OperationStatus.Cancelling) {
    return ended(op, now, OperationStatus.Cancelled, {
      error: {
        code: OperationErrorCode.CancelForced,
        message: 'The handler did not stop within the cancel grace period.',
      },
    });
  }
  return ended(op, now, OperationStatus.Failed, {
    error: { code: OperationErrorCode.Timeout, message: 'The operation ran past its timeoutMs.' },
  });
}

/**
 * The process running it died (`honourCancel`: a requested cancel ends CANCELLED) or shut down
 * (never CANCELLED): the run is recorded as INTERRUPTED.
 */
export function interrupt(op: OperationRecord, now: Date, honourCancel: boolean): Outcome {
  if (isDone(op.status) || op.status === OperationStatus.Pending) return unchanged(op);
  if (honourCancel && op.status === OperationStatus.Cancelling) {
    return ended(op, now, OperationStatus.Cancelled, { error: cancelledError(op.cancelReason) });
  }
  return ended(op, now, OperationStatus.Failed, {
    error: {
      code: OperationErrorCode.Interrupted,
      message: 'The process running this operation stopped before it finished.',
    },
  });
}

function cancelledError(reason: string | null): OperationFailure {
  return { code: OperationErrorCode.Cancelled, message: reason || DEFAULT_CANCEL_MESSAGE };
}
