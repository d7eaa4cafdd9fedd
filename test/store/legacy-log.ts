import { type Kysely, Migrator } from 'kysely';
import { expect } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { OperationRecord } from '../../src/operations/model.js';
import {
  cancel,
  claim,
  handlerStopped,
  progress,
  succeed,
} from '../../src/operations/transitions.js';
import type { Database, OperationEventsTable } from '../../src/store/database.js';
import { createKyselyStore, type StoreDialect } from '../../src/store/kysely-store.js';
import { type MigrateOptions, migrateToLatest, migrations } from '../../src/store/migrations.js';
import { toMs, toRow } from '../../src/store/store-rows.js';
import { at, changed, lease, op, type Step } from './store-fixture.js';

/** `operation_events` as migration 0002 made it: every row with the whole state as JSON. */
interface LegacyDatabase {
  operations: Omit<Database['operations'], 'retry_of'>;
  operation_events: Omit<OperationEventsTable, 'message' | 'error'> & { state: string };
}

/** The `operations` row of `record` as migration 0002 knew it (no `retry_of` yet). */
function rowAt0002(record: OperationRecord) {
  const { retry_of: _retryOf, ...row } = toRow(record);
  return row;
}

const LIFECYCLES: Step[][] = [
  [
    (o) => claim(o, lease('w1'), at(1)),
    (o) => progress(o, 0.5, 'half', at(2)),
    (o) => cancel(o, 'bob', 'no longer needed', at(3)),
    (o) => progress(o, 0.75, 'winding down', at(4)),
    (o) => handlerStopped(o, { cause: 'error', message: 'stopped' }, at(5)),
  ],
  [
    (o) => claim(o, lease('w1'), at(1)),
    (o) => progress(o, 0.25, 'a quarter', at(2)),
    (o) => progress(o, 0.5, null, at(3)),
    (o) => succeed(o, { slept: 5, list: [1, 'two'] }, at(4)),
  ],
  [(o) => claim(o, lease('w1'), at(1)), (o) => progress(o, 0.1, 'still going', at(2))],
];

/**
 * Migrates the fresh database `db` as far as 0002, writes three operations' logs as they were
 * written then (whole states), migrates it to the latest, and checks that the store reads every
 * logged revision back with the same state (leases aside) and that no state is stored any more.
 */
export async function checkLegacyLogMigrates(
  db: Kysely<Database>,
  dialect: StoreDialect,
  options: MigrateOptions = {},
): Promise<void> {
  const early = Object.fromEntries(
    Object.entries(migrations).filter(([name]) => name <= '0002_operation_events'),
  );
  const migrator = new Migrator({ db, provider: { getMigrations: async () => early }, ...options });
  const { error } = await migrator.migrateToLatest();
  expect(error).toBeUndefined();
  const legacy = db as unknown as Kysely<LegacyDatabase>;
  const written: OperationRecord[][] = [];
  for (const steps of LIFECYCLES) {
    const states = [op({ input: { nested: ['ünïcode', 1.5] } })];
    for (const step of steps) states.push(changed(step(states.at(-1) as OperationRecord)));
    const last = states.at(-1) as OperationRecord;
    await legacy.insertInto('operations').values(rowAt0002(last)).execute();
    await legacy
      .insertInto('operation_events')
      .values(
        states.map((state) => ({
          operation_id: state.id,
          revision: state.revision,
          status: state.status,
          progress: state.progress,
          actor: 'worker:w1',
          reason: null,
          at: toMs(state.updatedAt),
          state: JSON.stringify(rowAt0002(state)),
        })),
      )
      .execute();
    written.push(states);
  }

  await migrateToLatest(
    db,
    createLogger('error', () => {}),
  );
  const store = createKyselyStore(db, { dialect });
  const unleased = ({ lease: _lease, ...rest }: OperationRecord) => rest;
  for (const states of written) {
    const id = (states[0] as OperationRecord).id;
    const events = await store.events(id, 0, 100);
    expect(events.map((event) => unleased(event.state))).toEqual(states.map(unleased));
  }
  const columns = (await db.introspection.getTables())
    .find((table) => table.name === 'operation_events')
    ?.columns.map((column) => column.name)
    .sort();
  expect(columns).toEqual([
    'actor',
    'at',
    'error',
    'message',
    'operation_id',
    'progress',
    'reason',
    'revision',
    'status',
  ]);
}
