import { canSee, type Viewer } from '../auth/viewer.js';
import type { Logger } from '../logger.js';
import { periodic } from '../runner/periodic.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { OperationRecord } from './model.js';
import type { EventBus, OperationStore } from './ports.js';
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
   * coalesced for a slow reader), completing after the terminal state. With `afterRevision`, the
   * revisions after it are replayed from the transition log instead of the current state alone.
   * Rejects with `NotFoundError` when it does not exist or the viewer may not see it, and with
   * `ValidationError` when `afterRevision` is beyond its current revision.
   */
  watchOne(
    viewer: Viewer,
    id: string | null,
    givenId: string,
    signal: AbortSignal,
    afterRevision?: number | null,
  ): Promise<AsyncIterableIterator<OperationRecord>>;
  /** Every later change of every operation the viewer may see and the filter admits. */
  watchAll(
    viewer: Viewer,
    filter: FeedFilter,
    signal: AbortSignal,
  ): Promise<AsyncIterableIterator<OperationRecord>>;
}

/** One open stream. */
interface Subscriber {
  readonly queue: UpdateQueue;
  /** Visibility and filters, decided once at subscribe time. */
  readonly accept: (record: OperationRecord) => boolean;
  readonly openedAt: number;
  /** The newest revision seen per unfinished operation, to notice gaps. */
  readonly seen: Map<string, number>;
  /** Per operation, the replay in flight; later states wait behind it. */
  readonly chains: Map<string, Promise<void>>;
}

/** Settings of the feed. */
export interface FeedOptions {
  /**
   * How often to re-read the transition log for changes whose live message was lost (a shared
   * bus only); null never re-reads.
   */
  readonly recheckMs: number | null;
}

const REPLAY_PAGE = 500;
/** How far back a log re-read reaches beyond the break, for writers' clocks and commit lag. */
const CLOCK_MARGIN_MS = 2_000;

/**
 * The feed of one process: one bus subscription shared by every stream. A stream that sees a
 * revision gap, or a bus that comes back after a break, fills the gap from the transition log,
 * so no status change is ever skipped even when the bus loses messages.
 */
