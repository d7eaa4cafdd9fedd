import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gql, ISO_MS_UTC, mapOps, type Op, sse, userClient, wsClient } from '../helpers/clients.js';
import { startBlocking } from '../helpers/handlers.js';
import { startTestServer } from '../helpers/server.js';
import { createWatchToken, watchTokenFor } from '../helpers/watch.js';

const rawId = (global: string) =>
  Buffer.from(global, 'base64').toString('utf8').split(':')[1] ?? '';
const globalId = (raw: string) => Buffer.from(`Operation:${raw}`, 'utf8').toString('base64');

const READ = `query($id: ID!) {
  operation(id: $id) { id status ownerId events(first: 10) { edges { node { revision status } } } }
  node(id: $id) { __typename id }
}`;
const LIST = `query($ownerId: ID, $status: [OperationStatus!]) {
  operations(first: 100, ownerId: $ownerId, status: $status) {
    totalCount edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } }`;
const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';
const FEED = 'subscription { operationsUpdated { id status revision } }';
const COUNT = '{ operations { totalCount } }';

/** Mutations a watch token sends, each of which must be refused without effect. */
const MUTATIONS: Array<[string, string, (id: string) => Record<string, unknown>]> = [
  [
    'startOperation',
    `mutation { startOperation(input: { kind: "test.block" }) { __typename } }`,
    () => ({}),
  ],
  [
    'cancelOperation of its own operation',
    `mutation($id: ID!) { cancelOperation(input: { id: $id }) { __typename } }`,
    (id) => ({ id }),
  ],
  [
    'retryOperation of its own operation',
    `mutation($id: ID!) { retryOperation(input: { id: $id }) { __typename } }`,
    (id) => ({ id }),
  ],
  [
    'createWatchToken (a longer life for itself)',
    `mutation($id: ID!) { createWatchToken(input: { id: $id, ttlSeconds: 86400 }) { __typename } }`,
    (id) => ({ id }),
  ],
  [
    'a cancel beside renewSession',
    `mutation($id: ID!) { renewSession(token: "x") { __typename }
      cancelOperation(input: { id: $id }) { __typename } }`,
    (id) => ({ id }),
  ],
  [
    'a cancel inside a fragment on Mutation',
    `mutation($id: ID!) { ...C } fragment C on Mutation { cancelOperation(input: { id: $id }) { __typename } }`,
    (id) => ({ id }),
  ],
];

type Results = ReturnType<ReturnType<typeof wsClient>['subscribe']>['results'];

/** The errors a graphql-ws operation ended with: in a `next` result or as an `error` message. */
async function wsErrors(results: Results): Promise<unknown> {
  const first = await results.next().catch(() => null);
  if (first === null) return results.error;
  await results.waitEnd();
  expect(results.error).toBeNull();
  expect(first.data ?? null).toBeNull();
  return first.errors;
}

/** alice owns two RUNNING operations (the watched one and another); bob owns one; root is admin. */
async function setup() {
  const { server, started, alice } = await startBlocking();
  const bob = userClient(server, 'bob');
  const root = userClient(server, 'root', { admin: true });
  const watched = await alice.start({ kind: 'test.block' });
  await started.next();
  const aliceOther = await alice.start({ kind: 'test.block' });
  await started.next();
  const bobs = await bob.start({ kind: 'test.block' });
  await started.next();
  const token = await watchTokenFor(server.url, alice.token, watched.id);
  return { server, alice, bob, root, watched, aliceOther, bobs, token };
}

