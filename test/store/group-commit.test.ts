import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { OperationRecord } from '../../src/operations/model.js';
import { cancel, progress } from '../../src/operations/transitions.js';
import { openSqlite, type StatementObserver } from '../../src/store/connect.js';
import { MAX_BATCH } from '../../src/store/group-commit.js';
import { at, changed, claimFor, META, op } from './store-fixture.js';

const quiet = createLogger('error', () => {});
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function open(onStatement?: StatementObserver) {
  const dir = await mkdtemp(join(tmpdir(), 'longrun-group-commit-'));
  dirs.push(dir);
  return openSqlite(join(dir, 'longrun.sqlite'), quiet, { onStatement });
}

function sample(kind = 'demo.sleep'): OperationRecord {
  return op({ kind, input: { ms: 10 } }, new Date());
}

/** Settles each promise into what a test can compare: its value, or its error's code or message. */
function settle<T>(promise: Promise<T>) {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: { code?: string; message: string }) => ({
      ok: false as const,
      error: error.code ?? error.message,
    }),
  );
}

describe('SQLite group commit', () => {
  it('commits the writes asked for in one turn together, each caller hearing only after the commit', async () => {
    const seen: string[] = [];
    const { store } = await open(({ sql }) => {
      if (sql === 'begin immediate' || sql === 'commit') seen.push(sql);
    });
    const records = Array.from({ length: 10 }, () => sample());
    await Promise.all(
      records.map((record) => store.insert(record, new Date(0), META).then(() => seen.push('ok'))),
    );
    expect(seen).toEqual(['begin immediate', 'commit', ...records.map(() => 'ok')]);
    for (const record of records) expect(await store.get(record.id)).toEqual(record);
    await store.close();
  });

  it(`commits at most ${MAX_BATCH} logical transactions at once`, async () => {
    let commits = 0;
    const { store } = await open(({ sql }) => {
      if (sql === 'commit') commits++;
    });
    const records = Array.from({ length: MAX_BATCH * 2 + 1 }, () => sample());
    await Promise.all(records.map((record) => store.insert(record, new Date(0), META)));
    expect(commits).toBe(3);
    await store.close();
  });

  it('rolls back only the logical transaction that throws; the others of its batch commit', async () => {
    const { db, store } = await open();
    const [before, broken, after] = [sample(), sample(), sample()];
    // The log already holds the entry the broken insert writes after its row: it fails halfway.
    await db
      .insertInto('operation_events')
      .values({
        operation_id: broken.id,
        revision: 1,
        status: broken.status,
        progress: null,
        actor: 'test',
        reason: null,
        at: 0,
        message: null,
        error: null,
      })
      .execute();
    const results = await Promise.all(
      [before, broken, after].map((record) => settle(store.insert(record, new Date(0), META))),
    );
    expect(results).toEqual([
      { ok: true, value: { inserted: true, record: before } },
      { ok: false, error: 'SQLITE_CONSTRAINT_PRIMARYKEY' },
      { ok: true, value: { inserted: true, record: after } },
    ]);
    expect(await store.get(before.id)).toEqual(before);
    expect(await store.get(broken.id)).toBeNull();
    expect(await store.get(after.id)).toEqual(after);
    await store.close();
  });

  it('rejects every transaction of a batch whose commit fails, keeps none, and shows none to reads meanwhile', async () => {
    let readWhileOpen: Promise<OperationRecord | null> | null = null;
    const [first, poison, last] = [sample(), sample('poison'), sample()];
    const { db, store } = await open(({ sql, parameters }) => {
      // Right after the first insert's row is written, in its open batch.
      if (readWhileOpen === null && sql.startsWith('insert into "operations"')) {
        expect(parameters[0]).toBe(first.id);
        readWhileOpen = store.get(first.id);
      }
    });
    // A poison row breaks a deferred foreign key, which SQLite checks only at COMMIT.
    await sql`create table poison (operation_id text references operations (id) deferrable initially deferred)`.execute(
      db,
    );
    await sql`create trigger poison_row after insert on operations when new.kind = 'poison'
      begin insert into poison values ('no such operation'); end`.execute(db);

    const results = await Promise.all(
      [first, poison, last].map((record) => settle(store.insert(record, new Date(0), META))),
    );
    const failed = { ok: false, error: 'SQLITE_CONSTRAINT_FOREIGNKEY' };
    expect(results).toEqual([failed, failed, failed]);
    expect(readWhileOpen).not.toBeNull();
    expect(await readWhileOpen).toBeNull();
    for (const record of [first, poison, last]) expect(await store.get(record.id)).toBeNull();
    expect(await db.selectFrom('operation_events').selectAll().execute()).toEqual([]);

    // The connection is usable again.
    const next = sample();
    expect(await store.insert(next, new Date(0), META)).toEqual({ inserted: true, record: next });
    expect(await store.get(next.id)).toEqual(next);
    await store.close();
  });

  it('finishes the writes asked for before close', async () => {
    const file = await open();
    const records = Array.from({ length: 5 }, () => sample());
    const inserts = records.map((record) => file.store.insert(record, new Date(0), META));
    await file.store.close();
    expect(await Promise.all(inserts)).toEqual(
      records.map((record) => ({ inserted: true, record })),
    );
  });
});

describe('SQLite log writes', () => {
  it('logs a status change without reading the log when the writer gives the status it read; progress still reads it', async () => {
    const logReads: string[] = [];
    const { store } = await open(({ sql }) => {
      if (sql.startsWith('select') && sql.includes('from "operation_events"')) logReads.push(sql);
    });
    const pending = op();
    await store.insert(pending, new Date(0), META);
    const running = claimFor('w1')(pending) as OperationRecord;
    expect(await store.update(running, { revision: 1, status: 'PENDING' }, META)).toBe(true);
    expect(logReads).toEqual([]);
    const step = changed(progress(running, 0.5, null, at(200)));
    expect(await store.update(step, { revision: 2, status: 'RUNNING' }, META)).toBe(true);
    expect(logReads).toHaveLength(1);
    const cancelling = changed(cancel(step, 'alice', null, at(300)));
    expect(await store.update(cancelling, { revision: 3 }, META)).toBe(true);
    expect(logReads).toHaveLength(2);
    const log = await store.events(pending.id, 0, 10);
    expect(log.map((event) => [event.revision, event.state.status])).toEqual([
      [1, 'PENDING'],
      [2, 'RUNNING'],
      [3, 'RUNNING'],
      [4, 'CANCELLING'],
    ]);
    await store.close();
  });
});
