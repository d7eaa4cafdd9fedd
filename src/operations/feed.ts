import { setImmediate as nextTurn } from 'node:timers/promises';
import pLimit from 'p-limit';
import { canSee, type Viewer } from '../auth/viewer.js';
import type { Logger } from '../logger.js';
import { periodic } from '../runner/periodic.js';
import { NotFoundError, ValidationError } from './errors.js';
import { Audience } from './feed-audience.js';
import { FeedStream, type GapFiller } from './feed-stream.js';
import type { OperationRecord } from './model.js';
import { ALL, type BusScope, type EventBus, type LogScope, type OperationStore } from './ports.js';
import { isDone, type OperationStatus } from './status.js';

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

/** Settings of the feed. */
export interface FeedOptions {
  /**
   * How often to re-read the transition log for changes whose live message was lost (a shared
   * bus only); null never re-reads.
   */
  readonly recheckMs: number | null;
}

/** How many streams are open and how many bus scopes they hold. */
export interface FeedGauges {
  readonly open: number;
  readonly scopes: number;
  /** Log re-reads made to repair gaps (after a bus break, and every `recheckMs`). */
  readonly rereads: number;
  /** The log entries those re-reads returned: only those of what this process watches. */
  readonly rereadEntries: number;
}

const RECOVER_PAGE = 500;
/**
 * How many reads of the transition log for streams (replays and re-reads after a bus break) run
 * at once in a process; the others wait their turn, oldest first, and a reader's turn ends only
 * after the event loop has gone round once. So 200 subscriptions replaying 10,000 revisions each
 * hold the loop a page or two at a time, and leave the pool's other connections to other work.
 */
const LOG_READS_AT_ONCE = 2;
/**
 * Most operations plus owners a log re-read names; an instance that watches more reads every
 * change, as one that holds an admin feed does.
 */
const MAX_SCOPED_READ = 500;
/** How far back a log re-read reaches beyond the break, for writers' clocks and commit lag. */
const CLOCK_MARGIN_MS = 2_000;

/** The filter of a single operation's stream: its audience already is that operation. */
const acceptAll = (): boolean => true;

/** The audience key of a scope, unique per scope. */
function keyOf(scope: BusScope): string {
  if ('operation' in scope) return `operation:${scope.operation}`;
  if ('owner' in scope) return `owner:${scope.owner}`;
  return 'all';
}

/**
 * The feed of one process. Streams are grouped by what they watch (`Audience`): one operation
 * (`operationUpdated`, `waitOperation`), one owner's operations (a user's `operationsUpdated`), or
 * everything (an admin's); each group holds one bus subscription while it has streams, so an
 * instance receives only the changes its own subscribers watch. A stream that sees a revision
 * gap, or a bus that comes back after a break, fills the gap from the transition log, so no
 * status change is ever skipped even when the bus loses messages.
 */
export class LiveFeed implements Feed {
  readonly #store: OperationStore;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #options: FeedOptions;
  readonly #audiences = new Map<string, Audience>();
  readonly #life = new AbortController();
  #stopRecheck = () => {};
  #open = 0;
  #rereads = 0;
  #rereadEntries = 0;
  readonly #logTurns = pLimit(LOG_READS_AT_ONCE);
  /** Where every stream fills its gaps from: one for the feed, not one per stream. */
  readonly #gaps: GapFiller;

