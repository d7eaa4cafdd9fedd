import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { UnavailableError } from '../../src/operations/errors.js';
import type { OperationRecord } from '../../src/operations/model.js';
import type { OperationStore } from '../../src/operations/ports.js';
import { claim } from '../../src/operations/transitions.js';
import { connectStore, openPostgres, type StoreConnection } from '../../src/store/connect.js';
import type { Database } from '../../src/store/database.js';
import { POSTGRES_SKIP_REASON, sayWhySkipped, TEST_DATABASE_URL } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { checkLegacyLogMigrates } from './legacy-log.js';
import { describeStoreSuite } from './store.suite.js';
import { at, claimUntilNone, DAY, META, op } from './store-fixture.js';

// Runs only against a real server: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test.
// Every test works in a fresh schema of its own and drops it afterwards.
const url = TEST_DATABASE_URL;
const quiet = createLogger('error', () => {});

let admin: pg.Pool;
const schemas: string[] = [];
const opened: StoreConnection[] = [];

function freshSchema(): string {
  const schema = `longrun_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  schemas.push(schema);
  return schema;
}

async function open(
  schema: string,
  logger = quiet,
  connectionUrl = url as string,
  options: { countStretch?: number } = {},
): Promise<StoreConnection> {
  const connection = await openPostgres(connectionUrl, logger, { schema, ...options });
  opened.push(connection);
  return connection;
}

async function dropAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((connection) => connection.store.close()));
  for (const schema of schemas.splice(0)) {
    await admin.query(`drop schema if exists ${schema} cascade`);
  }
}

/** A logger that keeps every line, for waiting on what the pool reports. */
function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const logger = createLogger('debug', (line) => lines.push(JSON.parse(line)));
  return { logger, lines };
}

const claimAll = (pending: OperationRecord) => {
  const outcome = claim(pending, { owner: 'w1', expiresAt: at(60_000) }, at(1));
  return outcome.kind === 'changed' ? outcome.next : null;
};

sayWhySkipped(POSTGRES_SKIP_REASON, 'PostgreSQL store');
describe.skipIf(!url)('PostgreSQL store (skipped: set TEST_DATABASE_URL to run it)', () => {
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
  });
  afterEach(dropAll);
  afterAll(async () => {
    await dropAll();
    await admin.end();
  });

  describeStoreSuite('contract', async () => {
    const schema = freshSchema();
    // Counts go through several stretches even on the suites' few rows.
    const { store } = await open(schema, quiet, url, { countStretch: 3 });
    return {
      store,
      otherConnection: async (owners) => {
        const { store: second } = await open(schema);
        return {
          claimAll: async () =>
            (await Promise.all(owners.map((owner) => claimUntilNone(second, owner)))).flat(),
        };
      },
      // afterEach above closes every store and drops the schema.
      cleanup: async () => {},
    };
  });

  describe('connection', () => {
    it('sets the pool settings on every connection', async () => {
      const schema = freshSchema();
      const { db } = await open(schema);
      const settings = await sql<Record<string, string>>`
        select current_setting('statement_timeout') as statement_timeout,
               current_setting('application_name') as application_name,
               current_setting('search_path') as search_path`.execute(db);
      expect(settings.rows[0]).toEqual({
        statement_timeout: '10s',
        application_name: 'longrun',
        search_path: schema,
      });
    });

    it('creates the tables with the intended column types', async () => {
      const schema = freshSchema();
      await open(schema);
      const { rows } = await admin.query<{ table_name: string; column_name: string; type: string }>(
        `select table_name, column_name, data_type as type from information_schema.columns
          where table_schema = $1 and table_name in ('operations', 'operation_events')
            and column_name in ('id', 'created_at', 'progress', 'revision', 'input', 'at', 'state',
              'message', 'error', 'retry_of')
          order by table_name, column_name`,
        [schema],
      );
      expect(rows.map((r) => `${r.table_name}.${r.column_name}: ${r.type}`)).toEqual([
        'operation_events.at: bigint',
        'operation_events.error: text',
        'operation_events.message: text',
        'operation_events.progress: double precision',
        'operation_events.revision: integer',
        'operations.created_at: bigint',
        'operations.error: text',
        'operations.id: text',
        'operations.input: text',
        'operations.message: text',
        'operations.progress: double precision',
        'operations.retry_of: text',
        'operations.revision: integer',
      ]);
    });

    it('lets two stores migrate one empty schema at once', async () => {
      const schema = freshSchema();
      const [one, two] = await Promise.all([open(schema), open(schema)]);
      const record = op();
      await one.store.insert(record, at(-DAY), META);
      expect(await two.store.get(record.id)).toEqual(record);
      const { rows } = await admin.query(
        `select name from ${schema}.kysely_migration order by name`,
      );
      expect(rows.map((row) => row.name)).toEqual([
        '0001_operations',
        '0002_operation_events',
        '0003_retry_of',
        '0004_operation_event_changes',
        '0005_owner_quota_idx',
        '0006_kind_idx',
        '0007_owner_starts',
      ]);
    });

    it('adds retry_of to a schema from before migration 0003: earlier rows and logged states read no retryOf', async () => {
      const schema = freshSchema();
      const first = await open(schema);
      const before = op();
      await first.store.insert(before, at(-DAY), META);
      // Back to the schema as 0002 left it: no column, 0003 not applied (the log holds no states).
      await admin.query(`alter table ${schema}.operations drop column retry_of`);
      await admin.query(`delete from ${schema}.kysely_migration where name = '0003_retry_of'`);
      await first.store.close();

      const { store } = await open(schema);
      expect(await store.get(before.id)).toEqual(before);
      expect((await store.events(before.id, 0, 10)).map((event) => event.state)).toEqual([before]);
      const retry = op({ retryOf: before.id });
      await store.insert(retry, at(-DAY), META);
      expect(await store.get(retry.id)).toEqual(retry);
      expect((await store.events(retry.id, 0, 10)).map((event) => event.state)).toEqual([retry]);
    });

    it('keeps a log written with whole states: entries keep their message and error, states go', async () => {
      const schema = freshSchema();
      await admin.query(`create schema ${schema}`);
      const db = new Kysely<Database>({
        dialect: new PostgresDialect({
          pool: new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${schema}` }),
        }),
      });
      try {
        await checkLegacyLogMigrates(db, 'postgres', { migrationTableSchema: schema });
      } finally {
        await db.destroy();
      }
    });

    it('migrates a schema while another schema already holds migrated tables', async () => {
      // Kysely looks for its bookkeeping tables in every schema unless told which one is ours.
      await open(freshSchema());
      const { store } = await open(freshSchema());
      const record = op();
      await store.insert(record, at(-DAY), META);
      expect(await store.get(record.id)).toEqual(record);
    });

    it('connects through connectStore in the search_path of the URL', async () => {
      const schema = freshSchema();
      await admin.query(`create schema ${schema}`);
      const withPath = new URL(url as string);
      withPath.searchParams.set('options', `-c search_path=${schema}`);
      const store = await connectStore({ kind: 'postgres', url: withPath.href }, quiet);
      try {
        await store.insert(op(), at(-DAY), META);
        const { rows } = await admin.query(`select count(*)::int as n from ${schema}.operations`);
        expect(rows[0].n).toBe(1);
      } finally {
        await store.close();
      }
    });

    it('refuses a search_path without any existing schema, clearly', async () => {
      const missing = new URL(url as string);
      missing.searchParams.set('options', '-c search_path=longrun_no_such_schema');
      await expect(connectStore({ kind: 'postgres', url: missing.href }, quiet)).rejects.toThrow(
        /Cannot open the PostgreSQL database at .*: no schema in its search_path exists/,
      );
    });

    it('survives a backend terminated while idle; the next call succeeds', async () => {
      const { logger, lines } = recordingLogger();
      const { db, store } = await open(freshSchema(), logger);
      const record = op();
      await store.insert(record, at(-DAY), META);
      // One call at a time: the pool holds exactly one connection, now idle.
      const { rows: mine } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
      const { rows } = await admin.query(
        `select pg_terminate_backend(pid) as killed from pg_stat_activity
          where application_name = 'longrun' and pid <> pg_backend_pid() and pid = $1`,
        [mine[0]?.pid],
      );
      expect(rows).toEqual([{ killed: true }]);
      await waitFor(
        () => lines.some((line) => line.message.includes('idle PostgreSQL connection was lost')),
        'the pool to report the lost connection',
      );
      expect(await store.get(record.id)).toEqual(record);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('survives a backend terminated inside a transaction', async () => {
      const { logger, lines } = recordingLogger();
      const { db, store } = await open(freshSchema(), logger);
      const failed = db.transaction().execute(async (tx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
        await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
        await waitFor(
          () => lines.some((line) => line.message.includes('connection failed')),
          'the client to report the lost connection',
        );
        await sql`select 1`.execute(tx);
      });
      await expect(failed).rejects.toThrow('not queryable');
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('rejects with UnavailableError while the database is unreachable, and works again after', async () => {
      const relay = await startTcpProxy(url as string);
      try {
        const through = new URL(url as string);
        through.port = new URL(relay.url).port;
        const { store } = await open(freshSchema(), quiet, through.toString());
        const record = op();
        await store.insert(record, at(-DAY), META);

        relay.cut();
        const failures = await Promise.all(
          [store.get(record.id), store.insert(op(), at(-DAY), META), store.ping()].map((call) =>
            call.then(
              () => null,
              (error: unknown) => error,
            ),
          ),
        );
        for (const failure of failures) {
          expect(failure).toBeInstanceOf(UnavailableError);
          expect(failure).toMatchObject({
            service: 'database',
            message: 'The database is unavailable.',
          });
          expect((failure as Error).cause).toBeInstanceOf(Error);
        }

        relay.restore();
        await waitFor(
          () =>
            store.ping().then(
              () => true,
              () => false,
            ),
          'the store to reach the database again',
        );
        expect(await store.get(record.id)).toEqual(record);
      } finally {
        await relay.close();
      }
    });

    it('skips a pending operation another transaction holds instead of waiting', async () => {
      const schema = freshSchema();
      const { store } = await open(schema);
      const older = op({}, at(0));
      const newer = op({}, at(1));
      await store.insert(older, at(-DAY), META);
      await store.insert(newer, at(-DAY), META);
      const holder = await admin.connect();
      try {
        await holder.query('begin');
        await holder.query(`select id from ${schema}.operations where id = $1 for update`, [
          older.id,
        ]);
        const claimed = await store.claimPending(2, claimAll, META);
        expect(claimed.map((o) => o.id)).toEqual([newer.id]);
        await holder.query('rollback');
      } finally {
        holder.release();
      }
      const later = await store.claimPending(2, claimAll, META);
      expect(later.map((o) => o.id)).toEqual([older.id]);
    });
  });
});

describe('PostgreSQL connection errors', () => {
  it('refuses an unreachable server with a clear error and no credentials', async () => {
    let store: OperationStore | undefined;
    const attempt = connectStore(
      { kind: 'postgres', url: 'postgres://someone:secret@127.0.0.1:1/longrun' },
      quiet,
    ).then((opened) => {
      store = opened;
    });
    await expect(attempt).rejects.toThrow(
      /^Cannot open the PostgreSQL database at 127\.0\.0\.1:1\/longrun: /,
    );
    await expect(attempt).rejects.not.toThrow(/secret/);
    await store?.close();
  });

  it('rejects a schema name it would have to quote', async () => {
    await expect(
      openPostgres('postgres://127.0.0.1:1/longrun', quiet, { schema: 'Robert"; drop' }),
    ).rejects.toThrow('Invalid PostgreSQL schema name');
  });
});
