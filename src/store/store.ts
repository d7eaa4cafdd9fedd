import type { OperationEvent, OperationRecord } from '../operations/model.js';
import type { OperationStatus } from '../operations/status.js';

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
}

/** What `insert` did with an idempotency key. */
export type InsertResult =
  | { readonly inserted: true; readonly record: OperationRecord }
  | { readonly inserted: false; readonly existing: OperationRecord };

/** Who caused a change and why, as the transition log records it. */
export interface ChangeMeta {
  /** `user:<sub>` for a client's request, `worker:<id>` for a runner, `system` for recovery. */
  readonly actor: string;
  /** A cancel reason or an error code; null when there is nothing to say. */
  readonly reason: string | null;
}

export type { OperationEvent };

/** The expected state a compare-and-set write is conditioned on. */
export interface WriteCondition {
  /** The revision the writer read; the write fails when the row has moved on. */
  readonly revision: number;
  /** When set, the write also fails unless this worker still holds the lease. */
  readonly leaseOwner?: string;
}

/**
 * Durable storage of operations. Every method is atomic on its own; no method publishes events.
 * Implementations: `kysely-store.ts` (SQLite and PostgreSQL).
 */
export interface OperationStore {
  /** The operation with this raw id, or null. Always exactly one query, found or not. */
  get(id: string): Promise<OperationRecord | null>;
  /**
   * Stores a new PENDING operation. With an idempotency key, an operation of the same owner and
   * key created at or after `idempotencyCutoff` is returned instead (`inserted: false`), and
   * concurrent inserts with one key create exactly one row.
   */
  insert(record: OperationRecord, idempotencyCutoff: Date, meta: ChangeMeta): Promise<InsertResult>;
  /**
   * Compare-and-set: writes `next` only while the stored revision (and lease owner, when given)
   * still match `expected`, and appends `next` to the transition log in the same transaction.
   * Resolves true when the row was written, false when it had moved on.
   */
  update(next: OperationRecord, expected: WriteCondition, meta: ChangeMeta): Promise<boolean>;
  /**
   * Atomically takes up to `limit` PENDING operations, oldest first, skipping rows another
   * transaction holds (PostgreSQL: `FOR UPDATE SKIP LOCKED`): for each, `claim` gives the RUNNING
   * state to write (null skips it); the writes and their log entries commit together. Resolves
   * with the states written.
   */
  claimPending(
    limit: number,
    claim: (pending: OperationRecord) => OperationRecord | null,
    meta: ChangeMeta,
  ): Promise<OperationRecord[]>;
  /** Log entries of one operation with revision above `afterRevision`, ascending, at most `limit`. */
  events(id: string, afterRevision: number, limit: number): Promise<OperationEvent[]>;
  /** Log entries committed at or after `since`, by time then revision, at most `limit`. */
  eventsSince(since: Date, limit: number): Promise<OperationEvent[]>;
  /** One keyset page, always returned newest first. */
  list(query: PageQuery): Promise<OperationRecord[]>;
  /** How many operations match. */
  count(filter: OperationFilter): Promise<number>;
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
