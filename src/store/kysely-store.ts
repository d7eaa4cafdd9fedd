import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { OperationRecord } from '../operations/model.js';
import type {
  ChangeMeta,
  InsertResult,
  OperationFilter,
  OperationStore,
  WriteCondition,
} from '../operations/ports.js';
import { ACTIVE, OperationStatus, TERMINAL } from '../operations/status.js';
import type { Database } from './database.js';
import { dialectTraits, type StoreDialect } from './dialect-traits.js';
import { mutableColumns, toEvent, toEventRow, toMs, toRecord, toRow } from './store-rows.js';

export type { StoreDialect } from './dialect-traits.js';

/** How `createKyselyStore` talks to its database. */
export interface KyselyStoreOptions {
  /** Selects the few dialect-specific behaviours (write transactions, constraint errors, locks). */
  readonly dialect: StoreDialect;
}

type Filter = ExpressionBuilder<Database, 'operations'>;

// Two racing first inserts of one key: the loser's unique violation means the winner has
// committed, so one more lookup finds it. A third attempt only guards against odd drivers.
const INSERT_ATTEMPTS = 3;

const ACTIVE_STATUSES = [...ACTIVE];
const TERMINAL_STATUSES = [...TERMINAL];

/** Inserts `record` and its log entry; the caller's transaction makes them one. */
async function insertWithEvent(tx: Kysely<Database>, record: OperationRecord, meta: ChangeMeta) {
  await tx.insertInto('operations').values(toRow(record)).execute();
  await tx.insertInto('operation_events').values(toEventRow(record, meta)).execute();
}

/** The compare-and-set write of `next`, without its log entry; true when the row was written. */
async function writeIfCurrent(
  tx: Kysely<Database>,
  next: OperationRecord,
  expected: WriteCondition,
): Promise<boolean> {
  const columns = mutableColumns(next);
  const expiresAt = columns.lease_expires_at;
  let query = tx
    .updateTable('operations')
    .set({
      ...columns,
      // `renewLeases` does not bump the revision, so `next` may carry an expiry read before a
      // renewal that committed since: keep the later one, or this write would undo the heartbeat
      // and the lease of a healthy worker could run out (taken back as INTERRUPTED).
      lease_expires_at:
        expiresAt === null
          ? null
          : sql<number>`case when lease_expires_at > ${expiresAt} then lease_expires_at else ${expiresAt} end`,
    })
    .where('id', '=', next.id)
    .where('revision', '=', expected.revision);
  if (expected.leaseOwner !== undefined) {
    query = query.where('lease_owner', '=', expected.leaseOwner);
  }
  const { numUpdatedRows } = await query.executeTakeFirst();
  return numUpdatedRows === 1n;
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

/** An `OperationStore` over Kysely, for SQLite and PostgreSQL alike. */
export function createKyselyStore(
  db: Kysely<Database>,
  options: KyselyStoreOptions,
): OperationStore {
  const dialect = dialectTraits[options.dialect];
  const selectAll = () => db.selectFrom('operations').selectAll();
  const oldestPending = (from: Kysely<Database>, limit: number) =>
    from
      .selectFrom('operations')
      .selectAll()
      .where('status', '=', OperationStatus.Pending)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit);

  async function insertOnce(record: OperationRecord, key: string, cutoff: Date, meta: ChangeMeta) {
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
      await insertWithEvent(tx, record, meta);
      return { inserted: true, record };
    });
  }

  return {
    async get(id) {
      const row = await selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    async insert(record, idempotencyCutoff, meta) {
      const key = record.idempotencyKey;
      if (key === null) {
        await dialect.writeTransaction(db, (tx) => insertWithEvent(tx, record, meta));
        return { inserted: true, record };
      }
      for (let attempt = 1; ; attempt++) {
        try {
          return await insertOnce(record, key, idempotencyCutoff, meta);
        } catch (error) {
          if (attempt >= INSERT_ATTEMPTS || !dialect.isUniqueViolation(error)) throw error;
        }
      }
    },

    async update(next, expected, meta) {
      try {
        return await dialect.writeTransaction(db, async (tx) => {
          if (!(await writeIfCurrent(tx, next, expected))) return false;
          await tx.insertInto('operation_events').values(toEventRow(next, meta)).execute();
          return true;
        });
      } catch (error) {
        // The log entry of this revision exists: another writer won it, and throwing rolled
        // back our row write. The update itself cannot violate a unique constraint.
        if (dialect.isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async claimPending(limit, claim, meta) {
      if (limit <= 0) return [];
      return dialect.writeTransaction(db, async (tx) => {
        const query = oldestPending(tx, limit);
        const rows = await (dialect.lockRowsToClaim
          ? query.forUpdate().skipLocked()
          : query
        ).execute();
        const written: OperationRecord[] = [];
        for (const row of rows) {
          const pending = toRecord(row);
          const next = claim(pending);
          // The rows are ours until commit, so the compare-and-set only guards against misuse.
          if (next !== null && (await writeIfCurrent(tx, next, pending))) written.push(next);
        }
        if (written.length > 0) {
          const events = written.map((record) => toEventRow(record, meta));
          await tx.insertInto('operation_events').values(events).execute();
        }
        return written;
      });
    },

    async events(id, afterRevision, limit) {
      const rows = await db
        .selectFrom('operation_events')
        .selectAll()
        .where('operation_id', '=', id)
        .where('revision', '>', afterRevision)
        .orderBy('revision', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },

    async eventsSince(since, limit) {
      const rows = await db
        .selectFrom('operation_events')
        .selectAll()
        .where('at', '>=', toMs(since))
        .orderBy('at', 'asc')
        .orderBy('operation_id', 'asc')
        .orderBy('revision', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
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
      return dialect.writeTransaction(db, async (tx) => {
        const expired = tx
          .selectFrom('operations')
          .select('id')
          .where('status', 'in', TERMINAL_STATUSES)
          .where('finished_at', '<', toMs(cutoff));
        // A done operation never changes again, so both statements see the same set.
        await tx.deleteFrom('operation_events').where('operation_id', 'in', expired).execute();
        const { numDeletedRows } = await tx
          .deleteFrom('operations')
          .where('status', 'in', TERMINAL_STATUSES)
          .where('finished_at', '<', toMs(cutoff))
          .executeTakeFirst();
        return Number(numDeletedRows);
      });
    },

    async ping() {
      await sql`select 1`.execute(db);
    },

    async close() {
      await db.destroy();
    },
  };
}