  constructor(store: OperationStore, bus: EventBus, logger: Logger, options: FeedOptions) {
    this.#store = store;
    this.#bus = bus;
    this.#logger = logger;
    this.#options = options;
    this.#gaps = {
      store,
      logger,
      signal: this.#life.signal,
      read: (read) => this.#readLog(read),
    };
  }

  /** Starts recovering from bus breaks and, with `recheckMs`, re-reading the log. */
  async start(): Promise<void> {
    this.#bus.onResync((brokenSince) => {
      // Writers stamp changes with their own clocks before publishing: overlap a little.
      this.#recover(new Date(brokenSince.getTime() - CLOCK_MARGIN_MS)).catch((error: unknown) =>
        this.#logger.error('recovering changes after a bus break failed', { error }),
      );
    }, this.#life.signal);
    const { recheckMs } = this.#options;
    if (recheckMs === null) return;
    let checkedAt = Date.now();
    this.#stopRecheck = periodic(
      recheckMs,
      async () => {
        const startedAt = Date.now();
        // Overlap the windows: a writer's clock or commit may lag a little behind ours.
        if (this.#audiences.size > 0) {
          await this.#recover(new Date(checkedAt - recheckMs - CLOCK_MARGIN_MS));
        }
        checkedAt = startedAt;
      },
      (error) => this.#logger.error('re-reading the transition log failed', { error }),
    );
  }

  /** Stops recovery and drops every bus subscription; open streams receive nothing more. */
  stop(): void {
    this.#life.abort();
    this.#stopRecheck();
    for (const audience of this.#audiences.values()) audience.close();
    this.#audiences.clear();
  }

  gauges(): FeedGauges {
    return {
      open: this.#open,
      scopes: this.#audiences.size,
      rereads: this.#rereads,
      rereadEntries: this.#rereadEntries,
    };
  }

  async watchOne(
    viewer: Viewer,
    id: string | null,
    givenId: string,
    signal: AbortSignal,
    afterRevision: number | null = null,
  ): Promise<AsyncIterableIterator<OperationRecord>> {
    // Subscribe before reading the snapshot: a change committed between the two would otherwise
    // be lost. Revisions at or below what was delivered are dropped. A malformed id still pays
    // for the same subscription and read as a foreign or missing one.
    const key = id ?? '';
    const stream = await this.#openStream({ operation: key }, true, acceptAll, signal);
    const snapshot = await this.#store.get(key).catch((error: unknown) => {
      stream.queue.close();
      throw error;
    });
    if (snapshot === null || id === null || !canSee(viewer, snapshot)) {
      stream.queue.close();
      throw new NotFoundError(givenId);
    }
    if (afterRevision !== null && afterRevision > snapshot.revision) {
      // Nothing was ever sent after it: waiting for it would hang until the operation caught up.
      stream.queue.close();
      throw new ValidationError(
        `afterRevision ${afterRevision} is beyond the operation's current revision ${snapshot.revision}.`,
        'afterRevision',
      );
    }
    if (afterRevision === null) stream.deliver(snapshot);
    else if (snapshot.revision <= afterRevision && isDone(snapshot.status)) {
      stream.queue.close(); // nothing after it, and nothing ever will be
    } else stream.resume(snapshot, afterRevision);
    return stream.queue;
  }

  async watchAll(
    viewer: Viewer,
    filter: FeedFilter,
    signal: AbortSignal,
  ): Promise<AsyncIterableIterator<OperationRecord>> {
    const statuses = filter.statuses?.length ? new Set(filter.statuses) : null;
    const kind = filter.kind ?? null;
    // A user sees only their own operations: their owner's share of the bus is enough.
    const scope: BusScope = viewer.isAdmin ? ALL : { owner: viewer.id };
    const stream = await this.#openStream(
      scope,
      false,
      (record) =>
        canSee(viewer, record) &&
        (statuses === null || statuses.has(record.status)) &&
        (kind === null || record.kind === kind),
      signal,
    );
    return stream.queue;
  }

  /** Opens a stream in the audience of `scope`; resolves once that audience's bus is live. */
  async #openStream(
    scope: BusScope,
    completeOnTerminal: boolean,
    accept: (record: OperationRecord) => boolean,
    signal: AbortSignal,
  ): Promise<FeedStream> {
    const key = keyOf(scope);
    let audience = this.#audiences.get(key);
    if (!audience) {
      audience = new Audience(this.#bus, scope, this.#logger);
      this.#audiences.set(key, audience);
    }
    const joined = audience;
    this.#open++;
    const stream = new FeedStream(this.#gaps, completeOnTerminal, accept, () => {
      this.#open--;
      signal.removeEventListener('abort', stream);
      joined.streams.delete(stream);
      if (joined.streams.size === 0 && this.#audiences.get(key) === joined) {
        this.#audiences.delete(key);
        joined.close();
      }
    });
    joined.streams.add(stream);
    // The stream is its own listener (`handleEvent`): no closure per stream.
    signal.addEventListener('abort', stream, { once: true });
    if (signal.aborted) stream.queue.close();
    try {
      await joined.live;
    } catch (error) {
      stream.queue.close();
      throw error;
    }
    return stream;
  }

  /** Runs one read of the log in its turn (see `LOG_READS_AT_ONCE`). */
  #readLog<T>(read: () => Promise<T>): Promise<T> {
    return this.#logTurns(async () => {
      try {
        return await read();
      } finally {
        await nextTurn();
      }
    });
  }

  /**
   * What this process's audiences watch, for a log re-read: null (every change) while an admin
   * feed is open or when they watch too many operations and owners to name.
   */
  #watched(): LogScope | null {
    if (this.#audiences.has(keyOf(ALL)) || this.#audiences.size > MAX_SCOPED_READ) return null;
    const operations: string[] = [];
    const owners: string[] = [];
    for (const audience of this.#audiences.values()) {
      const { scope } = audience;
      if ('operation' in scope) operations.push(scope.operation);
      else if ('owner' in scope) owners.push(scope.owner);
    }
    return { operations, owners };
  }

  /**
   * Re-reads the log from `since` and hands every entry to the audiences that watch it; only the
   * entries of what they watch are read (`#watched`), so the re-read of an instance grows with
   * what its own streams watch, not with the cluster's changes.
   */
  async #recover(since: Date): Promise<void> {
    const scope = this.#watched();
    this.#rereads++;
    let from = since;
    for (;;) {
      const events = await this.#readLog(() => this.#store.eventsSince(from, RECOVER_PAGE, scope));
      this.#rereadEntries += events.length;
      for (const { state, at } of events) {
        const time = at.getTime();
        this.#audiences.get(keyOf({ operation: state.id }))?.replay(state, time);
        this.#audiences.get(keyOf({ owner: state.ownerId }))?.replay(state, time);
        this.#audiences.get('all')?.replay(state, time);
      }
      const last = events.at(-1);
      if (events.length < RECOVER_PAGE || !last) return;
      // A full page of one millisecond would repeat forever; more than a page of changes in one
      // millisecond is not a load this reaches, so step past it.
      from = last.at.getTime() === from.getTime() ? new Date(from.getTime() + 1) : last.at;
    }
  }
}

/** The feed of one process (see `LiveFeed`). */
export function createFeed(
  store: OperationStore,
  bus: EventBus,
  logger: Logger,
  options: FeedOptions = { recheckMs: null },
): LiveFeed {
  return new LiveFeed(store, bus, logger, options);
}
