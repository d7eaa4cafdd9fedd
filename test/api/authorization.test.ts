import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OperationStore } from '../../src/operations/ports.js';
import { mapOps, type Op, sse, userClient, wsClient } from '../helpers/clients.js';
import { startBlocking, tickingKind } from '../helpers/handlers.js';
import type { TestServer } from '../helpers/server.js';

/** Reports progress every 20 ms until aborted: keeps a feed busy until the test stops it. */
const tick = tickingKind('test.tick');

const globalId = (raw: string) => Buffer.from(`Operation:${raw}`, 'utf8').toString('base64');
const rawId = (global: string) => {
  const [typename, raw] = Buffer.from(global, 'base64').toString('utf8').split(':');
  expect(typename).toBe('Operation');
  return raw ?? '';
};

const READ = `query($id: ID!) {
  operation(id: $id) { id status }
  node(id: $id) { __typename id ... on Operation { status } }
}`;
const CANCEL = `mutation($id: ID!) { cancelOperation(input: { id: $id, reason: "mine now" }) {
  __typename
  ... on NotFoundError { message id }
  ... on CancelOperationSuccess { operation { id status cancelledBy } }
  ... on OperationFinishedError { message }
  ... on ValidationError { message field }
} }`;
const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision ownerId } }';
const FEED = 'subscription { operationsUpdated { id status done revision ownerId } }';
const LIST = `query($ownerId: ID) { operations(first: 100, ownerId: $ownerId) {
  totalCount edges { node { id ownerId } } } }`;

/** alice owns one RUNNING operation; bob owns nothing; root is an admin. */
async function setup() {
  const { server, started, alice } = await startBlocking([tick]);
  const bob = userClient(server, 'bob');
  const root = userClient(server, 'root', { admin: true });
  const started1 = await alice.start({ kind: 'test.block' });
  expect(await started.next()).toBe(rawId(started1.id));
  const op = await alice.get(started1.id);
  expect(op).toMatchObject({ status: 'RUNNING', revision: 2, ownerId: 'alice' });
  const missing = randomUUID();
  return {
    server,
    alice,
    bob,
    root,
    started,
    op: op as Op,
    ids: {
      foreignGlobal: started1.id,
      foreignRaw: rawId(started1.id),
      missingGlobal: globalId(missing),
      missingRaw: missing,
    },
  };
}

/** JSON of `value` with `id` replaced by a placeholder, to compare two responses' shapes. */
const shape = (value: unknown, id: string) => JSON.stringify(value).replaceAll(id, '<id>');

/** The errors an `operationUpdated` subscription ends with, over WebSocket. */
async function wsWatchErrors(ws: ReturnType<typeof wsClient>, id: string) {
  const subscription = ws.subscribe(WATCH, { id });
  const first = await subscription.results.next().catch(() => null);
  if (first !== null) {
    await subscription.results.waitEnd();
    expect(subscription.results.error).toBeNull();
    return { data: first.data, errors: first.errors };
  }
  return { data: undefined, errors: subscription.results.error };
}

/** The events of an `operationUpdated` subscription over SSE, to its end. */
async function sseWatch(server: TestServer, token: string, id: string) {
  const stream = await sse(server.url, token, WATCH, { id });
  expect(stream.status).toBe(200);
  const events = await stream.events.rest();
  return events.map((event) => ({
    event: event.event,
    data: event.data === '' ? '' : JSON.parse(event.data),
  }));
}

