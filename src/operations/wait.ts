import { canSee, type Viewer } from '../auth/viewer.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { Feed } from './feed.js';
import type { OperationRecord } from './model.js';
import type { OperationStore } from './ports.js';
import { isDone } from './status.js';

/** The bounds of `waitOperation`'s `timeoutMs` (SEMANTICS.md, "Frontends, scripts and token renewal"). */
export const WAIT_LIMITS = {
  defaultTimeoutMs: 30_000,
  minTimeoutMs: 1,
  maxTimeoutMs: 60_000,
} as const;

/** What `waitForDone` needs: the live feed and, for the state at the timeout, the store. */
export interface WaitDeps {
  readonly feed: Feed;
  readonly store: OperationStore;
}

/** The arguments of one wait. */
export interface WaitRequest {
  /** The parsed raw id, or null when the given one is malformed. */
  readonly id: string | null;
  readonly givenId: string;
  /** @default WAIT_LIMITS.defaultTimeoutMs */
  readonly timeoutMs?: number | null;
  /** Ends the wait early: the client went away, the server is stopping, the token expired. */
  readonly signal: AbortSignal;
}

/** Throws `ValidationError` (field `timeoutMs`) unless it is a whole number in 1..60000. */
export function waitTimeout(timeoutMs: number | null | undefined): number {
  if (timeoutMs === null || timeoutMs === undefined) return WAIT_LIMITS.defaultTimeoutMs;
  if (
    !Number.isInteger(timeoutMs) ||
    timeoutMs < WAIT_LIMITS.minTimeoutMs ||
    timeoutMs > WAIT_LIMITS.maxTimeoutMs
  ) {
    throw new ValidationError(
      `timeoutMs must be between ${WAIT_LIMITS.minTimeoutMs} and ${WAIT_LIMITS.maxTimeoutMs}.`,
      'timeoutMs',
    );
  }
  return timeoutMs;
}

/**
 * AIP-151's WaitOperation: resolves with the operation as soon as it is done, or with its state
 * as it stands when `timeoutMs` passes; null when it does not exist or the viewer may not see it
 * (the same single read either way, as `get`). It waits on the feed's one shared bus
 * subscription, so nothing is held per wait but a listener and a timer: no database connection
 * (the snapshot and the final re-read each borrow one for a single query), no Redis client. When
 * `signal` aborts, the listener and timer are released at once and the last state seen returned.
 */
export async function waitForDone(
  deps: WaitDeps,
  viewer: Viewer,
  request: WaitRequest,
): Promise<OperationRecord | null> {
  const timeoutMs = waitTimeout(request.timeoutMs);
  const { signal } = request;
  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, timeoutMs);
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) stop.abort();
  try {
    let updates: AsyncIterableIterator<OperationRecord>;
    try {
      updates = await deps.feed.watchOne(viewer, request.id, request.givenId, stop.signal);
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
    // The feed sends the current state first, then every later one; it ends on `stop`.
    let last: OperationRecord | null = null;
    for await (const state of updates) {
      last = state;
      if (isDone(state.status)) return state;
    }
    if (!timedOut || signal.aborted || request.id === null) return last;
    // The feed may be a moment behind the store (a live message lost, caught by the log re-read):
    // the answer at the timeout is the state as stored.
    const current = await deps.store.get(request.id);
    return current !== null && canSee(viewer, current) ? current : last;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    stop.abort();
  }
}
