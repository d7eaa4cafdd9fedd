import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type KyselyPlugin, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { create } from '../../src/operations/transitions.js';
import { connectStore, openSqlite } from '../../src/store/connect.js';
import type { Database } from '../../src/store/database.js';
import { createKyselyStore } from '../../src/store/kysely-store.js';
import { within } from '../helpers/wait.js';
import { checkLegacyLogMigrates } from './legacy-log.js';
import { describeStoreSuite } from './store.suite.js';
import { type Claimed, META, type OtherConnection } from './store-fixture.js';

const quiet = createLogger('error', () => {});
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'longrun-store-'));
  dirs.push(dir);
  return dir;
}

async function pragma(db: Kysely<Database>, name: string): Promise<unknown> {
  const { rows } = await sql<Record<string, unknown>>`pragma ${sql.raw(name)}`.execute(db);
  return Object.values(rows[0] ?? {})[0];
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * Claimers for `owners` in another process on the SQLite `file` (test/store/sqlite-claimer.ts),
 * once it has opened the file.
 */
async function claimerProcess(file: string, owners: readonly string[]): Promise<OtherConnection> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'sqlite-claimer.ts'), file, ...owners],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.add(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = once(child, 'exit');
  const nextLine = async (what: string) => {
    const line = await lines.next();
    if (line.done) throw new Error(`the claimer process exited before ${what}: ${await exited}`);
    return line.value;
  };
  expect(
    await within(nextLine('it was ready'), 'the claimer process to open the file', 60_000),
  ).toBe('ready');
  return {
    async claimAll() {
      child.stdin.end('go\n');
      const claimed = JSON.parse(await nextLine('it reported its claims')) as Claimed[];
      expect(await exited).toEqual([0, null]);
      return claimed;
    },
  };
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
});

describeStoreSuite('SQLite store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'longrun-store-'));
  const file = join(dir, 'longrun.sqlite');
  // Counts go through several stretches even on the suites' few rows.
  const { store } = await openSqlite(file, quiet, { countStretch: 3 });
  return {
    store,
    otherConnection: (owners) => claimerProcess(file, owners),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite connection', () => {
  const sample = () =>
    create(
      {
        id: randomUUID(),
        kind: 'demo.sleep',
        ownerId: 'alice',
        input: { ms: 10 },
        idempotencyKey: null,
        timeoutMs: null,
        retryOf: null,
      },
      new Date(),
    );

  it('creates the data directory on first run', async () => {
    const file = join(await tempDir(), 'data', 'nested', 'longrun.sqlite');
    const store = await connectStore({ kind: 'sqlite', file }, quiet);
    await store.close();
    expect(existsSync(dirname(file))).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  it('keeps the rows across a reopen of the same file', async () => {
    const file = join(await tempDir(), 'longrun.sqlite');
    const record = sample();
    const first = await connectStore({ kind: 'sqlite', file }, quiet);
    await first.insert(record, new Date(0), META);
    await first.close();
    const second = await connectStore({ kind: 'sqlite', file }, quiet);
    expect(await second.get(record.id)).toEqual(record);
    await second.close();
  });

  it('uses WAL with the documented pragmas and stays intact', async () => {
    const { db, store } = await openSqlite(join(await tempDir(), 'longrun.sqlite'), quiet);
    await store.insert(sample(), new Date(0), META);
    expect(await pragma(db, 'journal_mode')).toBe('wal');
    expect(await pragma(db, 'synchronous')).toBe(1); // NORMAL
    expect(await pragma(db, 'busy_timeout')).toBe(5000);
    expect(await pragma(db, 'foreign_keys')).toBe(1);
    expect(await pragma(db, 'integrity_check')).toBe('ok');
    await store.close();
  });

  it('adds retry_of to a file from before migration 0003: earlier rows and logged states read no retryOf', async () => {
    const file = join(await tempDir(), 'longrun.sqlite');
    const before = sample();
    const first = await openSqlite(file, quiet);
    await first.store.insert(before, new Date(0), META);
    // Back to the file as 0002 left it: no column, 0003 not applied (the log holds no states).
    await sql`alter table operations drop column retry_of`.execute(first.db);
    await sql`delete from kysely_migration where name = '0003_retry_of'`.execute(first.db);
    await first.store.close();

    const { store } = await openSqlite(file, quiet);
    expect(await store.get(before.id)).toEqual(before);
    expect((await store.events(before.id, 0, 10)).map((event) => event.state)).toEqual([before]);
    const retry = { ...sample(), retryOf: before.id };
    await store.insert(retry, new Date(0), META);
    expect(await store.get(retry.id)).toEqual(retry);
    expect((await store.events(retry.id, 0, 10)).map((event) => event.state)).toEqual([retry]);
    await store.close();
  });

  it('reads an operation with exactly one query, found or not', async () => {
    let queries = 0;
    const { store } = await openSqlite(join(await tempDir(), 'longrun.sqlite'), quiet, {
      onStatement: () => {
        queries++;
      },
    });
    const record = sample();
    await store.insert(record, new Date(0), META);
    queries = 0;
    expect(await store.get(record.id)).toEqual(record);
    expect(queries).toBe(1);
    expect(await store.get(randomUUID())).toBeNull();
    expect(queries).toBe(2);
    await store.close();
  });

  it('counts in statements that each go through a bounded stretch of rows, yielding between them', async () => {
    const { db, store } = await openSqlite(join(await tempDir(), 'longrun.sqlite'), quiet);
    for (let i = 0; i < 10; i++) {
      await store.insert({ ...sample(), ownerId: i % 2 ? 'alice' : 'bob' }, new Date(0), META);
    }
    const statements: string[] = [];
    const counter: KyselyPlugin = {
      transformQuery: (args) => {
        statements.push(args.node.kind);
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const counted = createKyselyStore(db.withPlugin(counter), {
      dialect: 'sqlite',
      countStretch: 3,
    });
    // Turns of the event loop while it counts: none without a yield (SQLite answers at once).
    let turns = 0;
    let ticking = setImmediate(function tick() {
      turns++;
      ticking = setImmediate(tick);
    });
    expect(await counted.count({})).toBe(10);
    clearImmediate(ticking);
    expect(turns).toBeGreaterThanOrEqual(3);
    // Stretches end after rows 3, 6 and 9; each is a boundary lookup and a count.
    expect(statements).toHaveLength(8);
    expect(await counted.count({ ownerId: 'alice' })).toBe(5);
    await store.close();
  });

  it('keeps a log written with whole states: entries keep their message and error, states go', async () => {
    const sqlite = new BetterSqlite3(join(await tempDir(), 'longrun.sqlite'));
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    try {
      await checkLegacyLogMigrates(db, 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('refuses a file that is not a database with a clear error', async () => {
    const file = join(await tempDir(), 'longrun.sqlite');
    await writeFile(file, 'this is not a database, just some text that fills a page '.repeat(100));
    await expect(connectStore({ kind: 'sqlite', file }, quiet)).rejects.toThrow(
      /SQLite database at .*longrun\.sqlite/,
    );
  });
});
