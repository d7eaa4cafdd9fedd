/**
 * The interfaces the operations domain needs from the outside: durable storage and an event bus.
 * The domain owns them and `store/` and `bus/` implement them, so the dependency points from the
 * adapters to the domain. Only `app.ts` picks the implementations.
 */
import type { LogEntry, OperationEvent, OperationRecord } from './model.js';
import type { OperationStatus, UnfinishedStatus } from './status.js';

/** Which operations a list or count covers; every given part must match. */
export interface OperationFilter {
  readonly ownerId?: string | null;
  readonly statuses?: readonly OperationStatus[] | null;
  readonly kind?: string | null;
}

/** A position in the newest-first order (`createdAt` descending, then `id` descending). */
export interface PageKey {
  readonly createdAt: Date;
  readonly id: string;
}

/** One page of a keyset listing. */
export interface PageQuery extends OperationFilter {
  /**
   * `older`: the rows after `key` in newest-first order (what `first`/`after` asks for);
   * `newer`: the rows just before `key` (what `last`/`before` asks for).
   */
  readonly direction: 'older' | 'newer';
  /** Where the page starts, exclusive; null for the newest (`older`) or oldest (`newer`) end. */
  readonly key: PageKey | null;
  readonly limit: number;
  /**
   * When given, only the rows from `first` through `last` (both included, in reading order): a
   * reader re-reads exactly the rows it sized, and an operation inserted meanwhile (on the first
   * page) does not push one of them out.
   */
  readonly within?: { readonly first: PageKey; readonly last: PageKey } | null;
}

/** A row of a keyset page without its content: where it is, and its input and result's size. */
export interface SizedKey extends PageKey {
  /** Bytes of its input and result as stored JSON (UTF-8). */
  readonly bytes: number;
}

/** One page of one operation's log: the entries after `afterRevision`, at most `limit`. */
export interface LogPageQuery {
  readonly operationId: string;
  readonly afterRevision: number;
  readonly limit: number;
}

/** What `insert` did with an idempotency key. */
export type InsertResult =
  | { readonly inserted: true; readonly record: OperationRecord }
  | { readonly inserted: false; readonly existing: OperationRecord };

/**
 * Per-owner limits on new operations, decided in the transaction that inserts one (SEMANTICS.md,
 * "Quotas and fairness"), so that they hold across every instance sharing the database.
 */
export interface StartQuota {
  /** Most operations one owner may have PENDING, RUNNING or CANCELLING at once; null: no limit. */
  readonly maxActive: number | null;
  /** Most operations one owner may start in any `windowMs`; null: no limit. */
  readonly maxStarts: number | null;
  /** The rate window, in milliseconds. */
  readonly windowMs: number;
  /**
   * The `retryAfterMs` of a refusal by `maxActive`: when a run ends cannot be known, so this is a
   * hint of how soon asking again is sensible.
   */
  readonly activeRetryMs: number;
}

/** How many PENDING operations of each owner one claim may take (fair claiming). */
export interface ClaimShares {
  /** For an owner not in `byOwner`. */
  readonly perOwner: number;
  /** Owners with their own allowance (0 leaves them out), e.g. those already running here. */
  readonly byOwner: ReadonlyMap<string, number>;
}

/** Who caused a change and why, as the transition log records it. */
export interface ChangeMeta {
  /** `user:<sub>` for a client's request, `worker:<id>` for a runner, `system` for recovery. */
  readonly actor: string;
  /** A cancel reason or an error code; null when there is nothing to say. */
  readonly reason: string | null;
}

/** The expected state a compare-and-set write is conditioned on. */
export interface WriteCondition {
  /** The revision the writer read; the write fails when the row has moved on. */
  readonly revision: number;
  /** When set, the write also fails unless this worker still holds the lease. */
  readonly leaseOwner?: string;
  /**
   * The status the writer read at `revision`, when known: a write that changes it is logged as a
   * status change at once, without reading the operation's latest log entries.
   */
  readonly status?: OperationStatus;
}

