import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  CancelOperationDocument,
  GetOperationDocument,
  ListOperationsDocument,
  OperationEventsDocument,
  RetryOperationDocument,
  StartOperationDocument,
  ViewerDocument,
  WatchOperationDocument,
  WatchOperationsDocument,
} from '../../src/client/generated/graphql.js';
import { graphiqlExamples } from '../../src/transport/graphiql-examples.js';
import { gql, sse, userClient, wsClient } from '../helpers/clients.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';

const EVENT_FIELDS = 'revision status progress actor reason time';
const ALIASED_EVENTS = Array.from(
  { length: 15 },
  (_, i) => `e${i}: events(first: 100) { edges { node { ${EVENT_FIELDS} } } }`,
).join(' ');
/** A page of 100 operations, each with 15 aliased pages of 100 log entries: 150,000 rows. */
const ATTACK = `{ operations(first: 100) { edges { node { ${ALIASED_EVENTS} } } } }`;
/** 1 per field; a page's selection once per item asked for; `edges` itself not again. */
const ATTACK_COST = 1 + 100 * (1 + 1 + 15 * (1 + 100 * (1 + 1 + 6)));
const DEFAULT_LIMIT = 5000;

/** A statement the store ran, as Kysely reported it. */
interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** A server whose SQL statements are recorded, with `alice`'s done operations in it. */
async function recordedServer(env: Record<string, string> = {}, seeded = 3) {
  const statements: Statement[] = [];
  const server = await startTestServer(
    { ...FAST, ...env },
    { onStatement: (s) => statements.push(s) },
  );
  const alice = userClient(server, 'alice');
  for (let i = 0; i < seeded; i++) {
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 4, steps: 2 } });
    await doneState(alice, op.id);
  }
  statements.length = 0;
  /**
   * Statements that read on a request's behalf: the runner's polling and lease sweeps never
   * filter by owner nor read the log.
   */
  const requestReads = () =>
    statements.filter((s) => s.parameters.includes('alice') || /"operation_events"/.test(s.sql));
  return { server, alice, statements, requestReads };
}

function expectRefusal(
  body: { data?: unknown; errors?: ReadonlyArray<{ message: string; extensions?: unknown }> },
  cost: number,
  limit = DEFAULT_LIMIT,
) {
  expect(body).not.toHaveProperty('data');
  expect(body.errors).toEqual([
    {
      message: `The request costs ${cost}, more than the limit of ${limit}: ask for smaller pages (first/last) or fewer fields.`,
      extensions: { code: 'COST_LIMIT_EXCEEDED', cost, limit },
    },
  ]);
}

describe('request cost limit over HTTP', () => {
  it('refuses the 1 KB query of 100 operations × 15 aliased events(first: 100) and reads nothing', async () => {
    const { server, alice, requestReads } = await recordedServer();
    expect(Buffer.byteLength(ATTACK)).toBeLessThan(1500);

    const json = await gql(server.url, alice.token, ATTACK, undefined, {
      accept: 'application/json',
    });
    expect(json.status).toBe(200);
    expectRefusal(json.body, ATTACK_COST);
    const spec = await gql(server.url, alice.token, ATTACK);
    expect(spec.status).toBe(400);
    expectRefusal(spec.body, ATTACK_COST);
    expect(requestReads()).toEqual([]);

    // The same observation sees what a query within the limit reads.
    const small = await alice.gql<{ operations: { edges: unknown[] } }>(
      `{ operations(first: 3) { edges { node { events(first: 5) { edges { node { revision } } } } } } }`,
    );
    expect(small.body.data?.operations.edges).toHaveLength(3);
    expect(requestReads().length).toBeGreaterThan(0);
  });

  it('sizes pages from variables: one document passes with small pages and not with large ones', async () => {
    const { server, alice, requestReads } = await recordedServer({}, 1);
    const query = `query($n: Int) { operations(first: $n) { edges { node {
      events(first: $n) { edges { node { ${EVENT_FIELDS} } } } } } } }`;
    const costOf = (n: number) => 1 + n * (1 + 1 + (1 + n * (1 + 1 + 6)));
    expect(costOf(20)).toBeLessThanOrEqual(DEFAULT_LIMIT);
    expect(costOf(30)).toBeGreaterThan(DEFAULT_LIMIT);

    const ok = await gql(server.url, alice.token, query, { n: 20 });
    expect(ok.body.errors).toBeUndefined();
    const refused = await gql(server.url, alice.token, query, { n: 30 });
    expectRefusal(refused.body, costOf(30));
    // Absent sizes count as the default page of 20.
    const defaults = await gql(server.url, alice.token, query);
    expect(defaults.body.errors).toBeUndefined();
    const before = requestReads().length;
    expectRefusal((await gql(server.url, alice.token, query, { n: 30 })).body, costOf(30));
    expect(requestReads()).toHaveLength(before);
  });

  it('follows MAX_QUERY_COST and refuses a costly mutation without storing anything', async () => {
    const server = await startTestServer({ ...FAST, MAX_QUERY_COST: '100' });
    const alice = userClient(server, 'alice');
    const starts = (n: number) =>
      `mutation { ${Array.from(
        { length: n },
        (_, i) => `s${i}: startOperation(input: { kind: "demo.sleep", input: { ms: 0 } }) {
          ... on StartOperationSuccess { operation { id kind status revision } } }`,
      ).join(' ')} }`;
    // Each start: 10 for the write, 1 + 4 for what it selects.
    const refused = await alice.gql(starts(7));
    expectRefusal(refused.body, 7 * 15, 100);
    expect(await server.app.store.count({})).toBe(0);

    const accepted = await alice.gql(starts(6));
    expect(accepted.body.errors).toBeUndefined();
    expect(await server.app.store.count({})).toBe(6);
  });
});

