import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Opens the app's SQLite file in `dataDir` read-write (so a crashed writer's WAL is recovered). */
export function openDb(dataDir: string): Database.Database {
  return new Database(join(dataDir, 'longrun.sqlite'));
}

/**
 * Opens a running server's SQLite file beside it (WAL lets both read and write; its locks are
 * waited out).
 */
export function openLiveDb(server: { dataDir: string }): Database.Database {
  const db = openDb(server.dataDir);
  db.pragma('busy_timeout = 5000');
  return db;
}
