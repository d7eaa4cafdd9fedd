import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from './database.js';
import { createKyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrations.js';
import type { OperationStore } from './store.js';

/** A migrated SQLite database: the store, and its Kysely instance for tests and tools. */
export interface SqliteConnection {
  readonly db: Kysely<Database>;
  /** Its `close()` destroys `db`. */
  readonly store: OperationStore;
}

function open(file: string): BetterSqlite3.Database {
  const sqlite = new BetterSqlite3(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    // In WAL mode NORMAL syncs at checkpoints, not at every commit. A committed transaction is
    // in the WAL file (the OS page cache) before the call returns, so a process crash or
    // kill -9 loses nothing; only a power cut or OS crash could drop the latest commits.
    // FULL would close that gap at the price of an fsync per write.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    return sqlite;
  } catch (error) {
    sqlite.close();
    throw error;
  }
}

/** Opens (creating it and its folder when missing) and migrates the SQLite file at `file`. */
export async function openSqlite(file: string, logger: Logger): Promise<SqliteConnection> {
  let sqlite: BetterSqlite3.Database;
  try {
    await mkdir(dirname(file), { recursive: true });
    sqlite = open(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot open the SQLite database at ${file}: ${reason}`, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest(db, logger);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  logger.info('Database ready.', { database: 'sqlite', file });
  return { db, store: createKyselyStore(db, { dialect: 'sqlite' }) };
}

/** Connects to the configured database, migrates it to the latest schema and returns the store. */
export async function connectStore(
  config: DatabaseConfig,
  logger: Logger,
): Promise<OperationStore> {
  switch (config.kind) {
    case 'sqlite':
      return (await openSqlite(config.file, logger)).store;
    case 'postgres':
      throw new Error('PostgreSQL support is not available yet');
  }
}
