import { type Insertable, type Selectable, sql } from 'kysely';
import { OperationStatus } from '../operations/status.js';
import type { OperationEventsTable, OperationsTable } from './database.js';
import { Prepared } from './prepared.js';
import type { mutableColumns } from './store-rows.js';

/** The statements every start, claim and cancel runs, each compiled once (see `Prepared`). */

type OperationRow = Insertable<OperationsTable>;
type EventRow = Insertable<OperationEventsTable>;
type Mutable = ReturnType<typeof mutableColumns>;

const OPERATION_COLUMNS = [
  'id',
  'kind',
  'owner_id',
  'input',
  'idempotency_key',
  'timeout_ms',
  'retry_of',
  'created_at',
  'status',
  'progress',
  'message',
  'result',
  'error',
  'updated_at',
  'started_at',
  'finished_at',
  'cancel_requested_at',
  'cancelled_by',
  'cancel_reason',
  'revision',
  'lease_owner',
  'lease_expires_at',
] as const satisfies readonly (keyof OperationRow)[];

const EVENT_COLUMNS = [
  'operation_id',
  'revision',
  'status',
  'progress',
  'message',
  'error',
  'actor',
  'reason',
  'at',
] as const satisfies readonly (keyof EventRow)[];

/** The columns `mutableColumns` writes, but the lease expiry (`updateRow` decides it). */
const UPDATED_COLUMNS = [
  'status',
  'progress',
  'message',
  'result',
  'error',
  'updated_at',
  'started_at',
  'finished_at',
  'cancel_requested_at',
  'cancelled_by',
  'cancel_reason',
  'revision',
  'lease_owner',
] as const satisfies readonly (keyof Mutable)[];

function pick<T, K extends keyof T>(slots: T, columns: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const column of columns) picked[column] = slots[column];
  return picked;
}

/** Inserts one whole `operations` row (`toRow`). */
export const insertOperationRow = new Prepared<OperationRow, never>((db, row) =>
  db.insertInto('operations').values(pick(row, OPERATION_COLUMNS)),
);

/** Inserts one log entry (`toEventRow`). */
export const insertEventRow = new Prepared<EventRow, never>((db, row) =>
  db.insertInto('operation_events').values(pick(row, EVENT_COLUMNS)),
);

/** The `operations` row of `id`. */
export const selectOperation = new Prepared<{ id: string }, Selectable<OperationsTable>>(
  (db, { id }) => db.selectFrom('operations').selectAll().where('id', '=', id),
);

/** Some PENDING operation's id, if there is any. */
export const selectAnyPending = new Prepared<Record<string, never>, { id: string }>((db) =>
  db.selectFrom('operations').select('id').where('status', '=', OperationStatus.Pending).limit(1),
);

/** The owners of PENDING operations, at most two. */
export const selectPendingOwners = new Prepared<Record<string, never>, { owner_id: string }>((db) =>
  db
    .selectFrom('operations')
    .select('owner_id')
    .distinct()
    .where('status', '=', OperationStatus.Pending)
    .limit(2),
);

/** `ownerId`'s oldest PENDING operations, at most `limit`; `locked` takes row locks, skipping held rows. */
function pendingOf(locked: boolean) {
  return new Prepared<{ ownerId: string; limit: number }, Selectable<OperationsTable>>(
    (db, { ownerId, limit }) => {
      const query = db
        .selectFrom('operations')
        .selectAll()
        .where('status', '=', OperationStatus.Pending)
        .where('owner_id', '=', ownerId)
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit);
      return locked ? query.forUpdate().skipLocked() : query;
    },
  );
}
export const selectPendingOf = { locked: pendingOf(true), unlocked: pendingOf(false) };

/** The latest two log entries of `id`, newest first. */
export const selectLatestEntries = new Prepared<
  { id: string },
  Pick<Selectable<OperationEventsTable>, 'revision' | 'status' | 'at'>
>((db, { id }) =>
  db
    .selectFrom('operation_events')
    .select(['revision', 'status', 'at'])
    .where('operation_id', '=', id)
    .orderBy('revision', 'desc')
    .limit(2),
);