describe('createWatchToken', () => {
  it('gives the owner a one-hour token, the watch page URL with it, and the operation', async () => {
    const { server, started, alice } = await startBlocking();
    const op = await alice.start({ kind: 'test.block' });
    await started.next();
    const before = Date.now();
    const result = await createWatchToken(server.url, alice.token, op.id);
    expect(result).toMatchObject({
      __typename: 'CreateWatchTokenSuccess',
      operation: { id: op.id, status: 'RUNNING', ownerId: 'alice' },
    });
    expect(result.expiresAt).toMatch(ISO_MS_UTC);
    const expiresAt = Date.parse(result.expiresAt ?? '');
    // exp is in whole seconds: up to one second earlier than an hour from the request.
    expect(expiresAt).toBeGreaterThan(before + 3_600_000 - 2_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
    // The token rides in the fragment, which browsers send neither to servers nor in Referer.
    expect(result.watchUrl).toBe(`${server.origin}/watch#token=${result.token}`);
  });

  it('gives an admin a token for anyone; to anyone else a foreign id is a missing one', async () => {
    const { server, alice, bob, root, watched } = await setup();
    expect((await createWatchToken(server.url, root.token, watched.id)).__typename).toBe(
      'CreateWatchTokenSuccess',
    );
    const missing = globalId(randomUUID());
    const foreign = await createWatchToken(server.url, bob.token, watched.id);
    const absent = await createWatchToken(server.url, bob.token, missing);
    expect(foreign).toEqual({
      __typename: 'NotFoundError',
      message: 'No such operation.',
      id: watched.id,
    });
    expect(JSON.stringify(absent).replaceAll(missing, '<id>')).toBe(
      JSON.stringify(foreign).replaceAll(watched.id, '<id>'),
    );
    for (const id of ['', '%%%', rawId(watched.id).toUpperCase()]) {
      expect(await createWatchToken(server.url, alice.token, id)).toMatchObject({
        __typename: 'NotFoundError',
        id,
      });
    }
  });

  it.each([0, -1, 86_401, 2 ** 31 - 1])(
    'refuses ttlSeconds %d with a ValidationError',
    async (ttlSeconds) => {
      const { server, started, alice } = await startBlocking();
      const op = await alice.start({ kind: 'test.block' });
      await started.next();
      expect(await createWatchToken(server.url, alice.token, op.id, ttlSeconds)).toEqual({
        __typename: 'ValidationError',
        message: 'ttlSeconds: must be a whole number from 1 to 86400.',
        field: 'ttlSeconds',
      });
    },
  );

  it('accepts ttlSeconds from 1 to 86400', async () => {
    const { server, started, alice } = await startBlocking();
    const op = await alice.start({ kind: 'test.block' });
    await started.next();
    for (const ttlSeconds of [1, 86_400]) {
      const result = await createWatchToken(server.url, alice.token, op.id, ttlSeconds);
      const left = Date.parse(result.expiresAt ?? '') - Date.now();
      expect(left).toBeGreaterThan(ttlSeconds * 1000 - 2_000);
      expect(left).toBeLessThanOrEqual(ttlSeconds * 1000);
    }
  });

  it('builds watchUrl on PUBLIC_URL when it is set, path prefix included', async () => {
    const server = await startTestServer({ PUBLIC_URL: 'https://ops.example.com/longrun' });
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const result = await createWatchToken(server.url, alice.token, op.id);
    expect(result.watchUrl).toBe(`https://ops.example.com/longrun/watch#token=${result.token}`);
  });
});

describe('a watch token reads its one operation and nothing else', () => {
  it('over HTTP: operation, node and events of its operation; every other one is missing; lists are empty', async () => {
    const { server, alice, bobs, aliceOther, watched, token } = await setup();
    for (const id of [watched.id, rawId(watched.id)]) {
      const r = await gql(server.url, token, READ, { id });
      expect(r.body).toEqual({
        data: {
          operation: {
            id: watched.id,
            status: 'RUNNING',
            ownerId: 'alice',
            events: {
              edges: [
                { node: { revision: 1, status: 'PENDING' } },
                { node: { revision: 2, status: 'RUNNING' } },
              ],
            },
          },
          node: { __typename: 'Operation', id: watched.id },
        },
      });
    }
    // Its owner's other operation, another owner's, and a missing one: all alike.
    for (const id of [aliceOther.id, bobs.id, globalId(randomUUID())]) {
      expect((await gql(server.url, token, READ, { id })).body).toEqual({
        data: { operation: null, node: null },
      });
    }
    for (const variables of [{}, { ownerId: 'alice' }, { status: ['RUNNING'] }]) {
      expect((await gql(server.url, token, LIST, variables)).body).toEqual({
        data: {
          operations: {
            totalCount: 0,
            edges: [],
            pageInfo: { hasNextPage: false, hasPreviousPage: false },
          },
        },
      });
    }
    // Control: alice's own token lists both of hers.
    const own = await alice.gql<{ operations: { totalCount: number } }>(LIST);
    expect(own.body.data?.operations.totalCount).toBe(2);
    const viewer = await gql(server.url, token, '{ viewer { id isAdmin } }');
    expect(viewer.body).toEqual({ data: { viewer: { id: 'alice', isAdmin: false } } });
  });

  it.each(MUTATIONS)(
    'refuses %s with FORBIDDEN over HTTP, SSE and WebSocket, changing nothing',
    async (_name, mutation, variables) => {
      const { server, root, watched, token } = await setup();
      const before = await root.get(watched.id);
      const http = await gql(server.url, token, mutation, variables(watched.id));
      expect(http.status).toBe(403);
      expect(http.body.data ?? null).toBeNull();
      expect(http.body.errors).toEqual([
        {
          message: 'A watch token can only read its one operation; it changes nothing.',
          extensions: { code: 'FORBIDDEN' },
        },
      ]);

      const stream = await sse(server.url, token, mutation, variables(watched.id));
      const streamed = await stream.results.next();
      expect(streamed.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(streamed.data ?? null).toBeNull();

      const ws = wsClient(server.wsUrl, token);
      expect(await wsErrors(ws.subscribe(mutation, variables(watched.id)).results)).toEqual([
        {
          message: 'A watch token can only read its one operation; it changes nothing.',
          extensions: { code: 'FORBIDDEN' },
        },
      ]);

      expect(await root.get(watched.id)).toEqual(before);
      const count = await root.gql<{ operations: { totalCount: number } }>(COUNT);
      expect(count.body.data?.operations.totalCount).toBe(3);
    },
  );

  it('over WebSocket: streams its operation to the end; another is NOT_FOUND; the all-operations feed stays silent', async () => {
    const { server, alice, bobs, aliceOther, watched, token } = await setup();
    const ws = wsClient(server.wsUrl, token);
    // The feed first: by the time the stream below has read and sent its first state, the feed's
    // subscription (no read at all) is live, and would see the changes if it were not silent.
    const silent = ws.subscribe(FEED).results;
    const mine = mapOps(ws.subscribe(WATCH, { id: watched.id }).results, 'operationUpdated');
    expect((await mine.next()).status).toBe('RUNNING');
    for (const id of [aliceOther.id, bobs.id]) {
      expect(await wsErrors(ws.subscribe(WATCH, { id }).results)).toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) }),
      ]);
    }

    await alice.cancel(aliceOther.id);
    await alice.cancel(watched.id);
    const statuses = (await mine.rest()).map((op: Op) => op.status);
    expect(statuses).toEqual(['CANCELLING', 'CANCELLED']);
    // A round trip on the same socket after the last change: the feed has had its chance.
    const probe = ws.subscribe('{ viewer { id } }').results;
    await probe.waitEnd();
    expect(silent.drain()).toEqual([]);
    expect(silent.isEnded).toBe(false);
  });

  it('over SSE with the Authorization header: streams its operation; another is NOT_FOUND', async () => {
    const { server, alice, bobs, watched, token } = await setup();
    const refused = await sse(server.url, token, WATCH, { id: bobs.id });
    const first = await refused.results.next();
    expect(first.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const stream = await sse(server.url, token, WATCH, { id: watched.id });
    const ops = mapOps(stream.results, 'operationUpdated');
    expect(await ops.next()).toMatchObject({ id: watched.id, status: 'RUNNING', revision: 2 });
    await alice.cancel(watched.id);
    expect((await ops.rest()).map((op) => op.status)).toEqual(['CANCELLING', 'CANCELLED']);
    expect((await stream.events.rest()).at(-1)?.event).toBe('complete');
  });
});
