import { type ExpressionBuilder, type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { JsonValue, OperationFailure, OperationRecord } from '../operations/model.js';
import { ACTIVE, OperationStatus, TERMINAL } from '../operations/status.js';
import type { Database, OperationsTable } from './database.js';
import type { InsertResult, OperationFilter, OperationStore } from './store.js';

/** The SQL dialects the store speaks. */
export type StoreDialect = 'sqlite' | 'postgres';

/** How `createKyselyStore` talks to its database. */
export interface KyselyStoreOptions {
  /** Selects the few dialect-specific behaviours (write transactions, constraint errors). */
  readonly dialect: StoreDialect;
}

type Row = Selectable<OperationsTable>;
type Filter = ExpressionBuilder<Database, 'operations'>;

/** The only dialect-specific parts of the store. */
interface DialectTraits {
  /** Runs `work` in a transaction that may write; commits when it resolves. */
  writeTransaction<T>(db: Kysely<Database>, work: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** True when `error` is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

const DIALECTS: Record<StoreDialect, DialectTraits> = {
  sqlite: {
    // BEGIN IMMEDIATE takes the write lock up front. A deferred BEGIN that reads and then writes
    // fails at once with SQLITE_BUSY (busy_timeout does not apply) when another connection wrote
    // in between. Kysely holds the single SQLite connection for the whole callback.
    writeTransaction: (db, work) =>
      db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const value = await work(conn);
          await sql`commit`.execute(conn);
          return value;
        } catch (error) {
          // SQLite may have rolled back on its own (SQLITE_FULL, SQLITE_IOERR); report the cause.
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw error;
        }
      }),
    isUniqueViolation: (error) => errorCode(error) === 'SQLITE_CONSTRAINT_UNIQUE',
  },
  postgres: {
    writeTransaction: (db, work) => db.transaction().execute(work),
    isUniqueViolation: (error) => errorCode(error) === '23505',
  },
};

// Two racing first inserts of one key: the loser's unique violation means the winner has
// committed, so one more lookup finds it. A third attempt only guards against odd drivers.
const INSERT_ATTEMPTS = 3;

const ACTIVE_STATUSES = [...ACTIVE];
const TERMINAL_STATUSES = [...TERMINAL];

const toMs = (date: Date): number => date.getTime();
const toMsOrNull = (date: Date | null): number | null => (date === null ? null : date.getTime());
const toDateOrNull = (ms: number | string | null): Date | null =>
  ms === null ? null : new Date(Number(ms));
const toJson = (value: JsonValue | OperationFailure | null): string | null =>
  value === null ? null : JSON.stringify(value);