/**
 * Durable storage of operations. Every method is atomic on its own; no method publishes events.
 * A lost or unreachable database rejects with `UnavailableError`.
 * Implementation: `store/kysely-store.ts` (SQLite and PostgreSQL).
 */
export interface OperationStore {
  /** The operation with this raw id, or null. Always exactly one query, found or not. */
  get(id: string): Promise<OperationRecord | null>;
  /**
   * The operations with these raw ids that exist, in no particular order, read in one statement
   * (the caller bounds how many ids: at most 100).
   */
  getMany(ids: readonly string[]): Promise<OperationRecord[]>;
  /**
   * Stores a new PENDING operation. With an idempotency key, an operation of the same owner and
   * key created at or after `idempotencyCutoff` is returned instead (`inserted: false`), and
   * concurrent inserts with one key create exactly one row. With a `quota`, the insert is refused
   * with `RateLimitedError` (nothing stored) when the owner is over it, counted at
   * `record.createdAt` in the same transaction, one insert per owner at a time across instances;
   * an idempotent repeat is returned and never refused.
   */
  insert(
    record: OperationRecord,
    idempotencyCutoff: Date,
    meta: ChangeMeta,
    quota?: StartQuota | null,
  ): Promise<InsertResult>;
  /**
   * Compare-and-set: writes `next` only while the stored revision (and lease owner, when given)
   * still match `expected`, and appends `next` to the transition log in the same transaction.
   * Resolves true when the row was written, false when it had moved on.
   */
  update(next: OperationRecord, expected: WriteCondition, meta: ChangeMeta): Promise<boolean>;
  /**
   * Atomically takes up to `limit` PENDING operations, skipping rows another transaction holds
   * (PostgreSQL: `FOR UPDATE SKIP LOCKED`), fairly: owner by owner in turn (an owner running fewer
   * operations, across instances, first; then the owner served longest ago), oldest first within
   * an owner, at most `shares` of each owner. For each, `claim` gives the RUNNING state to write
   * (null skips it); the writes and their log entries commit together. Resolves with the states
   * written. @default shares: no limit per owner
   */
  claimPending(
    limit: number,
    claim: (pending: OperationRecord) => OperationRecord | null,
    meta: ChangeMeta,
    shares?: ClaimShares,
  ): Promise<OperationRecord[]>;
  /** Log entries of one operation with revision above `afterRevision`, ascending, at most `limit`. */
  events(id: string, afterRevision: number, limit: number): Promise<OperationEvent[]>;
  /**
   * Several log pages in one statement, each ascending by revision, in the order of `queries`.
   * The entries come without their states, so nothing large is read or parsed. The caller bounds
   * the batch (rows and pages per statement, see `operations/log-pages.ts`).
   */
  logPages(queries: readonly LogPageQuery[]): Promise<LogEntry[][]>;
  /**
   * Log entries committed at or after `since`, by time then revision, at most `limit`; with
   * `scope`, only those of its operations and of its owners' operations.
   */
  eventsSince(since: Date, limit: number, scope?: LogScope | null): Promise<OperationEvent[]>;
  /** One keyset page, always returned newest first. */
  list(query: PageQuery): Promise<OperationRecord[]>;
  /**
   * The keys of the keyset page `list` would return, newest first, with the size of each row's
   * input and result; no input or result is read, so a reader can choose how many to fetch.
   */
  listSizes(query: PageQuery): Promise<SizedKey[]>;
  /** How many operations match. */
  count(filter: OperationFilter): Promise<number>;
  /**
   * How many operations are PENDING, RUNNING and CANCELLING, each counted on the status index up
   * to `cap` (a count of `cap` means at least that many), so the cost stays bounded however many
   * operations wait or are kept.
   */
  countUnfinished(cap: number): Promise<Record<UnfinishedStatus, number>>;
  /**
   * Extends the leases this worker still holds on RUNNING/CANCELLING operations among `ids`
   * and returns those operations as they now stand (a cancel request shows as CANCELLING).
   * Ids missing from the answer are no longer this worker's to write.
   */
  renewLeases(owner: string, ids: readonly string[], expiresAt: Date): Promise<OperationRecord[]>;
  /** Up to `limit` RUNNING/CANCELLING operations whose lease ran out before `now`. */
  expiredLeases(now: Date, limit: number): Promise<OperationRecord[]>;
  /** Deletes done operations that finished before `cutoff`, and their log; resolves with how many. */
  deleteFinishedBefore(cutoff: Date): Promise<number>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Closes the connections; nothing may be called afterwards. */
  close(): Promise<void>;
}

