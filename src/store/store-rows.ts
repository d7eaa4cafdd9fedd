import type { Insertable, Selectable } from 'kysely';
import { stateAt } from '../operations/log-state.js';
import type {
  JsonValue,
  LogChange,
  LogEntry,
  OperationEvent,
  OperationFailure,
  OperationRecord,
} from '../operations/model.js';
import type { ChangeMeta } from '../operations/ports.js';
import type { OperationEventsTable, OperationsTable } from './database.js';

/** An `operations` row as read. */
export type OperationRow = Selectable<OperationsTable>;
/** An `operation_events` row as read. */
export type OperationEventRow = Selectable<OperationEventsTable>;

/** Epoch milliseconds of `date`. */
export const toMs = (date: Date): number => date.getTime();
const toMsOrNull = (date: Date | null): number | null => (date === null ? null : date.getTime());
// bigint columns come back as numbers from SQLite and as strings from node-postgres.
const toDate = (ms: number | string): Date => new Date(Number(ms));
const toDateOrNull = (ms: number | string | null): Date | null => (ms === null ? null : toDate(ms));
const toJson = (value: JsonValue | OperationFailure | null): string | null =>
  value === null ? null : JSON.stringify(value);

/**
 * The columns a state change writes. id, kind, owner, input, timeout, retry_of and created_at never
 * change; idempotency_key is left alone too, as `insert` may have released it after the writer
 * read it.
 */
export function mutableColumns(op: OperationRecord) {
  return {
    status: op.status,
    progress: op.progress,
    message: op.message,
    result: toJson(op.result),
    error: toJson(op.error),
    updated_at: toMs(op.updatedAt),
    started_at: toMsOrNull(op.startedAt),
    finished_at: toMsOrNull(op.finishedAt),
    cancel_requested_at: toMsOrNull(op.cancelRequestedAt),
    cancelled_by: op.cancelledBy,
    cancel_reason: op.cancelReason,
    revision: op.revision,
    lease_owner: op.lease?.owner ?? null,
    lease_expires_at: op.lease === null ? null : toMs(op.lease.expiresAt),
  } satisfies Partial<Insertable<OperationsTable>>;
}

/** The whole `operations` row of `op`. */
export function toRow(op: OperationRecord): Insertable<OperationsTable> {
  return {
    id: op.id,
    kind: op.kind,
    owner_id: op.ownerId,
    input: toJson(op.input),
    idempotency_key: op.idempotencyKey,
    timeout_ms: op.timeoutMs,
    retry_of: op.retryOf,
    created_at: toMs(op.createdAt),
    ...mutableColumns(op),
  };
}

/** The record an `operations` row holds. */
export function toRecord(row: OperationRow): OperationRecord {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    progress: row.progress,
    message: row.message,
    ownerId: row.owner_id,
    input: row.input === null ? null : (JSON.parse(row.input) as JsonValue),
    result: row.result === null ? null : (JSON.parse(row.result) as JsonValue),
    error: row.error === null ? null : (JSON.parse(row.error) as OperationFailure),
    idempotencyKey: row.idempotency_key,
    timeoutMs: row.timeout_ms,
    // Log states written before migration 0003 have no such key.
    retryOf: row.retry_of ?? null,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    startedAt: toDateOrNull(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    cancelRequestedAt: toDateOrNull(row.cancel_requested_at),
    cancelledBy: row.cancelled_by,
    cancelReason: row.cancel_reason,
    revision: row.revision,
    lease:
      row.lease_owner === null || row.lease_expires_at === null
        ? null
        : { owner: row.lease_owner, expiresAt: toDate(row.lease_expires_at) },
  };
}

/** The log entry of `op` at its revision, caused as `meta` says: what changed, without input or result. */
export function toEventRow(
  op: OperationRecord,
  meta: ChangeMeta,
): Insertable<OperationEventsTable> {
  return {
    operation_id: op.id,
    revision: op.revision,
    status: op.status,
    progress: op.progress,
    message: op.message,
    error: toJson(op.error),
    actor: meta.actor,
    reason: meta.reason,
    at: toMs(op.updatedAt),
  };
}

/** The columns of an `operation_events` row that the audit view shows. */
export const LOG_ENTRY_COLUMNS = [
  'operation_id',
  'revision',
  'status',
  'progress',
  'actor',
  'reason',
  'at',
] as const;

/** Every column of an `operation_events` row: the audit entry, message and error. */
export const LOG_CHANGE_COLUMNS = [...LOG_ENTRY_COLUMNS, 'message', 'error'] as const;

/** The audit entry of an `operation_events` row. */
export function toLogEntry(
  row: Pick<OperationEventRow, (typeof LOG_ENTRY_COLUMNS)[number]>,
): LogEntry {
  return {
    operationId: row.operation_id,
    revision: row.revision,
    status: row.status,
    progress: row.progress,
    actor: row.actor,
    reason: row.reason,
    at: toDate(row.at),
  };
}

/** The log entry of an `operation_events` row, with the state rebuilt from `current`. */
export function toEvent(row: OperationEventRow, current: OperationRecord): OperationEvent {
  const entry = toLogEntry(row);
  const change: LogChange = {
    ...entry,
    message: row.message,
    error: row.error === null ? null : (JSON.parse(row.error) as OperationFailure),
  };
  return { ...entry, state: stateAt(current, change) };
}
