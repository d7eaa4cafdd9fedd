import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from './database.js';

/** The SQL dialects the store speaks. */
export type StoreDialect = 'sqlite' | 'postgres';

/** The only dialect-specific parts of the store. */
export interface DialectTraits {
  /** Runs `work` in a transaction that may write; commits when it resolves, else rolls back. */
  writeTransaction<T>(db: Kysely<Database>, work: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** True when `error` is a unique or primary-key violation. */
  isUniqueViolation(error: unknown): boolean;
  /**
   * True when a write transaction must lock the rows it reads to claim them, skipping rows
   * another transaction holds (`FOR UPDATE SKIP LOCKED`); false where the write transaction
   * already excludes every other writer.
   */
  readonly lockRowsToClaim: boolean;
  /**
   * Makes the caller's write transaction the only one of this owner's until it ends, so a count
   * of the owner's operations and an insert decided on it are one step (where the write
   * transaction already excludes every other writer, nothing to do).
   */
  lockOwner(tx: Kysely<Database>, ownerId: string): Promise<void>;
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

const SQLITE_UNIQUE_CODES: ReadonlySet<unknown> = new Set([
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
]);

// Compiled once: they run around every write.
const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/** The traits of each dialect. */
export const dialectTraits: Readonly<Record<StoreDialect, DialectTraits>> = {
  sqlite: {
    // BEGIN IMMEDIATE takes the write lock up front. A deferred BEGIN that reads and then writes
    // fails at once with SQLITE_BUSY (busy_timeout does not apply) when another connection wrote
    // in between. Kysely holds the single SQLite connection for the whole callback.
    writeTransaction: (db, work) =>
      db.connection().execute(async (conn) => {
        await conn.executeQuery(BEGIN_IMMEDIATE);
        try {
          const value = await work(conn);
          await conn.executeQuery(COMMIT);
          return value;
        } catch (error) {
          // SQLite may have rolled back on its own (SQLITE_FULL, SQLITE_IOERR); report the cause.
          await conn.executeQuery(ROLLBACK).catch(() => undefined);
          throw error;
        }
      }),
    isUniqueViolation: (error) => SQLITE_UNIQUE_CODES.has(errorCode(error)),
    // BEGIN IMMEDIATE already serialises writers, and SQLite has no row locks.
    lockRowsToClaim: false,
    lockOwner: async () => undefined,
  },
  postgres: {
    // READ COMMITTED: an UPDATE … WHERE revision = ? that waited on a row lock re-checks the
    // condition against the committed row, so a compare-and-set never overwrites a newer state.
    writeTransaction: (db, work) => db.transaction().execute(work),
    isUniqueViolation: (error) => errorCode(error) === '23505',
    lockRowsToClaim: true,
    // A transaction-scoped advisory lock on a 64-bit hash of the owner: no row to lock exists
    // before the first insert. Two owners sharing a hash only wait for each other.
    lockOwner: async (tx, ownerId) => {
      await sql`select pg_advisory_xact_lock(hashtextextended(${`longrun.owner:${ownerId}`}::text, 0))`.execute(
        tx,
      );
    },
  },
};
