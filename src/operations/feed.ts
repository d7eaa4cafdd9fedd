import { canSee, type Viewer } from '../auth/viewer.js';
import type { EventBus } from '../bus/bus.js';
import type { OperationStore } from '../store/store.js';
import { NotFoundError } from './errors.js';
import type { OperationRecord } from './model.js';
import { isDone, type OperationStatus } from './status.js';
import { UpdateQueue } from './update-queue.js';

/** Narrows `operationsUpdated` to some statuses and/or one kind. */
export interface FeedFilter {
  readonly statuses?: readonly OperationStatus[] | null;
  readonly kind?: string | null;
}

/** Live streams of operation states (SEMANTICS.md, "Live updates"). */
export interface Feed {
  /**
   * The operation's current state, then every later revision in order (progress may be
   * coalesced for a slow reader), completing after the terminal state. Rejects with
   * `NotFoundError` when it does not exist or the viewer may not see it. Ends when `signal` aborts.
   */
  watchOne(
    viewer: Viewer,
    id: string | null,
    givenId: string,
    signal: AbortSignal,
  ): Promise<AsyncIterableIterator<OperationRecord>>;
  /** Every later change of every operation the viewer may see and the filter admits. */
  watchAll(
    viewer: Viewer,
    filter: FeedFilter,
    signal: AbortSignal,
  ): Promise<AsyncIterableIterator<OperationRecord>>;
}

/** Counts of open streams, for tests and diagnostics. */
export interface FeedGauges {
  readonly open: number;
}

/** The feed over one store and one bus. */
export function createFeed(store: OperationStore, bus: EventBus): Feed & { gauges(): FeedGauges } {
  let open = 0;

  async function openQueue(
    completeOnTerminal: boolean,
    signal: AbortSignal,
    accept: (record: OperationRecord) => boolean,
  ): Promise<UpdateQueue> {
    const unsubscribe = new AbortController();
    open++;
    const queue = new UpdateQueue(completeOnTerminal, () => {
      open--;
      unsubscribe.abort();
      signal.removeEventListener('abort', onAbort);
    });
    const onAbort = () => queue.close();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) queue.close();
    await bus.subscribe(
      'operation.changed',
      (record) => {
        if (accept(record)) queue.push(record);
        // An operation that ends outside a filter would otherwise stay tracked for the feed's life.
        else if (isDone(record.status)) queue.forget(record);
      },
      unsubscribe.signal,
    );
    return queue;
  }

  return {
    async watchOne(viewer, id, givenId, signal) {
      // Subscribe before reading the snapshot: a change committed between the two would otherwise
      // be lost. Revisions at or below the snapshot's are dropped by the queue.
      const queue = await openQueue(true, signal, (record) => record.id === id);
      // A malformed id still pays for the same read as a foreign or missing one.
      const snapshot = await store.get(id ?? '');
      if (snapshot === null || id === null || !canSee(viewer, snapshot)) {
        queue.close();
        throw new NotFoundError(givenId);
      }
      queue.push(snapshot);
      return queue;
    },
    async watchAll(viewer, filter, signal) {
      const statuses = filter.statuses?.length ? new Set(filter.statuses) : null;
      const kind = filter.kind ?? null;
      return openQueue(
        false,
        signal,
        (record) =>
          canSee(viewer, record) &&
          (statuses === null || statuses.has(record.status)) &&
          (kind === null || record.kind === kind),
      );
    },
    gauges: () => ({ open }),
  };
}
