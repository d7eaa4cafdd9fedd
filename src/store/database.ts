import type { ColumnType } from 'kysely';
import type { OperationStatus } from '../operations/status.js';

/**
 * Epoch milliseconds in a `bigint` column. Written as a number; read back as a number from
 * SQLite and as a string from node-postgres (which does not narrow int8), so readers use `Number()`.
 */
export type EpochMsColumn = ColumnType<number | string, number, number>;

/** JSON stored as text: `JSON.stringify` on the way in, `JSON.parse` on the way out. */
export type JsonText = string;

/** The `operations` table: one row per `OperationRecord`, columns in snake_case. */
export interface OperationsTable {
  /** Raw id, a UUID string. */
  id: string;
  kind: string;
  status: OperationStatus;
  progress: number | null;
  message: string | null;
  owner_id: string;
  input: JsonText | null;
  result: JsonText | null;
  /** `OperationFailure` as JSON. */
  error: JsonText | null;
  idempotency_key: string | null;
  timeout_ms: number | null;
  /** Raw id of the operation this one retries; null for a plain start (migration 0003). */
  retry_of: string | null;
  created_at: EpochMsColumn;
  updated_at: EpochMsColumn;
  started_at: EpochMsColumn | null;
  finished_at: EpochMsColumn | null;
  cancel_requested_at: EpochMsColumn | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
  revision: number;
  /** Null with `lease_expires_at` whenever the record has no lease. */
  lease_owner: string | null;
  lease_expires_at: EpochMsColumn | null;
}

/**
 * The `operation_events` table: the durable transition log, written in the same transaction as
 * the `operations` row it describes. It holds what changed, never input or result; a row per
 * status change and progress rows coalesced in time (`store/log-writes.ts`).
 */
export interface OperationEventsTable {
  operation_id: string;
  revision: number;
  status: OperationStatus;
  progress: number | null;
  /** `ChangeMeta.actor`. */
  actor: string;
  /** `ChangeMeta.reason`. */
  reason: string | null;
  /** The state's `updatedAt`. */
  at: EpochMsColumn;
  message: string | null;
  /** `OperationFailure` as JSON, as in `operations.error`. */
  error: JsonText | null;
}

/**
 * The `owner_starts` table: how many operations each owner created in each second (epoch
 * seconds of `created_at`), written with every insert. The start-rate quota sums it over its
 * window before counting the rows themselves (`store/quota.ts`).
 */
export interface OwnerStartsTable {
  owner_id: string;
  second: EpochMsColumn;
  starts: number;
}

/** The tables Kysely knows about. */
export interface Database {
  operations: OperationsTable;
  operation_events: OperationEventsTable;
  owner_starts: OwnerStartsTable;
}
