import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type KyselyConfig, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { OperationStore } from '../operations/ports.js';
import type { Database } from './database.js';
import { createKyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrations.js';
import { withStatementCache } from './statement-cache.js';

/** A migrated database: the store, and its Kysely instance for tests and tools. */
export interface StoreConnection {
  readonly db: Kysely<Database>;
  /** Its `close()` destroys `db` (and so the connection pool). */
  readonly store: OperationStore;
}

/** Sees each SQL statement the store ran, once it finished (diagnostics and tests). */
export type StatementObserver = (statement: {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}) => void;

/** Options of every way to open a store. */
export interface OpenOptions {
  /** Called after each statement, failed or not. */
  readonly onStatement?: StatementObserver;
  /** Rows one statement of `count` goes through (tests lower it). @default COUNT_STRETCH */
  readonly countStretch?: number;
  /** How far apart the log keeps progress entries. @default PROGRESS_LOG_INTERVAL_MS */
  readonly progressLogIntervalMs?: number;
}

/** Kysely's `log` option for `observer`, or nothing. */
function logTo(observer: StatementObserver | undefined): Pick<KyselyConfig, 'log'> {
  if (observer === undefined) return {};
  return { log: (event) => observer({ sql: event.query.sql, parameters: event.query.parameters }) };
}

/** Options of `openPostgres`. */
export interface PostgresOptions extends OpenOptions {
  /**
   * Work in this schema only (created when missing) instead of the URL's default `search_path`:
   * every connection starts with `search_path` set to it. Meant for tests, one schema each.
   * Lower-case letters, digits and `_`.
   */
  readonly schema?: string;
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
export async function openSqlite(
  file: string,
  logger: Logger,
  options: OpenOptions = {},
): Promise<StoreConnection> {
  let sqlite: BetterSqlite3.Database;
  try {
    await mkdir(dirname(file), { recursive: true });
    sqlite = open(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot open the SQLite database at ${file}: ${reason}`, { cause: error });
  }
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
    ...logTo(options.onStatement),
  });
  try {
    await migrateToLatest(db, logger);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  logger.info('Database ready.', { database: 'sqlite', file });
  return {
    db,
    store: createKyselyStore(db, {
      dialect: 'sqlite',
      countStretch: options.countStretch,
      progressLogIntervalMs: options.progressLogIntervalMs,
    }),
  };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Where `url` points, without credentials, for messages and logs. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

function createPool(url: string, logger: Logger, schema: string | undefined): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    application_name: 'longrun',
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // Sent as a start-up parameter, so it holds on every connection the pool makes.
    statement_timeout: 10_000,
    // A connection the network silently dropped never sees statement_timeout: give up on the
    // client side too, and let TCP keepalive find dead peers.
    query_timeout: 15_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection that the server drops (restart, pg_terminate_backend, a proxy's timeout)
  // is reported here; with no listener the 'error' event would crash the process. The pool has
  // already discarded it and opens a fresh one on demand.
  pool.on('error', (error) => {
    logger.warn('An idle PostgreSQL connection was lost; the pool replaces it.', { error });
  });
  // A connection lost while checked out (say between the statements of a transaction) emits
  // 'error' on the client, which the pool only listens to while the client is idle. The next
  // statement on it rejects and the pool discards it on release, so a debug line is enough.
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      logger.debug('A PostgreSQL connection failed.', { error });
    });
  });
  return pool;
}

async function createSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two processes creating it at once: IF NOT EXISTS does not stop the loser from hitting
    // the catalog's unique index (23505), and the schema is there either way.
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : null;
    if (code !== '23505') throw error;
  }
}

/** The schema unqualified names resolve to; the migrations create their tables there. */
async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(
    db,
  );
  const schema = rows[0]?.schema ?? null;
  if (schema === null) {
    throw new Error('no schema in its search_path exists; create one or set search_path');
  }
  return schema;
}

/**
 * Connects to the PostgreSQL database at `url` (a pool of at most 10 connections named
 * `longrun`, statements limited to 10 s), migrates it and returns the store. Several processes
 * may start on one empty database at once: the migrations run under Kysely's advisory lock.
 */
export async function openPostgres(
  url: string,
  logger: Logger,
  options: PostgresOptions = {},
): Promise<StoreConnection> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema name "${schema}": use a-z, 0-9 and _.`);
  }
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: createPool(url, logger, schema) }),
    ...logTo(options.onStatement),
  });
  let target: string;
  try {
    try {
      if (schema !== undefined) await createSchema(db, schema);
      target = await currentSchema(db);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot open the PostgreSQL database at ${where(url)}: ${reason}`, {
        cause: error,
      });
    }
    await migrateToLatest(db, logger, { migrationTableSchema: target });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  logger.info('Database ready.', { database: 'postgres', server: where(url), schema: target });
  return {
    db,
    store: createKyselyStore(db, {
      dialect: 'postgres',
      countStretch: options.countStretch,
      progressLogIntervalMs: options.progressLogIntervalMs,
    }),
  };
}

/** Connects to the configured database, migrates it to the latest schema and returns the store. */
export async function connectStore(
  config: DatabaseConfig,
  logger: Logger,
  options: OpenOptions = {},
): Promise<OperationStore> {
  switch (config.kind) {
    case 'sqlite':
      return (await openSqlite(config.file, logger, options)).store;
    case 'postgres':
      return (await openPostgres(config.url, logger, options)).store;
  }
}
