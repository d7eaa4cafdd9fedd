import { type Kysely, sql } from 'kysely';
import type { Database } from './database.js';
import { GroupCommit } from './group-commit.js';

/** The SQL dialects the store speaks. */
export type StoreDialect = 'sqlite' | 'postgres';

/** How one store runs its write transactions. */
export interface WriteTransactions {
  /**
   * Runs `work` in a transaction that may write. Resolves with its value once the transaction
   * has committed; rejects when `work` throws (nothing of it is kept) or the commit fails.
   */
  run<T>(work: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Resolves once every transaction asked for so far has settled. */
  settled(): Promise<void>;
}

/** The only dialect-specific parts of the store. */
export interface DialectTraits {
  /** The write transactions of a store on `db` (made once per store). */
  writeTransactions(db: Kysely<Database>): WriteTransactions;
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

/** The traits of each dialect. */
export const dialectTraits: Readonly<Record<StoreDialect, DialectTraits>> = {
  sqlite: {
    // Grouped, each batch in one BEGIN IMMEDIATE: it takes the write lock up front. A deferred
    // BEGIN that reads and then writes fails at once with SQLITE_BUSY (busy_timeout does not
    // apply) when another connection wrote in between.
    writeTransactions: (db) => new GroupCommit(db),
    isUniqueViolation: (error) => SQLITE_UNIQUE_CODES.has(errorCode(error)),
    // BEGIN IMMEDIATE already serialises writers, and SQLite has no row locks.
    lockRowsToClaim: false,
    lockOwner: async () => undefined,
  },
  postgres: {
    // READ COMMITTED: an UPDATE … WHERE revision = ? that waited on a row lock re-checks the
    // condition against the committed row, so a compare-and-set never overwrites a newer state.
    // Each on a connection of the pool; PostgreSQL groups the commits of concurrent ones itself.
    writeTransactions: (db) => ({
      run: (work) => db.transaction().execute(work),
      settled: async () => undefined,
    }),
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
