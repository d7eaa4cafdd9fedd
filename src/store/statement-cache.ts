import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Distinct SQL texts kept prepared; the store issues a few dozen, so the bound is never reached. */
const MAX_STATEMENTS = 500;

/**
 * The database as Kysely's SQLite driver sees it, with each SQL text prepared once: the driver
 * calls `prepare` for every query, and preparing is a good part of a small write's cost. A
 * statement is reused only after its previous run has returned (Kysely runs one query at a time
 * on its single connection), so sharing it is safe.
 */
export function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      statements.clear();
      sqlite.close();
    },
    prepare: (sql: string) => {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = sqlite.prepare(sql);
        if (statements.size >= MAX_STATEMENTS) {
          const oldest = statements.keys().next().value;
          if (oldest !== undefined) statements.delete(oldest);
        }
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
