import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientErrorCode,
  type ConnectionState,
  createOperationsClient,
  type Operation,
  type OperationsClient,
  OperationsClientError,
} from '../../src/client/node.js';
import { gatedKind, gatedServer } from '../helpers/gated.js';
import { FAST, startTestServer, tokenFor } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor, within } from '../helpers/wait.js';

const clients = new Set<OperationsClient>();
const proxies = new Set<TcpProxy>();
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
  await Promise.all([...proxies].map((proxy) => proxy.close()));
  proxies.clear();
});

function clientFor(
  url: string,
  sub: string | { getToken: () => string },
  extra: { admin?: boolean } = {},
) {
  const client = createOperationsClient(
    typeof sub === 'string'
      ? { url, token: tokenFor(sub, extra), retry: { initialDelayMs: 50, maxDelayMs: 200 } }
      : { url, getToken: sub.getToken, retry: { initialDelayMs: 50, maxDelayMs: 200 } },
  );
  clients.add(client);
  return client;
}

async function caught(promise: Promise<unknown>): Promise<OperationsClientError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OperationsClientError);
  return error as OperationsClientError;
}

async function collect<T>(iterable: AsyncIterable<T>, limit = 1_000): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) {
    items.push(item);
    if (items.length >= limit) break;
  }
  return items;
}

/** Starts an operation and returns it, failing the test on any other result. */
async function startOp(
  client: OperationsClient,
  kind: string,
  input?: unknown,
): Promise<Operation> {
  const result = await client.start(kind, input);
  if (result.__typename !== 'StartOperationSuccess') throw new Error(result.message);
  return result.operation;
}

/** The iterator's next item, failing the test after `ms`. */
async function nextOf<T>(iterator: AsyncIterator<T>, what: string, ms = 10_000): Promise<T> {
  const result = await within(iterator.next(), what, ms);
  if (result.done) throw new Error(`The stream ended while waiting for ${what}`);
  return result.value;
}

