import { describe, expect, it } from 'vitest';
import { LOG_BATCH } from '../../src/operations/log-pages.js';
import { sse, type UserClient, userClient } from '../helpers/clients.js';
import { startControlled } from '../helpers/controlled.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';

/** A statement the store ran, as Kysely reported it. */
interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** Revisions of a `demo.sleep` of 2 steps: PENDING, RUNNING, 2 progress reports, SUCCEEDED. */
const REVISIONS = [1, 2, 3, 4, 5];

/** A server recording its SQL, with `count` done operations of alice's, every report logged. */
async function seeded(count: number, env: Record<string, string> = {}) {
  const statements: Statement[] = [];
  const server = await startTestServer(
    { ...FAST, LOG_PROGRESS_INTERVAL_MS: '0', ...env },
    { onStatement: (s) => statements.push(s) },
  );
  const alice = userClient(server, 'alice');
  const ids: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const started = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, () =>
        alice.start({ kind: 'demo.sleep', input: { ms: 2, steps: 2 } }),
      ),
    );
    for (const op of started) ids.push((await doneState(alice, op.id)).id);
  }
  statements.length = 0;
  /** The statements that read the transition log since the last call. */
  const logReads = () => statements.splice(0).filter((s) => /"operation_events"/.test(s.sql));
  return { server, alice, logReads, ids };
}

interface EventsPage {
  edges: Array<{ cursor: string; node: { revision: number; status: string } }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean };
}

async function listWithEvents(
  alice: UserClient,
  first: number,
  selection: string,
  variables: Record<string, unknown> = {},
) {
  const r = await alice.gql<{
    operations: { edges: Array<{ node: { id: string } & Record<string, EventsPage> }> };
  }>(
    `query${'after' in variables ? '($after: String)' : ''} {
      operations(first: ${first}) { edges { node { id ${selection} } } } }`,
    variables,
  );
  expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
  return r.body.data?.operations.edges.map((edge) => edge.node) ?? [];
}

const revisions = (page: EventsPage | undefined) => page?.edges.map((e) => e.node.revision);

describe('Operation.events on a page of operations', () => {
  it('is read in one statement, not one per operation', async () => {
    const { alice, logReads, ids } = await seeded(30);
    const nodes = await listWithEvents(
      alice,
      30,
      'events(first: 3) { edges { cursor node { revision status } } pageInfo { hasNextPage hasPreviousPage } }',
    );
    expect(logReads()).toHaveLength(1);
    expect(nodes.map((n) => n.id).sort()).toEqual([...ids].sort());
    for (const node of nodes) {
      expect(revisions(node.events)).toEqual(REVISIONS.slice(0, 3));
      expect(node.events?.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false });
    }

    // Pages that differ per alias, after a cursor, all in that one statement too.
    const cursor = nodes[0]?.events?.edges[1]?.cursor;
    const both = await listWithEvents(
      alice,
      30,
      `head: events(first: 2) { edges { node { revision } } }
       tail: events(first: 10, after: $after) { edges { node { revision } } pageInfo { hasNextPage hasPreviousPage } }
       again: events(first: 2) { edges { node { revision } } }`,
      { after: cursor },
    );
    expect(logReads()).toHaveLength(1);
    for (const node of both) {
      expect(revisions(node.head)).toEqual([1, 2]);
      expect(revisions(node.again)).toEqual([1, 2]);
      expect(revisions(node.tail)).toEqual([3, 4, 5]);
      expect(node.tail?.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true });
    }
  });

  it(`reads in statements of at most ${LOG_BATCH.maxRows} entries when a request asks for more`, async () => {
    const { alice, logReads } = await seeded(30, { MAX_QUERY_COST: '100000' });
    const nodes = await listWithEvents(
      alice,
      30,
      'events(first: 100) { edges { node { revision } } }',
    );
    // Each page asks for 101 entries (one more tells whether there is a next page).
    const pagesPerStatement = Math.floor(LOG_BATCH.maxRows / 101);
    expect(logReads()).toHaveLength(Math.ceil(30 / pagesPerStatement));
    expect(nodes).toHaveLength(30);
    for (const node of nodes) expect(revisions(node.events)).toEqual(REVISIONS);
  });

  it('is read afresh for each event of a subscription, never from an earlier read', async () => {
    const { server, alice, op, run } = await startControlled();
    const watch = await sse(
      server.url,
      alice.token,
      `subscription($id: ID!) { operationUpdated(id: $id) {
        revision events(first: 10) { edges { node { revision } } } } }`,
      { id: op.id },
    );
    const update = async () =>
      (await watch.results.next()).data?.operationUpdated as {
        revision: number;
        events: EventsPage;
      };
    const running = await update();
    expect([running.revision, revisions(running.events)]).toEqual([2, [1, 2]]);
    run.finish({ ok: true });
    const done = await update();
    expect([done.revision, revisions(done.events)]).toEqual([3, [1, 2, 3]]);
  });
});