export function createFeed(
  store: OperationStore,
  bus: EventBus,
  logger: Logger,
  options: FeedOptions = { recheckMs: null },
): Feed & { gauges(): { open: number }; start(): Promise<void>; stop(): void } {
  const byOperation = new Map<string, Set<Subscriber>>();
  const everything = new Set<Subscriber>();
  const life = new AbortController();
  let stopRecheck = () => {};
  let open = 0;

  function take(sub: Subscriber, record: OperationRecord): void {
    const seen = sub.seen.get(record.id) ?? 0;
    if (record.revision <= seen) return;
    if (isDone(record.status)) sub.seen.delete(record.id);
    else sub.seen.set(record.id, record.revision);
    if (sub.accept(record)) sub.queue.push(record);
    // An operation that ends outside a filter would otherwise stay tracked for the feed's life.
    else if (isDone(record.status)) sub.queue.forget(record);
  }

  async function replay(sub: Subscriber, id: string, after: number, upTo: number): Promise<void> {
    let from = after;
    while (from < upTo && !life.signal.aborted) {
      const events = await store.events(id, from, Math.min(REPLAY_PAGE, upTo - from));
      for (const event of events) take(sub, event.state);
      if (events.length < Math.min(REPLAY_PAGE, upTo - from)) return;
      from = events.at(-1)?.revision ?? upTo;
    }
  }

  function chain(sub: Subscriber, id: string, work: () => Promise<void> | void): void {
    const previous = sub.chains.get(id) ?? Promise.resolve();
    const tail = previous.then(work).catch((error: unknown) => {
      logger.error('replaying operation changes from the log failed', { id, error });
    });
    sub.chains.set(id, tail);
    void tail.then(() => {
      if (sub.chains.get(id) === tail) sub.chains.delete(id);
    });
  }

  function deliver(sub: Subscriber, record: OperationRecord, at?: number): void {
    if (sub.chains.has(record.id)) {
      chain(sub, record.id, () => settle(sub, record, at));
      return;
    }
    const replaying = settle(sub, record, at);
    if (replaying) chain(sub, record.id, () => replaying);
  }

  /** Takes `record`, first replaying from the log any revision between it and the last seen. */
  function settle(
    sub: Subscriber,
    record: OperationRecord,
    at?: number,
  ): Promise<void> | undefined {
    const seen = sub.seen.get(record.id);
    // History from before this stream opened is not its business.
    if (seen === undefined && at !== undefined && at < sub.openedAt) return undefined;
    if (seen !== undefined && record.revision > seen + 1) {
      return replay(sub, record.id, seen, record.revision - 1).then(() => take(sub, record));
    }
    take(sub, record);
    return undefined;
  }

  function dispatch(record: OperationRecord, at?: number): void {
    for (const sub of byOperation.get(record.id) ?? []) deliver(sub, record, at);
    for (const sub of everything) deliver(sub, record, at);
  }

  /** Re-reads the log from `since` and hands every entry out as if it had just arrived. */
  async function recover(since: Date): Promise<void> {
    let from = since;
    for (;;) {
      const events = await store.eventsSince(from, REPLAY_PAGE);
      for (const event of events) dispatch(event.state, event.at.getTime());
      const last = events.at(-1);
      if (events.length < REPLAY_PAGE || !last) return;
      // A full page of one millisecond would repeat forever; more than a page of changes in one
      // millisecond is not a load this reaches, so step past it.
      from = last.at.getTime() === from.getTime() ? new Date(from.getTime() + 1) : last.at;
    }
  }

  function openSubscriber(
    completeOnTerminal: boolean,
    signal: AbortSignal,
    accept: (record: OperationRecord) => boolean,
    registry: Set<Subscriber>,
    onEmpty: () => void,
  ): Subscriber {
    open++;
    const sub: Subscriber = {
      queue: new UpdateQueue(completeOnTerminal, () => {
        open--;
        registry.delete(sub);
        if (registry.size === 0) onEmpty();
        signal.removeEventListener('abort', onAbort);
      }),
      accept,
      openedAt: Date.now(),
      seen: new Map(),
      chains: new Map(),
    };
    const onAbort = () => sub.queue.close();
    registry.add(sub);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) sub.queue.close();
    return sub;
  }

  return {
    async start() {
      await bus.subscribe('operation.changed', (record) => dispatch(record), life.signal);
      bus.onResync((brokenSince) => {
        // Writers stamp changes with their own clocks before publishing: overlap a little.
        recover(new Date(brokenSince.getTime() - CLOCK_MARGIN_MS)).catch((error: unknown) =>
          logger.error('recovering changes after a bus break failed', { error }),
        );
      }, life.signal);
      if (options.recheckMs !== null) {
        const recheckMs = options.recheckMs;
        let checkedAt = Date.now();
        stopRecheck = periodic(
          recheckMs,
          async () => {
            const startedAt = Date.now();
            // Overlap the windows: a writer's clock or commit may lag a little behind ours.
            await recover(new Date(checkedAt - recheckMs - CLOCK_MARGIN_MS));
            checkedAt = startedAt;
          },
          (error) => logger.error('re-reading the transition log failed', { error }),
        );
      }
    },

    stop() {
      life.abort();
      stopRecheck();
    },

    async watchOne(viewer, id, givenId, signal, afterRevision = null) {
      // Register before reading the snapshot: a change committed between the two would otherwise
      // be lost. Revisions at or below what was delivered are dropped.
      const key = id ?? '';
      let registry = byOperation.get(key);
      if (!registry) {
        registry = new Set();
        byOperation.set(key, registry);
      }
      const sub = openSubscriber(
        true,
        signal,
        () => true,
        registry,
        () => byOperation.delete(key),
      );
      // A malformed id still pays for the same read as a foreign or missing one.
      const snapshot = await store.get(key);
      if (snapshot === null || id === null || !canSee(viewer, snapshot)) {
        sub.queue.close();
        throw new NotFoundError(givenId);
      }
      if (afterRevision !== null && afterRevision > snapshot.revision) {
        // Nothing was ever sent after it: waiting for it would hang until the operation caught up.
        sub.queue.close();
        throw new ValidationError(
          `afterRevision ${afterRevision} is beyond the operation's current revision ${snapshot.revision}.`,
          'afterRevision',
        );
      }
      if (afterRevision === null) {
        deliver(sub, snapshot);
      } else if (snapshot.revision <= afterRevision && isDone(snapshot.status)) {
        sub.queue.close(); // nothing after it, and nothing ever will be
      } else {
        chain(sub, key, async () => {
          if (!sub.seen.has(key)) sub.seen.set(key, afterRevision);
          await replay(sub, key, afterRevision, snapshot.revision);
          take(sub, snapshot);
        });
      }
      return sub.queue;
    },

    async watchAll(viewer, filter, signal) {
      const statuses = filter.statuses?.length ? new Set(filter.statuses) : null;
      const kind = filter.kind ?? null;
      return openSubscriber(
        false,
        signal,
        (record) =>
          canSee(viewer, record) &&
          (statuses === null || statuses.has(record.status)) &&
          (kind === null || record.kind === kind),
        everything,
        () => undefined,
      ).queue;
    },

    gauges: () => ({ open }),
  };
}
