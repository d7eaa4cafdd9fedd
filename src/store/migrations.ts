import { type Kysely, type Migration, Migrator, PostgresAdapter, sql } from 'kysely';
import type { Logger } from '../logger.js';
import type { Database } from './database.js';

// Column types are chosen to mean the same on SQLite and PostgreSQL: `bigint` gets INTEGER
// affinity on SQLite, `double precision` REAL. Migrations never change once released; add one.
export const migrations: Record<string, Migration> = {
  '0001_operations': {
    async up(db) {
      await db.schema
        .createTable('operations')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('progress', 'double precision')
        .addColumn('message', 'text')
        .addColumn('owner_id', 'text', (col) => col.notNull())
        .addColumn('input', 'text')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('idempotency_key', 'text')
        .addColumn('timeout_ms', 'integer')
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('cancel_requested_at', 'bigint')
        .addColumn('cancelled_by', 'text')
        .addColumn('cancel_reason', 'text')
        .addColumn('revision', 'integer', (col) => col.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('operations_created_at_id_idx')
        .on('operations')
        .columns(['created_at desc', 'id desc'])
        .execute();
      await db.schema
        .createIndex('operations_owner_created_at_id_idx')
        .on('operations')
        .columns(['owner_id', 'created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('operations_status_created_at_id_idx')
        .on('operations')
        .columns(['status', 'created_at', 'id'])
        .execute();
      // Partial: keys released by `insert` once they age out are NULL and must not collide.
      await db.schema
        .createIndex('operations_owner_idempotency_key_uq')
        .unique()
        .on('operations')
        .columns(['owner_id', 'idempotency_key'])
        .where(sql.ref('idempotency_key'), 'is not', null)
        .execute();
      await db.schema
        .createIndex('operations_lease_expires_at_idx')
        .on('operations')
        .column('lease_expires_at')
        .execute();
      await db.schema
        .createIndex('operations_finished_at_idx')
        .on('operations')
        .column('finished_at')
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('operations').execute();
    },
  },
  // Operations created before this migration have no log; readers treat a missing entry as
  // history nobody can replay any more, as after retention.
  '0002_operation_events': {
    async up(db) {
      await db.schema
        .createTable('operation_events')
        .addColumn('operation_id', 'text', (col) => col.notNull())
        .addColumn('revision', 'integer', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('progress', 'double precision')
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('reason', 'text')
        .addColumn('at', 'bigint', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('operation_events_pk', ['operation_id', 'revision'])
        .execute();
      await db.schema
        .createIndex('operation_events_at_operation_id_revision_idx')
        .on('operation_events')
        .columns(['at', 'operation_id', 'revision'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('operation_events').execute();
    },
  },
  // Operations started before this migration are no retries: the column reads NULL for them.
  '0003_retry_of': {
    async up(db) {
      await db.schema.alterTable('operations').addColumn('retry_of', 'text').execute();
    },
    async down(db) {
      await db.schema.alterTable('operations').dropColumn('retry_of').execute();
    },
  },
  // The log keeps what changed instead of whole states (input and result included): message and
  // error move out of each row's state, then the state goes. Rows written before stay, smaller
  // (SQLite reuses the freed pages; VACUUM gives them back to the file system).
  '0004_operation_event_changes': {
    async up(db) {
      await db.schema.alterTable('operation_events').addColumn('message', 'text').execute();
      await db.schema.alterTable('operation_events').addColumn('error', 'text').execute();
      // `state` is the JSON of an `operations` row, whose `error` is itself JSON text.
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      const field = (name: string) =>
        postgres
          ? sql`(cast(state as jsonb) ->> ${sql.lit(name)})`
          : sql`json_extract(state, ${sql.lit(`$.${name}`)})`;
      await db
        .updateTable('operation_events')
        .set({ message: field('message'), error: field('error') })
        .execute();
      await db.schema.alterTable('operation_events').dropColumn('state').execute();
    },
    // No way down: the states it dropped cannot be made again.
  },
  // Per-owner quotas count an owner's PENDING/RUNNING/CANCELLING operations (a few seeks on
  // status and owner), and fair claiming walks the PENDING rows owner by owner, oldest first, and
  // counts each owner's running ones: all on this one index. When an owner was last served
  // (the newest started_at) is one seek on the second.
  '0005_owner_quota_idx': {
    async up(db) {
      await db.schema
        .createIndex('operations_status_owner_created_at_id_idx')
        .on('operations')
        .columns(['status', 'owner_id', 'created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('operations_owner_started_at_idx')
        .on('operations')
        .columns(['owner_id', 'started_at'])
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('operations_owner_started_at_idx').execute();
      await db.schema.dropIndex('operations_status_owner_created_at_id_idx').execute();
    },
  },
  // Listing by kind (everyone's, or one owner's) reads a range of these, newest first: without
  // them a kind one operation in 1,000 has was found by reading every row (80 ms a page over
  // 1,000,000 operations, `npm run bench -- listing`). A kind never changes, so only inserts and
  // deletes maintain them.
  '0006_kind_idx': {
    async up(db) {
      await db.schema
        .createIndex('operations_kind_created_at_id_idx')
        .on('operations')
        .columns(['kind', 'created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('operations_owner_kind_created_at_id_idx')
        .on('operations')
        .columns(['owner_id', 'kind', 'created_at', 'id'])
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('operations_owner_kind_created_at_id_idx').execute();
      await db.schema.dropIndex('operations_kind_created_at_id_idx').execute();
    },
  },
  // Starts per owner and second (`store/quota.ts`), counted from the last hour's operations: the
  // rate window is a minute.
  '0007_owner_starts': {
    async up(db) {
      await db.schema
        .createTable('owner_starts')
        .addColumn('owner_id', 'text', (col) => col.notNull())
        .addColumn('second', 'bigint', (col) => col.notNull())
        .addColumn('starts', 'integer', (col) => col.notNull())
        .addPrimaryKeyConstraint('owner_starts_pk', ['owner_id', 'second'])
        .execute();
      const second = sql<number>`created_at / 1000`;
      await db
        .insertInto('owner_starts')
        .columns(['owner_id', 'second', 'starts'])
        .expression(
          db
            .selectFrom('operations')
            .select(['owner_id', second.as('second'), sql<number>`count(*)`.as('starts')])
            .where('created_at', '>', Date.now() - 3_600_000)
            .groupBy(['owner_id', second]),
        )
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('owner_starts').execute();
    },
  },
};

/** Where the migrator keeps its own bookkeeping tables. */
export interface MigrateOptions {
  /**
   * The schema of `kysely_migration` and `kysely_migration_lock` (PostgreSQL). Give the schema
   * the tables go to: without it Kysely looks for its tables in every schema of the database,
   * finds another schema's and then fails to read its own.
   */
  readonly migrationTableSchema?: string;
}

/**
 * Applies every migration not yet applied; throws an Error naming the one that failed.
 * Concurrent callers on one database are safe: Kysely's Migrator holds a lock (PostgreSQL: an
 * advisory lock) while it migrates, and the later caller finds nothing left to do.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  logger: Logger,
  options: MigrateOptions = {},
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Migrations are independent of each other, and a database may have a later-numbered one
    // applied before an earlier one was released (0005 before 0004): apply what is missing.
    allowUnorderedMigrations: true,
    ...options,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  for (const result of results) {
    if (result.status === 'Success') {
      logger.info('Applied database migration.', { migration: result.migrationName });
    }
  }
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Database migration ${failed === undefined ? 'set-up' : `"${failed}"`} failed: ${reason}`,
      { cause: error },
    );
  }
}