// The columns `update` writes. id, kind, owner, input, timeout and created_at never change;
// idempotency_key is left alone too, as `insert` may have released it after the writer read it.
function mutableColumns(op: OperationRecord) {
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

function toRow(op: OperationRecord): Insertable<OperationsTable> {
  return {
    id: op.id,
    kind: op.kind,
    owner_id: op.ownerId,
    input: toJson(op.input),
    idempotency_key: op.idempotencyKey,
    timeout_ms: op.timeoutMs,
    created_at: toMs(op.createdAt),
    ...mutableColumns(op),
  };
}

function toRecord(row: Row): OperationRecord {
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
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
    startedAt: toDateOrNull(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    cancelRequestedAt: toDateOrNull(row.cancel_requested_at),
    cancelledBy: row.cancelled_by,
    cancelReason: row.cancel_reason,
    revision: row.revision,
    lease:
      row.lease_owner === null || row.lease_expires_at === null
        ? null
        : { owner: row.lease_owner, expiresAt: new Date(Number(row.lease_expires_at)) },
  };
}

function matches(eb: Filter, filter: OperationFilter) {
  const conditions = [];
  if (filter.ownerId != null) conditions.push(eb('owner_id', '=', filter.ownerId));
  if (filter.kind != null) conditions.push(eb('kind', '=', filter.kind));
  if (filter.statuses != null) {
    // An empty status list matches nothing (and `in ()` is not valid SQL).
    conditions.push(
      filter.statuses.length === 0 ? sql<boolean>`1 = 0` : eb('status', 'in', filter.statuses),
    );
  }
  return eb.and(conditions);
}

/** An `OperationStore` over Kysely; SQLite today, PostgreSQL through the same code. */
export function createKyselyStore(
  db: Kysely<Database>,
  options: KyselyStoreOptions,
): OperationStore {
  const dialect = DIALECTS[options.dialect];
  const selectAll = () => db.selectFrom('operations').selectAll();

  async function insertOnce(record: OperationRecord, key: string, cutoff: Date) {
    return dialect.writeTransaction(db, async (tx): Promise<InsertResult> => {
      const found = await tx
        .selectFrom('operations')
        .selectAll()
        .where('owner_id', '=', record.ownerId)
        .where('idempotency_key', '=', key)
        .executeTakeFirst();
      if (found !== undefined) {
        const existing = toRecord(found);
        if (toMs(existing.createdAt) >= toMs(cutoff)) return { inserted: false, existing };
        await tx
          .updateTable('operations')
          .set({ idempotency_key: null })
          .where('id', '=', found.id)
          .execute();
      }
      await tx.insertInto('operations').values(toRow(record)).execute();
      return { inserted: true, record };
    });
  }

  return {
    async get(id) {
      const row = await selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    async insert(record, idempotencyCutoff) {
      const key = record.idempotencyKey;
      if (key === null) {
        await db.insertInto('operations').values(toRow(record)).execute();
        return { inserted: true, record };
      }
      for (let attempt = 1; ; attempt++) {
        try {
          return await insertOnce(record, key, idempotencyCutoff);
        } catch (error) {
          if (attempt >= INSERT_ATTEMPTS || !dialect.isUniqueViolation(error)) throw error;
        }
      }
    },

    async update(next, expected) {
      let query = db
        .updateTable('operations')
        .set(mutableColumns(next))
        .where('id', '=', next.id)
        .where('revision', '=', expected.revision);
      if (expected.leaseOwner !== undefined) {
        query = query.where('lease_owner', '=', expected.leaseOwner);
      }
      const { numUpdatedRows } = await query.executeTakeFirst();
      return numUpdatedRows === 1n;
    },

    async list({ direction, key, limit, ...filter }) {
      const newer = direction === 'newer';
      const order = newer ? 'asc' : 'desc';
      let query = selectAll().where((eb) => matches(eb, filter));
      if (key !== null) {
        query = query.where((eb) =>
          eb(
            eb.refTuple('created_at', 'id'),
            newer ? '>' : '<',
            eb.tuple(toMs(key.createdAt), key.id),
          ),
        );
      }
      const rows = await query
        .orderBy('created_at', order)
        .orderBy('id', order)
        .limit(limit)
        .execute();
      const records = rows.map(toRecord);
      return newer ? records.reverse() : records;
    },

    async count(filter) {
      const row = await db
        .selectFrom('operations')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where((eb) => matches(eb, filter))
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async pending(limit) {
      const rows = await selectAll()
        .where('status', '=', OperationStatus.Pending)
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    },

    async renewLeases(owner, ids, expiresAt) {
      if (ids.length === 0) return [];
      // One statement, so the rows returned are exactly the rows renewed.
      const rows = await db
        .updateTable('operations')
        .set({ lease_expires_at: toMs(expiresAt) })
        .where('lease_owner', '=', owner)
        .where('id', 'in', ids)
        .where('status', 'in', ACTIVE_STATUSES)
        .returningAll()
        .execute();
      return rows.map(toRecord);
    },

    async expiredLeases(now, limit) {
      const rows = await selectAll()
        .where('status', 'in', ACTIVE_STATUSES)
        .where('lease_expires_at', '<', toMs(now))
        .orderBy('lease_expires_at', 'asc')
        .orderBy('id', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    },

    async deleteFinishedBefore(cutoff) {
      const { numDeletedRows } = await db
        .deleteFrom('operations')
        .where('status', 'in', TERMINAL_STATUSES)
        .where('finished_at', '<', toMs(cutoff))
        .executeTakeFirst();
      return Number(numDeletedRows);
    },

    async ping() {
      await sql`select 1`.execute(db);
    },

    async close() {
      await db.destroy();
    },
  };
}
