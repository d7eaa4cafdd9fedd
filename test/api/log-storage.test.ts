import { statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { defineHandler } from '../../src/handlers/handler.js';
import { mapOps, OPERATION_SELECTION, type Op, userClient, wsClient } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const STEPS = 10_000;
const OPERATIONS = 8;
const MB = 1_048_576;

/** A kind that reports progress `STEPS` times as fast as the server takes it. */
const flood = defineHandler({
  kind: 'test.flood',
  parseInput: () => null,
  async run(_input, { progress }) {
    for (let i = 1; i <= STEPS; i++) await progress(i / STEPS, `step ${i} of ${STEPS}`);
    return { steps: STEPS };
  },
});

/** The bytes of the SQLite file and its WAL once the WAL is checkpointed into the file. */
async function checkpointedBytes(file: string): Promise<number> {
  const sqlite = new BetterSqlite3(file);
  try {
    // A checkpoint cannot finish while a reader holds an older snapshot: try again.
    await waitFor(
      () => (sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy === 0,
      'a complete WAL checkpoint',
    );
  } finally {
    sqlite.close();
  }
  const size = (path: string) => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  return size(file) + size(`${file}-wal`);
}

const WATCH_ALL = `subscription { operationsUpdated { id status revision } }`;
const WATCH_ONE = `subscription($id: ID!, $after: Int) {
  operationUpdated(id: $id, afterRevision: $after) { ${OPERATION_SELECTION} } }`;
const EVENTS = `query($id: ID!, $after: String) { operation(id: $id) {
  events(first: 100, after: $after) { edges { node { revision status progress actor } }
    pageInfo { hasNextPage endCursor } } } }`;

interface Entry {
  revision: number;
  status: string;
  progress: number | null;
  actor: string;
}

interface EventPage {
  edges: Array<{ node: Entry }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

describe('the transition log in storage', () => {
  it(`stays small: ${OPERATIONS} operations of ${STEPS} progress reports at full speed add under 20 MB, every status change still seen`, async () => {
    const server = await startTestServer(
      { MAX_CONCURRENT_RUNS: String(OPERATIONS) },
      {
        handlers: [flood],
      },
    );
    const file = join(server.dataDir, 'longrun.sqlite');
    const before = await checkpointedBytes(file);
    const admin = userClient(server, 'admin', { admin: true });
    const watching = wsClient(server.wsUrl, admin.token).subscribe(WATCH_ALL);
    // graphql-ws does not say when a subscription is live; the server's gauge does.
    await waitFor(() => server.app.gauges().streams === 1, 'the dashboard feed to be live');

    const started: Op[] = [];
    for (let i = 0; i < OPERATIONS; i++) {
      started.push(await userClient(server, `user${i}`).start({ kind: 'test.flood' }));
    }
    const statuses = new Map<string, string[]>(started.map((op) => [op.id, []]));
    const updates = mapOps(watching.results, 'operationsUpdated');
    let succeeded = 0;
    while (succeeded < OPERATIONS) {
      const update = await updates.next(120_000);
      const seen = statuses.get(update.id);
      if (seen === undefined) continue;
      if (seen.at(-1) !== update.status) seen.push(update.status);
      if (update.status === 'SUCCEEDED') succeeded++;
    }
    for (const seen of statuses.values()) {
      expect(seen.filter((status) => status !== 'PENDING')).toEqual(['RUNNING', 'SUCCEEDED']);
    }
    watching.unsubscribe();

    const grown = (await checkpointedBytes(file)) - before;
    expect(grown).toBeLessThan(20 * MB);

    // The log still has every status change, and its last progress entry is the last report.
    const [op] = started as [Op];
    const log: Entry[] = [];
    let after: string | null = null;
    do {
      const r: { body: { data?: { operation: { events: EventPage } } | null } } = await admin.gql<{
        operation: { events: EventPage };
      }>(EVENTS, { id: op.id, after });
      const page = r.body.data?.operation.events;
      if (!page) throw new Error(JSON.stringify(r.body));
      log.push(...page.edges.map((edge) => edge.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after !== null);
    const changes = log.filter((entry, i) => entry.status !== log[i - 1]?.status);
    expect(changes.map((entry) => [entry.revision, entry.status])).toEqual([
      [1, 'PENDING'],
      [2, 'RUNNING'],
      [STEPS + 3, 'SUCCEEDED'],
    ]);
    expect(log.length).toBeLessThan(STEPS / 2);
    expect(log.at(-2)).toMatchObject({ revision: STEPS + 2, status: 'RUNNING', progress: 1 });

    // A replay from the start gives whole states, in order, ending with the final one.
    const replay = wsClient(server.wsUrl, admin.token).subscribe(WATCH_ONE, {
      id: op.id,
      after: 0,
    });
    const replayed = await mapOps(replay.results, 'operationUpdated').rest();
    const final = await admin.get(op.id);
    // A reader slower than the replay may have progress coalesced, never a status change.
    const logged = new Set(log.map((entry) => entry.revision));
    const revisions = replayed.map((state) => state.revision);
    expect(revisions.every((revision) => logged.has(revision))).toBe(true);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(replayed.map((state) => state.status).filter((s, i, all) => s !== all[i - 1])).toEqual([
      'PENDING',
      'RUNNING',
      'SUCCEEDED',
    ]);
    expect(replayed.at(-1)).toEqual(final);
    for (const state of replayed) {
      expect(state).toMatchObject({ id: op.id, kind: 'test.flood', ownerId: 'user0', input: null });
      expect(state.result).toEqual(state.status === 'SUCCEEDED' ? { steps: STEPS } : null);
    }
    expect(replayed.find((state) => state.revision > 2)).toMatchObject({
      status: 'RUNNING',
      startedAt: final?.startedAt,
      finishedAt: null,
      message: expect.stringMatching(/^step \d+ of 10000$/),
    });
  }, 600_000);
});