describe('typed results', () => {
  it('start returns each member of StartOperationResult', async () => {
    const server = await startTestServer();
    const alice = clientFor(server.url, 'alice');

    const started = await alice.start('demo.sleep', { ms: 1, steps: 1 }, { idempotencyKey: 'k1' });
    expect(started.__typename).toBe('StartOperationSuccess');
    if (started.__typename !== 'StartOperationSuccess') return;
    expect(started.deduplicated).toBe(false);
    expect(started.operation).toMatchObject({ kind: 'demo.sleep', ownerId: 'alice', revision: 1 });

    const again = await alice.start('demo.sleep', { ms: 1, steps: 1 }, { idempotencyKey: 'k1' });
    expect(again).toMatchObject({
      __typename: 'StartOperationSuccess',
      deduplicated: true,
      operation: { id: started.operation.id },
    });

    const unknown = await alice.start('no.such.kind');
    expect(unknown).toEqual({
      __typename: 'UnknownKindError',
      kind: 'no.such.kind',
      message: expect.stringContaining('no.such.kind'),
    });

    const invalid = await alice.start('demo.sleep', { ms: 1 }, { timeoutMs: -5 });
    expect(invalid).toMatchObject({ __typename: 'ValidationError', field: 'timeoutMs' });
  });

  it('cancel returns each member of CancelOperationResult', async () => {
    const { server, gated } = await gatedServer();
    const alice = clientFor(server.url, 'alice');
    const bob = clientFor(server.url, 'bob');

    const running = await startOp(alice, 'test.gated');
    const run = await gated.started(running.id);

    const foreign = await bob.cancel(running.id, 'not mine');
    expect(foreign).toEqual({
      __typename: 'NotFoundError',
      id: running.id,
      message: 'No such operation.',
    });

    const tooLong = await alice.cancel(running.id, 'x'.repeat(10_000));
    expect(tooLong).toMatchObject({ __typename: 'ValidationError', field: 'reason' });

    const cancelled = await alice.cancel(running.id, 'enough');
    expect(cancelled).toMatchObject({
      __typename: 'CancelOperationSuccess',
      operation: { status: 'CANCELLING', cancelledBy: 'alice', cancelReason: 'enough' },
    });
    run.finish();

    const finished = await startOp(alice, 'test.gated');
    (await gated.started(finished.id)).finish({ rows: 3 });
    await waitFor(async () => (await alice.get(finished.id))?.done, 'it to succeed');
    const refused = await alice.cancel(finished.id);
    expect(refused).toMatchObject({
      __typename: 'OperationFinishedError',
      operation: { id: finished.id, status: 'SUCCEEDED', result: { rows: 3 } },
    });
  });

  it('retry returns each member of RetryOperationResult it can here; the new run points back', async () => {
    const { server, gated } = await gatedServer();
    const alice = clientFor(server.url, 'alice');
    const bob = clientFor(server.url, 'bob');

    const op = await startOp(alice, 'test.gated', { attempt: 1 });
    const run = await gated.started(op.id);
    expect(await alice.retry(op.id)).toEqual({
      __typename: 'ValidationError',
      field: 'id',
      message: 'id: the operation is RUNNING; only a done operation can be retried.',
    });
    run.fail(new Error('flaky'));
    await waitFor(async () => (await alice.get(op.id))?.done, 'it to fail');

    expect(await bob.retry(op.id)).toEqual({
      __typename: 'NotFoundError',
      id: op.id,
      message: 'No such operation.',
    });
    const again = await alice.retry(op.id);
    if (again.__typename !== 'RetryOperationSuccess') throw new Error(again.message);
    expect(again.operation).toMatchObject({
      kind: 'test.gated',
      input: { attempt: 1 },
      status: 'PENDING',
      ownerId: 'alice',
      retryOf: { id: op.id },
    });
    expect((await alice.get(again.operation.id))?.retryOf).toEqual({ id: op.id });
    expect((await alice.get(op.id))?.retryOf).toBeNull();
    (await gated.started(again.operation.id)).finish();
  });

  it('get, listPage, list (page by page), events and viewer', async () => {
    const server = await startTestServer();
    const alice = clientFor(server.url, 'alice');
    const bob = clientFor(server.url, 'bob');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const started = await startOp(alice, 'demo.sleep', { ms: 1, steps: 1 });
      ids.push(started.id);
    }
    await bob.start('demo.sleep', { ms: 1, steps: 1 });

    expect(await alice.viewer()).toEqual({ id: 'alice', isAdmin: false });
    expect((await alice.get(ids[0] ?? ''))?.id).toBe(ids[0]);
    expect(await bob.get(ids[0] ?? '')).toBeNull();

    const page = await alice.listPage({ first: 2 });
    expect(page.totalCount).toBe(5);
    expect(page.hasNextPage).toBe(true);
    expect(page.operations.map((op) => op.id)).toEqual([ids[4], ids[3]]);

    const { list } = alice; // the methods need no `this`
    const all = await collect(list({ pageSize: 2 }));
    expect(all.map((op) => op.id)).toEqual([...ids].reverse());

    const done = await waitFor(async () => {
      const op = await alice.get(ids[0] ?? '');
      return op?.done ? op : null;
    }, 'the first operation to end');
    const events = await collect(alice.events(done.id));
    expect(events.map((event) => event.revision)).toEqual(
      Array.from({ length: done.revision }, (_, i) => i + 1),
    );
    expect(events.at(-1)?.status).toBe('SUCCEEDED');
  });

  it('errors are OperationsClientError with a code, not strings', async () => {
    const server = await startTestServer();
    const stranger = createOperationsClient({ url: server.url, token: 'not-a-jwt' });
    clients.add(stranger);
    const unauthenticated = await caught(stranger.viewer());
    expect(unauthenticated.code).toBe(ClientErrorCode.Unauthenticated);
    expect(unauthenticated.status).toBe(401);

    const alice = clientFor(server.url, 'alice');
    const badPage = await caught(alice.listPage({ first: 1000 }));
    expect(badPage.code).toBe(ClientErrorCode.BadUserInput);
    expect(badPage.message).toContain('first');

    const notFound = await caught(alice.watch('T3BlcmF0aW9uOm5vcGU=').next());
    expect(notFound.code).toBe(ClientErrorCode.NotFound);

    const nowhere = createOperationsClient({ url: 'http://127.0.0.1:9/graphql', token: 'x' });
    clients.add(nowhere);
    expect((await caught(nowhere.viewer())).code).toBe(ClientErrorCode.Network);

    const refused = createOperationsClient({
      url: server.url,
      token: 'not-a-jwt',
      retry: { initialDelayMs: 10 },
    });
    clients.add(refused);
    const states: ConnectionState[] = [];
    refused.onConnectionChange((state) => states.push(state));
    expect((await caught(refused.watchAll().next())).code).toBe(ClientErrorCode.Unauthenticated);
    // Never connected, and nothing left to retry for: back to idle, never "reconnecting".
    await waitFor(() => refused.connectionState === 'idle', 'the client to settle');
    expect(states).not.toContain('reconnecting');

    // close() while a connection attempt is failing resolves; it does not reject with the close.
    const closing = createOperationsClient({ url: server.url, token: 'not-a-jwt' });
    const pending = closing.watchAll().next();
    await expect(closing.close()).resolves.toBeUndefined();
    expect(await pending).toEqual({ done: true, value: undefined });
  });
});