describe('ownership: a foreign operation looks like a missing one', () => {
  it('operation and node are null for bob, by global and by raw ID', async () => {
    const { bob, alice, ids, op } = await setup();
    for (const id of Object.values(ids)) {
      const r = await bob.gql(READ, { id });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ data: { operation: null, node: null } });
    }
    // Control: alice reads her own by both IDs.
    for (const id of [ids.foreignGlobal, ids.foreignRaw]) {
      const r = await alice.gql(READ, { id });
      expect(r.body).toEqual({
        data: {
          operation: { id: op.id, status: 'RUNNING' },
          node: { __typename: 'Operation', id: op.id, status: 'RUNNING' },
        },
      });
    }
  });

  it('cancelOperation by bob is a NotFoundError shaped exactly like a missing ID, and changes nothing', async () => {
    const { bob, alice, ids, op } = await setup();
    const foreignGlobal = await bob.gql(CANCEL, { id: ids.foreignGlobal });
    const missingGlobal = await bob.gql(CANCEL, { id: ids.missingGlobal });
    const foreignRaw = await bob.gql(CANCEL, { id: ids.foreignRaw });
    const missingRaw = await bob.gql(CANCEL, { id: ids.missingRaw });

    expect(foreignGlobal.status).toBe(200);
    expect(foreignGlobal.body).toEqual({
      data: {
        cancelOperation: {
          __typename: 'NotFoundError',
          message: 'No such operation.',
          id: ids.foreignGlobal,
        },
      },
    });
    expect(foreignRaw.body).toEqual({
      data: {
        cancelOperation: {
          __typename: 'NotFoundError',
          message: 'No such operation.',
          id: ids.foreignRaw,
        },
      },
    });
    for (const [foreign, missing, foreignId, missingId] of [
      [foreignGlobal, missingGlobal, ids.foreignGlobal, ids.missingGlobal],
      [foreignRaw, missingRaw, ids.foreignRaw, ids.missingRaw],
    ] as const) {
      expect(foreign.status).toBe(missing.status);
      expect(foreign.headers.get('content-type')).toBe(missing.headers.get('content-type'));
      expect(shape(foreign.body, foreignId)).toBe(shape(missing.body, missingId));
    }
    expect(await alice.get(op.id)).toEqual(op);
  });

  it('operationUpdated ends with NOT_FOUND over WebSocket, the same as for a missing ID', async () => {
    const { server, bob, ids } = await setup();
    const ws = wsClient(server.wsUrl, bob.token);
    const outcomes = new Map<string, Awaited<ReturnType<typeof wsWatchErrors>>>();
    for (const id of Object.values(ids)) outcomes.set(id, await wsWatchErrors(ws, id));

    const foreign = outcomes.get(ids.foreignGlobal);
    expect(foreign?.data ?? null).toBeNull();
    expect(foreign?.errors).toHaveLength(1);
    expect(foreign?.errors).toMatchObject([
      { message: 'No such operation.', extensions: { code: 'NOT_FOUND' } },
    ]);
    expect(shape(outcomes.get(ids.foreignGlobal), ids.foreignGlobal)).toBe(
      shape(outcomes.get(ids.missingGlobal), ids.missingGlobal),
    );
    expect(shape(outcomes.get(ids.foreignRaw), ids.foreignRaw)).toBe(
      shape(outcomes.get(ids.missingRaw), ids.missingRaw),
    );
    // Each refusal answered its own subscription only: the socket is still open.
    expect(ws.closes.drain()).toEqual([]);
  });

  it('operationUpdated ends with NOT_FOUND over SSE, the same as for a missing ID', async () => {
    const { server, bob, ids } = await setup();
    const foreign = await sseWatch(server, bob.token, ids.foreignGlobal);
    expect(foreign[0]).toMatchObject({
      event: 'next',
      data: { errors: [{ message: 'No such operation.', extensions: { code: 'NOT_FOUND' } }] },
    });
    expect(foreign[0]?.data.data ?? null).toBeNull();
    expect(foreign.slice(1).map((event) => event.event)).toEqual(['complete']);
    const missing = await sseWatch(server, bob.token, ids.missingGlobal);
    expect(shape(foreign, ids.foreignGlobal)).toBe(shape(missing, ids.missingGlobal));
    const foreignRaw = await sseWatch(server, bob.token, ids.foreignRaw);
    const missingRaw = await sseWatch(server, bob.token, ids.missingRaw);
    expect(shape(foreignRaw, ids.foreignRaw)).toBe(shape(missingRaw, ids.missingRaw));
  });

  it('operations never lists it, and ownerId of someone else matches nothing for a user', async () => {
    const { bob, alice, ids } = await setup();
    const empty = { data: { operations: { totalCount: 0, edges: [] } } };
    expect((await bob.gql(LIST)).body).toEqual(empty);
    expect((await bob.gql(LIST, { ownerId: 'alice' })).body).toEqual(empty);

    const mine = await bob.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const own = {
      data: { operations: { totalCount: 1, edges: [{ node: { id: mine.id, ownerId: 'bob' } }] } },
    };
    expect((await bob.gql(LIST)).body).toEqual(own);
    expect((await bob.gql(LIST, { ownerId: 'bob' })).body).toEqual(own);
    expect((await bob.gql(LIST, { ownerId: 'alice' })).body).toEqual(empty);
    // alice's own listing is not affected by bob's ownerId games.
    expect((await alice.gql(LIST, { ownerId: 'bob' })).body).toEqual(empty);
    expect((await alice.gql(LIST)).body).toEqual({
      data: {
        operations: {
          totalCount: 1,
          edges: [{ node: { id: ids.foreignGlobal, ownerId: 'alice' } }],
        },
      },
    });
  });

  it('operationsUpdated shows bob only his own operations, over WebSocket and SSE', async () => {
    const { server, bob, alice, root } = await setup();
    const bobWs = mapOps(
      wsClient(server.wsUrl, bob.token).subscribe(FEED).results,
      'operationsUpdated',
    );
    const bobSse = mapOps((await sse(server.url, bob.token, FEED)).results, 'operationsUpdated');
    const rootWs = mapOps(
      wsClient(server.wsUrl, root.token).subscribe(FEED).results,
      'operationsUpdated',
    );
    const quick = { kind: 'demo.sleep', input: { ms: 0, steps: 1 } };

    // A subscription has no acknowledgement: bob's ticking operation shows on every feed once it
    // is live. Then it is cancelled and ends, so nothing of bob's is in flight any more.
    const ticking = await bob.start({ kind: 'test.tick' });
    for (const feed of [bobWs, bobSse, rootWs]) await feed.until((o) => o.id === ticking.id);
    await bob.cancel(ticking.id);
    const isDone = (id: string) => (o: Op) => o.id === id && o.done;
    for (const feed of [bobWs, bobSse, rootWs]) await feed.until(isDone(ticking.id));

    const hers = await alice.start({ kind: 'demo.sleep', input: { ms: 20, steps: 2 } });
    // The admin's feed shows alice's operation to its end: it was published while bob listened.
    await rootWs.until(isDone(hers.id));

    const second = await bob.start(quick);
    for (const feed of [bobWs, bobSse]) {
      const seen = await feed.until(isDone(second.id));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((o) => o.ownerId !== 'bob')).toEqual([]);
      expect(seen.map((o) => o.id).filter((id) => id !== second.id)).toEqual([]);
      expect(feed.drain()).toEqual([]);
    }
  });
});