describe('request cost limit over SSE and WebSocket', () => {
  /** 15 aliased pages of 100 log entries on every change of every operation. */
  const FEED = `subscription { operationsUpdated { ${ALIASED_EVENTS} } }`;
  const FEED_COST = 1 + 15 * (1 + 100 * (1 + 1 + 6));

  it('refuses a costly subscription over SSE before it subscribes to anything', async () => {
    const { server, alice, requestReads } = await recordedServer({}, 1);
    const stream = await sse(server.url, alice.token, FEED);
    const result = await stream.results.next();
    expectRefusal(result, FEED_COST);
    expect(await stream.results.rest()).toEqual([]);
    expect(server.app.gauges().streams).toBe(0);

    const query = await sse(server.url, alice.token, ATTACK);
    expectRefusal(await query.results.next(), ATTACK_COST);
    expect(requestReads()).toEqual([]);
  });

  it('refuses costly subscribe messages over WebSocket for their id only; the socket goes on', async () => {
    const { server, alice, requestReads } = await recordedServer({}, 1);
    const ws = wsClient(server.wsUrl, alice.token);
    await ws.connected.next();
    for (const query of [FEED, ATTACK]) {
      const refused = ws.subscribe(query);
      await expect(refused.results.next()).rejects.toThrow(/COST_LIMIT_EXCEEDED|costs/);
      expectRefusal(
        { errors: refused.results.error as never },
        query === FEED ? FEED_COST : ATTACK_COST,
      );
    }
    expect(server.app.gauges().streams).toBe(0);
    expect(requestReads()).toEqual([]);

    const viewer = ws.subscribe('{ viewer { id } }');
    expect(await viewer.results.next()).toEqual({ data: { viewer: { id: 'alice' } } });
    expect(ws.closes.isEnded).toBe(false);
  });
});

describe('what the cost limit lets through', () => {
  async function documentsServer() {
    const server = await startTestServer(FAST);
    const admin = userClient(server, 'admin', { admin: true });
    const op = await admin.start({ kind: 'demo.sleep', input: { ms: 0 } });
    await doneState(admin, op.id);
    return { server, admin, id: op.id };
  }

  const codes = (body: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) =>
    (body.errors ?? []).map((e) => e.extensions?.code);

  it('every query and mutation of the typed client, at the largest pages', async () => {
    const { admin, id } = await documentsServer();
    const cases: Array<[string, Record<string, unknown>]> = [
      [String(ViewerDocument), {}],
      [String(GetOperationDocument), { id }],
      [String(ListOperationsDocument), { first: 100 }],
      [String(OperationEventsDocument), { id, first: 100 }],
      [String(StartOperationDocument), { input: { kind: 'demo.sleep', input: { ms: 0 } } }],
      [String(CancelOperationDocument), { input: { id, reason: 'done already' } }],
      [String(RetryOperationDocument), { input: { id } }],
    ];
    for (const [query, variables] of cases) {
      const r = await admin.gql(query, variables);
      expect(codes(r.body), query).toEqual([]);
      expect(r.body.data, query).toBeTruthy();
    }
  });

  it('every subscription of the typed client, over SSE and WebSocket', async () => {
    const { server, admin, id } = await documentsServer();
    const ws = wsClient(server.wsUrl, admin.token);
    for (const [query, variables] of [
      [String(WatchOperationDocument), { id }],
      [String(WatchOperationsDocument), {}],
    ] as const) {
      const stream = await sse(server.url, admin.token, query, variables);
      const socket = ws.subscribe(query, variables);
      if (query === String(WatchOperationDocument)) {
        expect(codes(await stream.results.next())).toEqual([]);
        expect(codes(await socket.results.next())).toEqual([]);
      } else {
        // A feed sends nothing until something changes: start one and see it arrive.
        await admin.start({ kind: 'demo.sleep', input: { ms: 0 } });
        expect(codes(await stream.results.next())).toEqual([]);
        expect(codes(await socket.results.next())).toEqual([]);
      }
      stream.close();
      socket.unsubscribe();
    }
  });

  it("GraphiQL's examples and its introspection query", async () => {
    const { server, admin, id } = await documentsServer();
    const examples = graphiqlExamples(server.app.operations.kinds()).replaceAll('PASTE-ID', id);
    for (const operationName of ['StartDemoSleep', 'Cancel', 'Retry', 'Kinds', 'Mine']) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
        body: JSON.stringify({ query: examples, operationName }),
      });
      const body = (await response.json()) as Parameters<typeof codes>[0] & { data?: unknown };
      expect(codes(body), operationName).toEqual([]);
      expect(body.data, operationName).toBeTruthy();
    }
    // Watch, over SSE as GraphiQL sends it: the operation is done, so the stream ends by itself.
    const watch = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${admin.token}`,
      },
      body: JSON.stringify({ query: examples, operationName: 'Watch' }),
    });
    const text = await watch.text();
    expect(text).toMatch(/^event: next\ndata: \{"data":\{"operationUpdated":\{"id"/m);
    expect(text).not.toContain('"errors"');
    const introspection = await admin.gql<{ __schema: unknown }>(getIntrospectionQuery());
    expect(codes(introspection.body)).toEqual([]);
    expect(introspection.body.data?.__schema).toBeTruthy();
  });
});