/** Replaces the log entry of `operation_id` at `replaced` with `row` (a newer revision). */
export const replaceEventRow = new Prepared<EventRow & { replaced: number }, never>(
  (db, values) => {
    const { operation_id, ...changes } = pick(values, EVENT_COLUMNS);
    return db
      .updateTable('operation_events')
      .set(changes)
      .where('operation_id', '=', operation_id)
      .where('revision', '=', values.replaced);
  },
);

/** The values of an `updateRow` statement. */
export type UpdateValues = Mutable & {
  readonly id: string;
  readonly expectedRevision: number;
  readonly expectedLeaseOwner: string | null;
};

/**
 * The compare-and-set write of a row's mutable columns, in four shapes: with or without a lease
 * expiry (a new one never moves an expiry back: see `writeIfCurrent`), with or without a
 * condition on the lease owner.
 */
function updateRow(withLease: boolean, checkOwner: boolean) {
  return new Prepared<UpdateValues, never>((db, values) => {
    const expiresAt = values.lease_expires_at;
    let query = db
      .updateTable('operations')
      .set({
        ...pick(values, UPDATED_COLUMNS),
        lease_expires_at: withLease
          ? sql<number>`case when lease_expires_at > ${expiresAt} then lease_expires_at else ${expiresAt} end`
          : null,
      })
      .where('id', '=', values.id)
      .where('revision', '=', values.expectedRevision);
    if (checkOwner) query = query.where('lease_owner', '=', values.expectedLeaseOwner);
    return query;
  });
}
export const updateRowIfCurrent = {
  leased: { anyOwner: updateRow(true, false), sameOwner: updateRow(true, true) },
  unleased: { anyOwner: updateRow(false, false), sameOwner: updateRow(false, true) },
};

/** The operation of `ownerId` holding idempotency key `key`, if any. */
export const selectByKey = new Prepared<
  { ownerId: string; key: string },
  Selectable<OperationsTable>
>((db, { ownerId, key }) =>
  db
    .selectFrom('operations')
    .selectAll()
    .where('owner_id', '=', ownerId)
    .where('idempotency_key', '=', key),
);

/** Takes the idempotency key from operation `id`. */
export const releaseKey = new Prepared<{ id: string }, never>((db, { id }) =>
  db.updateTable('operations').set({ idempotency_key: null }).where('id', '=', id),
);

/** The start `skip` places back among `ownerId`'s created after `after`, newest first. */
export const selectStartBack = new Prepared<
  { ownerId: string; after: number; skip: number },
  { created_at: number | string }
>((db, { ownerId, after, skip }) =>
  db
    .selectFrom('operations')
    .select('created_at')
    .where('owner_id', '=', ownerId)
    .where('created_at', '>', after)
    .orderBy('created_at', 'desc')
    .offset(skip)
    .limit(1),
);

/**
 * The active operation `skip` places into `ownerId`'s: PENDING, RUNNING and CANCELLING count
 * against `StartQuota.maxActive`.
 */
export const selectActiveAt = new Prepared<{ ownerId: string; skip: number }, { id: string }>(
  (db, { ownerId, skip }) =>
    db
      .selectFrom('operations')
      .select('id')
      .where('status', 'in', [
        OperationStatus.Pending,
        OperationStatus.Running,
        OperationStatus.Cancelling,
      ])
      .where('owner_id', '=', ownerId)
      .offset(skip)
      .limit(1),
);

/** Counts one start of `ownerId` in epoch second `second`. */
export const countStart = new Prepared<{ ownerId: string; second: number }, never>(
  (db, { ownerId, second }) =>
    db
      .insertInto('owner_starts')
      .values({ owner_id: ownerId, second, starts: 1 })
      .onConflict((oc) =>
        oc.columns(['owner_id', 'second']).doUpdateSet({ starts: sql`owner_starts.starts + 1` }),
      ),
);

/** How many starts `ownerId` made in epoch second `from` and later (one row per second). */
export const sumStartsFrom = new Prepared<
  { ownerId: string; from: number },
  { starts: number | string | null }
>((db, { ownerId, from }) =>
  db
    .selectFrom('owner_starts')
    .select((eb) => eb.fn.sum<number | string | null>('starts').as('starts'))
    .where('owner_id', '=', ownerId)
    .where('second', '>=', from),
);