/** The topics of the event bus and what each carries. */
export interface BusEvents {
  /**
   * An operation's full state right after a committed change (or its creation). Heard by the
   * subscribers of that operation, of its owner and of everything.
   */
  'operation.changed': OperationRecord;
  /**
   * Cancellation was requested for a RUNNING operation: whoever runs it aborts its handler. Heard
   * only by the subscribers of that operation.
   */
  'operation.cancel': { readonly id: string };
  /** An operation is PENDING: runners with room claim work. Heard by every subscriber. */
  'operation.pending': { readonly id: string };
}

/**
 * Which events of a topic a subscription hears: those of one operation, of one owner's
 * operations, or all of them. A shared transport brings a process only what it subscribed to, so
 * what each instance receives follows its own subscribers, not the size of the cluster.
 */
export type BusScope =
  | { readonly operation: string }
  | { readonly owner: string }
  | { readonly all: true };

/** Some operations, by id, and every operation of some owners: what a log re-read needs. */
export interface LogScope {
  readonly operations: readonly string[];
  readonly owners: readonly string[];
}

/** The scope of every event of a topic. */
export const ALL: BusScope = Object.freeze({ all: true as const });

/** A listener of one topic. It must not throw and must return quickly (it may queue). */
export type BusListener<K extends keyof BusEvents> = (event: BusEvents[K]) => void;

/** What one process's bus has received, counted since it opened. */
export interface BusCounts {
  /** Messages that arrived for a subscription of this process, per topic, malformed ones too. */
  readonly received: { readonly [K in keyof BusEvents]: number };
  /** Of those, the messages that could not be decoded and were dropped. */
  readonly malformed: number;
}

/**
 * Carries events between the parts of one process or, with a shared transport, between
 * processes. Delivery is at most once; the store's transition log is the recovery path.
 * A transport that cannot be reached rejects with `UnavailableError`.
 * Implementations: `bus/memory-bus.ts` (in-process), `bus/redis-bus.ts` (Redis pub/sub).
 */
export interface EventBus {
  /**
   * Sends `event` to every scope of `topic` it belongs to (see `BusEvents`) in one step. Resolves
   * once delivery is handed to the transport; callers publish only after commit.
   */
  publish<K extends keyof BusEvents>(topic: K, event: BusEvents[K]): Promise<void>;
  /**
   * Calls `listener` for every later event of `topic` within `scope` until `signal` aborts.
   * Resolves once the subscription is live, so no event published after it resolves can be
   * missed. Rejects with `UnavailableError` while the transport is away; the listener then stays
   * registered until `signal` aborts, is subscribed when the transport is back, and `onResync`
   * reports the break.
   */
  subscribe<K extends keyof BusEvents>(
    topic: K,
    scope: BusScope,
    listener: BusListener<K>,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Calls `listener` whenever the transport came back after a break (events published meanwhile
   * may be lost), with the time the break began; until `signal` aborts. Listeners recover from the
   * store's transition log. Never called in process.
   */
  onResync(listener: (brokenSince: Date) => void, signal: AbortSignal): void;
  /** What this process has received so far. */
  counts(): BusCounts;
  /** Resolves when the transport answers (always, in process). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
