import type { OperationRecord } from './model.js';

/** No such operation, or one the viewer may not see (deliberately indistinguishable). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly id: string) {
    super('No such operation.');
  }
}

/** The operation already SUCCEEDED or FAILED; it can no longer be cancelled. */
export class OperationFinishedError extends Error {
  override readonly name = 'OperationFinishedError';
  constructor(readonly operation: OperationRecord) {
    super(`The operation already ended ${operation.status}; it can no longer be cancelled.`);
  }
}

/** No handler is registered for this kind. */
export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
  constructor(readonly kind: string) {
    super(`No handler is registered for kind "${kind}".`);
  }
}

/** An argument was rejected; nothing was changed. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

/** Which per-owner quota refused a start. */
export type QuotaLimit = 'active' | 'rate';

/**
 * A per-owner quota refused a start: too many operations PENDING, RUNNING or CANCELLING at once,
 * or too many starts in the rate window. Nothing was stored.
 */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  constructor(
    message: string,
    /** How long to wait before a start can succeed (at least 1). */
    readonly retryAfterMs: number,
    /** The quota that refused it (the longer wait when both did). */
    readonly limit: QuotaLimit,
  ) {
    super(message);
  }
}

/** Which backing service failed. */
export type BackingService = 'database' | 'event bus';

/**
 * A backing service (database, event bus) is unreachable, lost its connection or is overloaded:
 * the request was not wrong and may succeed when retried. Adapters turn their own connection
 * failures into this error, keeping the original as `cause`.
 */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(
    readonly service: BackingService,
    cause: unknown,
  ) {
    super(`The ${service} is unavailable.`, { cause });
  }
}

/**
 * Watch links are off on this server: production without `WATCH_TOKEN_SECRET`. Nothing was
 * changed; the message says how to turn them on.
 */
export class WatchLinksDisabledError extends Error {
  override readonly name = 'WatchLinksDisabledError';
  constructor() {
    super(
      'Watch links are disabled on this server: it runs in production without WATCH_TOKEN_SECRET.',
    );
  }
}

/**
 * A live stream's reader fell so far behind that keeping every status change for it would take
 * unbounded memory; its stream was ended instead (status changes are never skipped).
 */
export class SubscriberTooSlowError extends Error {
  override readonly name = 'SubscriberTooSlowError';
  constructor(
    readonly backlog: number,
    readonly waiting: number,
  ) {
    super('The stream fell too far behind its reader and was ended; subscribe again to catch up.');
  }
}