describe('watch', () => {
  it('yields the current state, then every change in revision order, and ends when done', async () => {
    const { server, gated } = await gatedServer();
    const alice = clientFor(server.url, 'alice');
    const started = await startOp(alice, 'test.gated');
    const { id } = started;
    const run = await gated.started(id);

    const watching = alice.watch(id);
    const first = await nextOf(watching, 'the current state');
    expect(first).toMatchObject({ id, status: 'RUNNING', revision: 2 });
    await run.ctx.progress(0.5, 'half');
    expect(await nextOf(watching, 'progress')).toMatchObject({ progress: 0.5, message: 'half' });
    run.finish({ ok: true });
    const rest = await collect(watching);
    expect(rest.map((op) => op.status)).toEqual(['SUCCEEDED']);
    expect(rest[0]).toMatchObject({ done: true, result: { ok: true }, revision: 4 });
  });

  it('resumes from afterRevision and ends at once for a finished operation', async () => {
    const server = await startTestServer();
    const alice = clientFor(server.url, 'alice');
    const started = await startOp(alice, 'demo.sleep', { ms: 30, steps: 3 });
    const all = await collect(alice.watch(started.id));
    const last = all.at(-1);
    expect(last?.status).toBe('SUCCEEDED');

    // A replay may coalesce progress, never a status change.
    const replay = await collect(alice.watch(started.id, { afterRevision: 1 }));
    const revisions = replay.map((op) => op.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(revisions[0]).toBe(2);
    expect(replay.map((op) => op.status)).toEqual([
      'RUNNING',
      ...replay.slice(1, -1).map(() => 'RUNNING'),
      'SUCCEEDED',
    ]);
    expect(replay.at(-1)).toEqual(last);
    expect(await collect(alice.watch(started.id))).toEqual([last]);
  });

  it('reconnects with a fresh token when the server closes the socket at token expiry', async () => {
    const { server, gated } = await gatedServer();
    let issued = 0;
    let current = '';
    const alice = clientFor(server.url, {
      // A token source that makes a new token only once the old one has expired: there is then
      // nothing to renew the socket with before its expiry, and it is closed and reopened.
      getToken: () => {
        const exp = (
          JSON.parse(
            Buffer.from(current.split('.')[1] ?? '', 'base64url').toString() || '{"exp":0}',
          ) as { exp: number }
        ).exp;
        if (Date.now() >= exp * 1000) {
          issued += 1;
          current = tokenFor('alice', { ttlSec: 2 });
        }
        return current;
      },
    });
    const states: ConnectionState[] = [];
    alice.onConnectionChange((state) => states.push(state));
    const started = await startOp(alice, 'test.gated');
    const run = await gated.started(started.id);
    const watching = alice.watch(started.id);
    expect(await nextOf(watching, 'the current state')).toMatchObject({ status: 'RUNNING' });
    const tokensBefore = issued;

    // The server closes the socket with 4403 each time a token expires; the stream goes on, with
    // a new token each time, however many times that happens while nothing changes.
    const reconnections = () => states.filter((state) => state === 'reconnecting').length;
    await waitFor(() => reconnections() >= 2, 'two expiries', 30_000);
    await waitFor(() => states.at(-1) === 'connected', 'the socket to reconnect');
    expect(issued).toBeGreaterThanOrEqual(tokensBefore + 2);
    await run.ctx.progress(0.9, 'after the new token');
    expect(await nextOf(watching, 'progress after reconnecting')).toMatchObject({
      progress: 0.9,
      message: 'after the new token',
    });
    run.finish();
    expect((await collect(watching)).map((op) => op.status)).toEqual(['SUCCEEDED']);
  });

  it('drops a connection that stops answering pings, reconnects and loses no status change', async () => {
    const gated = gatedKind('test.gated', { onAbort: 'ignore' });
    // The client reaches the server through a relay on another port: a Host name the server
    // refuses outside production unless ALLOWED_HOSTS names it.
    const server = await startTestServer(
      { ...FAST, ALLOWED_HOSTS: '127.0.0.1' },
      { handlers: [gated.handler] },
    );
    // A relay that can leave its open connections up but silent (a half-open TCP connection).
    const proxy = await startTcpProxy(`tcp://127.0.0.1:${server.app.port}`);
    proxies.add(proxy);
    const alice = createOperationsClient({
      url: `${proxy.url.replace(/^redis:/, 'http:')}/graphql`,
      token: tokenFor('alice'),
      keepAliveMs: 300,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    clients.add(alice);
    const states: ConnectionState[] = [];
    alice.onConnectionChange((state) => states.push(state));
    const started = await startOp(alice, 'test.gated');
    const run = await gated.started(started.id);
    const watching = alice.watch(started.id);
    expect(await nextOf(watching, 'the current state')).toMatchObject({ status: 'RUNNING' });

    proxy.blackHole();
    const cancelled = await clientFor(server.url, 'alice').cancel(started.id, 'stuck');
    expect(cancelled).toMatchObject({ operation: { status: 'CANCELLING' } });
    // Noticing the silence takes a few missed pongs, then a reconnect and a resubscribe.
    expect(await nextOf(watching, 'CANCELLING after reconnecting', 20_000)).toMatchObject({
      status: 'CANCELLING',
      revision: 3,
    });
    expect(states).toContain('reconnecting');
    run.fail(run.ctx.signal.reason);
    expect((await collect(watching)).map((op) => [op.status, op.revision])).toEqual([
      ['CANCELLED', 4],
    ]);
  });

  it('fails with UNAUTHENTICATED when a fixed token expires', async () => {
    const { server, gated } = await gatedServer();
    const started = await startOp(clientFor(server.url, 'alice'), 'test.gated');
    await gated.started(started.id);
    // Made only now, and valid for 3 to 4 s: time enough for the first state on a loaded machine.
    const alice = createOperationsClient({
      url: server.url,
      token: tokenFor('alice', { ttlSec: 4 }),
      retry: { initialDelayMs: 10 },
    });
    clients.add(alice);
    const watching = alice.watch(started.id);
    await nextOf(watching, 'the current state');
    const error = await caught(within(watching.next(), 'the expiry', 20_000));
    expect(error.code).toBe(ClientErrorCode.Unauthenticated);
  });

  it('stops on break and on its AbortSignal; close() ends every stream', async () => {
    const { server, gated } = await gatedServer();
    const alice = clientFor(server.url, 'alice');
    const started = await startOp(alice, 'test.gated');
    await gated.started(started.id);

    for await (const op of alice.watch(started.id)) {
      expect(op.status).toBe('RUNNING');
      break;
    }
    await waitFor(() => server.app.gauges().streams === 0, 'the stream to close on the server');

    const abort = new AbortController();
    const aborted = alice.watch(started.id, { signal: abort.signal });
    await nextOf(aborted, 'the current state');
    abort.abort();
    expect((await caught(aborted.next())).code).toBe(ClientErrorCode.Aborted);

    const open = alice.watchAll();
    const ended = alice.watch(started.id);
    await nextOf(ended, 'the current state');
    await alice.close();
    expect(await open.next()).toEqual({ done: true, value: undefined });
    expect(await ended.next()).toEqual({ done: true, value: undefined });
    expect(alice.connectionState).toBe('closed');
  });
});

describe('watchAll', () => {
  it('delivers the viewer’s changes only; an admin sees everyone’s', async () => {
    const { server, gated } = await gatedServer();
    const alice = clientFor(server.url, 'alice');
    const bob = clientFor(server.url, 'bob');
    const admin = clientFor(server.url, 'root', { admin: true });
    const aliceFeed = alice.watchAll({ kind: 'test.gated' });
    const adminFeed = admin.watchAll();
    await waitFor(() => server.app.gauges().streams === 2, 'both feeds to subscribe');

    const bobs = await startOp(bob, 'test.gated');
    const alices = await startOp(alice, 'test.gated');
    (await gated.started(bobs.id)).finish();
    (await gated.started(alices.id)).finish();

    const seenByAlice: Operation[] = [];
    while (!seenByAlice.some((op) => op.done)) {
      seenByAlice.push(await nextOf(aliceFeed, 'alice’s changes'));
    }
    expect(new Set(seenByAlice.map((op) => op.id))).toEqual(new Set([alices.id]));
    expect(seenByAlice.map((op) => op.status)).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED']);

    const seenByAdmin = new Map<string, string>();
    while ([...seenByAdmin.values()].filter((status) => status === 'SUCCEEDED').length < 2) {
      const op = await nextOf(adminFeed, 'every change');
      seenByAdmin.set(op.id, op.status);
    }
    expect([...seenByAdmin.keys()].sort()).toEqual([alices.id, bobs.id].sort());
  });
});
