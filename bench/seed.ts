/**
 * Fills the store of `npm run bench -- listing` straight through SQLite: rows as the server writes
 * them (the project's own ids and column set), without a request each, so that a million
 * operations take seconds. The file must already hold the schema (the server migrates it on its
 * first start).
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { newOperationId } from '../src/operations/new-id.js';

/** Owners of the seeded operations; the bench's own user is the first. */
export const SEED_OWNERS = 10;

/** One in this many seeded operations has the rare kind (`RARE_KIND`). */
export const RARE_KIND_EVERY = 1_000;
export const RARE_KIND = 'report.export';

/** What a seeded store holds: the key of a row deep in it, for a cursor that reaches it. */
export interface Seeded {
  /** The row half-way down the newest-first order of every owner's operations. */
  readonly deepAll: { readonly createdAt: Date; readonly id: string };
  /** The row half-way down the newest-first order of `owner`'s operations. */
  readonly deepOwn: { readonly createdAt: Date; readonly id: string };
}

/**
 * Writes `count` finished operations into the SQLite file at `file`, created over the past six
 * days (inside the default retention), owner `i % SEED_OWNERS` of `owners` (the first is `owner`):
 * 97% SUCCEEDED, 2% FAILED, 1% CANCELLED, each with a revision-3 history as if it had run.
 */
export function seedOperations(file: string, count: number, owner: string): Seeded {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // A bench store: nothing to lose if the machine stops half-way.
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const insert = db.prepare(`insert into operations (
      id, kind, status, progress, message, owner_id, input, result, error, idempotency_key,
      timeout_ms, created_at, updated_at, started_at, finished_at, cancel_requested_at,
      cancelled_by, cancel_reason, revision, lease_owner, lease_expires_at, retry_of)
    values (?, ?, ?, ?, null, ?, ?, ?, ?, null, null, ?, ?, ?, ?, ?, ?, null, ?, null, null, null)`);
  const span = 6 * 24 * 3600 * 1000;
  const from = Date.now() - span - 60_000;
  const step = span / count;
  const ownerOf = (i: number) => (i % SEED_OWNERS === 0 ? owner : `seed-owner-${i % SEED_OWNERS}`);
  const ownCount = Math.ceil(count / SEED_OWNERS);
  let deepAll: Seeded['deepAll'] | null = null;
  let deepOwn: Seeded['deepOwn'] | null = null;
  // The indexes are made again once the rows are in: one sort each instead of a million inserts
  // into each of them. Their definitions are the server's own, read back from the schema.
  const indexes = db
    .prepare(
      "select name, sql from sqlite_master where type = 'index' and tbl_name = 'operations' and sql is not null",
    )
    .all() as { name: string; sql: string }[];
  for (const { name } of indexes) db.exec(`drop index "${name}"`);
  const batch = db.transaction((start: number, end: number) => {
    for (let i = start; i < end; i++) {
      const createdAt = Math.floor(from + i * step);
      const id = newOperationId(createdAt);
      const failed = i % 50 === 7;
      const cancelled = i % 100 === 3;
      const status = failed ? 'FAILED' : cancelled ? 'CANCELLED' : 'SUCCEEDED';
      const finishedAt = createdAt + 1_000;
      insert.run(
        id,
        i % RARE_KIND_EVERY === 5 ? RARE_KIND : 'demo.sleep',
        status,
        failed || cancelled ? 0.5 : 1,
        ownerOf(i),
        '{"ms":1000,"steps":10}',
        status === 'SUCCEEDED' ? '{"slept":1000}' : null,
        failed ? '{"code":"HANDLER_ERROR","message":"seeded failure"}' : null,
        createdAt,
        finishedAt,
        createdAt + 5,
        finishedAt,
        cancelled ? finishedAt - 100 : null,
        cancelled ? `user:${ownerOf(i)}` : null,
        3,
      );
      // Newest first, the middle of everything is row count/2 from the end; of the owner's, the
      // owner's row ownCount/2 from its end.
      if (i === count - Math.floor(count / 2)) deepAll = { createdAt: new Date(createdAt), id };
      if (
        ownerOf(i) === owner &&
        Math.floor(i / SEED_OWNERS) === ownCount - Math.floor(ownCount / 2)
      ) {
        deepOwn = { createdAt: new Date(createdAt), id };
      }
    }
  });
  for (let start = 0; start < count; start += 50_000) batch(start, Math.min(count, start + 50_000));
  for (const { sql } of indexes) db.exec(sql);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  // On disk before the server starts: the kernel writing hundreds of MB back while pages are
  // timed would be measured as the server's.
  const fd = openSync(file, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  if (deepAll === null || deepOwn === null) throw new Error(`seeding ${count} found no deep rows`);
  return { deepAll, deepOwn };
}