describe('admins see and cancel everyone’s operations', () => {
  it('reads, lists, narrows by ownerId, watches and cancels another user’s operation', async () => {
    const { server, bob, root, ids, op } = await setup();
    const bobs = await bob.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });

    expect((await root.gql('{ viewer { id isAdmin } }')).body).toEqual({
      data: { viewer: { id: 'root', isAdmin: true } },
    });
    for (const id of [ids.foreignGlobal, ids.foreignRaw]) {
      expect((await root.gql(READ, { id })).body).toEqual({
        data: {
          operation: { id: op.id, status: 'RUNNING' },
          node: { __typename: 'Operation', id: op.id, status: 'RUNNING' },
        },
      });
    }
    const all = await root.gql<{
      operations: { totalCount: number; edges: Array<{ node: { id: string; ownerId: string } }> };
    }>(LIST);
    expect(all.body.data?.operations.totalCount).toBe(2);
    expect(all.body.data?.operations.edges.map((e) => e.node)).toEqual([
      { id: bobs.id, ownerId: 'bob' },
      { id: op.id, ownerId: 'alice' },
    ]);
    expect((await root.gql(LIST, { ownerId: 'alice' })).body).toEqual({
      data: { operations: { totalCount: 1, edges: [{ node: { id: op.id, ownerId: 'alice' } }] } },
    });
    expect((await root.gql(LIST, { ownerId: 'bob' })).body).toEqual({
      data: { operations: { totalCount: 1, edges: [{ node: { id: bobs.id, ownerId: 'bob' } }] } },
    });
    expect((await root.gql(LIST, { ownerId: 'nobody' })).body).toEqual({
      data: { operations: { totalCount: 0, edges: [] } },
    });

    const watch = root.watchWs(ids.foreignRaw);
    expect(await watch.ops.next()).toMatchObject({ id: op.id, status: 'RUNNING', revision: 2 });
    const viaSse = await root.watchSse(ids.foreignGlobal);
    expect(await viaSse.ops.next()).toMatchObject({ id: op.id, status: 'RUNNING', revision: 2 });

    const cancelled = await root.gql(CANCEL, { id: ids.foreignGlobal });
    expect(cancelled.body).toEqual({
      data: {
        cancelOperation: {
          __typename: 'CancelOperationSuccess',
          operation: { id: op.id, status: 'CANCELLING', cancelledBy: 'root' },
        },
      },
    });
    for (const feed of [watch.ops, viaSse.ops]) {
      const rest = await feed.rest();
      expect(rest.map((o) => o.status)).toEqual(['CANCELLING', 'CANCELLED']);
    }
    // A second admin cancel by raw ID is idempotent: the first caller stays cancelledBy.
    const again = await userClient(server, 'other-admin', { admin: true }).cancel(ids.foreignRaw);
    expect(again).toMatchObject({
      __typename: 'CancelOperationSuccess',
      operation: { status: 'CANCELLED', cancelledBy: 'root', revision: 4 },
    });
  });
});

describe('equal work for foreign and missing IDs (SEMANTICS "Authorization")', () => {
  /**
   * Records every call to the app's store on the way through (the real store still answers), so
   * the reads behind a foreign and a missing ID can be compared call for call.
   */
  function recordStoreCalls(store: OperationStore) {
    const calls: Array<{ method: string; args: unknown[] }> = [];
    const target = store as unknown as Record<string, unknown>;
    // The store's methods, whether own properties or its class's.
    const methods = new Set([
      ...Object.keys(target),
      ...Object.getOwnPropertyNames(Object.getPrototypeOf(store)),
    ]);
    methods.delete('constructor');
    for (const method of methods) {
      const original = target[method];
      if (typeof original !== 'function') continue;
      target[method] = (...args: unknown[]) => {
        calls.push({ method, args });
        return (original as (...a: unknown[]) => unknown).apply(store, args);
      };
    }
    // The runner's periodic work (claims, leases, retention) is not part of a request.
    const background = new Set([
      'claimPending',
      'renewLeases',
      'expiredLeases',
      'deleteFinishedBefore',
      'ping',
    ]);
    return {
      take: () => calls.splice(0).filter((call) => !background.has(call.method)),
    };
  }

  it('issues the same single store read for a foreign and a missing operation', async () => {
    const { server, bob, ids } = await setup();
    const recorder = recordStoreCalls(server.app.store);
    const ws = wsClient(server.wsUrl, bob.token);
    await ws.connected.next();
    const sameWork = async (request: (id: string) => Promise<unknown>) => {
      recorder.take();
      await request(ids.foreignGlobal);
      const foreign = recorder.take();
      await request(ids.missingGlobal);
      const missing = recorder.take();
      expect(foreign).toEqual([{ method: 'get', args: [ids.foreignRaw] }]);
      expect(missing).toEqual([{ method: 'get', args: [ids.missingRaw] }]);
    };
    await sameWork((id) => bob.gql('query($id: ID!) { operation(id: $id) { id } }', { id }));
    await sameWork((id) => bob.gql('query($id: ID!) { node(id: $id) { id } }', { id }));
    await sameWork((id) => bob.gql(CANCEL, { id }));
    await sameWork((id) => wsWatchErrors(ws, id));
    await sameWork((id) => sseWatch(server, bob.token, id));
  });
});
