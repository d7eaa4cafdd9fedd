import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseOperationId } from '../../src/schema/ids.js';
import {
  mapOps,
  OPERATION_SELECTION,
  type Op,
  type SseStream,
  sse,
  userClient,
  wsClient,
} from '../helpers/clients.js';
import {
  controlledKind,
  expectCoalescedFlood,
  floodThroughCancel,
  startControlled,
} from '../helpers/controlled.js';
import { EventQueue } from '../helpers/queue.js';
import { NO_SHUTDOWN_GRACE, startTestServer, type TestServer } from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';

const WATCH_ALL = (fields: string) => `subscription($status: [OperationStatus!], $kind: String) {
  operationsUpdated(status: $status, kind: $kind) { ${fields} } }`;

/** The `next` then `complete` events an SSE stream ended with, checked and returned. */
async function sseTail(stream: SseStream) {
  const events = await stream.events.rest();
  expect(events.at(-1)).toEqual({ event: 'complete', data: '' });
  expect(events.slice(0, -1).every((e) => e.event === 'next')).toBe(true);
  return events;
}

type Brief = Pick<Op, 'id' | 'status' | 'revision'>;
const brief = (o: Brief): Brief => ({ id: o.id, status: o.status, revision: o.revision });

describe('operationUpdated', () => {
  it('sends the current state first, then every later revision in order, and completes right after the terminal state (WS and SSE)', async () => {
    const { server, alice, op, run } = await startControlled('test.controlled', {
      input: { n: 1 },
    });
    const ws = alice.watchWs(op.id);
    const viaSse = await alice.watchSse(op.id);
    const feeds = [ws.ops, viaSse.ops];

    for (const feed of feeds) {
      expect(await feed.next()).toMatchObject({
        id: op.id,
        status: 'RUNNING',
        revision: 2,
        progress: null,
        message: null,
        done: false,
        input: { n: 1 },
      });
    }
    await run.context.progress(0.25, 'a quarter');
    for (const feed of feeds) {
      expect(await feed.next()).toMatchObject({
        revision: 3,
        progress: 0.25,
        message: 'a quarter',
      });
    }
    await run.context.progress(0.5);
    for (const feed of feeds) {
      expect(await feed.next()).toMatchObject({ revision: 4, progress: 0.5, message: 'a quarter' });
    }
    run.finish({ answer: 42 });
    for (const feed of feeds) {
      expect(await feed.next()).toMatchObject({
        revision: 5,
        status: 'SUCCEEDED',
        done: true,
        result: { answer: 42 },
      });
      expect(await feed.rest()).toEqual([]);
      expect(feed.error).toBeNull();
    }
    expect((await sseTail(viaSse)).filter((e) => e.event === 'next')).toHaveLength(4);
    await waitFor(() => server.app.gauges().streams === 0, 'both streams to close');
  });

  it('starts with PENDING for an operation no worker has taken yet, then follows it to the end', async () => {
    const ctl = controlledKind('test.controlled');
    const server = await startTestServer(
      { ...NO_SHUTDOWN_GRACE, MAX_CONCURRENT_RUNS: '1' },
      { handlers: [ctl.handler] },
    );
    const alice = userClient(server, 'alice');
    const blocker = await alice.start({ kind: 'test.controlled' });
    const blockerRun = await ctl.run(blocker.id);
    const op = await alice.start({ kind: 'test.controlled' });
    const ws = alice.watchWs(op.id);
    const viaSse = await alice.watchSse(op.id);
    for (const feed of [ws.ops, viaSse.ops]) {
      expect(brief(await feed.next())).toEqual({ id: op.id, status: 'PENDING', revision: 1 });
    }
    blockerRun.finish(null);
    const run = await ctl.run(op.id);
    run.finish('ok');
    for (const feed of [ws.ops, viaSse.ops]) {
      expect((await feed.rest()).map(brief)).toEqual([
        { id: op.id, status: 'RUNNING', revision: 2 },
        { id: op.id, status: 'SUCCEEDED', revision: 3 },
      ]);
    }
  });

  it('sends the final state of an operation that is already done, then completes', async () => {
    const ctl = controlledKind('test.controlled');
    const server = await startTestServer(NO_SHUTDOWN_GRACE, { handlers: [ctl.handler] });
    const alice = userClient(server, 'alice');
    const succeeded = await alice.start({ kind: 'test.controlled' });
    (await ctl.run(succeeded.id)).finish({ fine: true });
    const failed = await alice.start({ kind: 'test.controlled' });
    (await ctl.run(failed.id)).fail(new Error('broken'));
    const cancelled = await alice.start({ kind: 'test.controlled' });
    await ctl.run(cancelled.id);
    await alice.cancel(cancelled.id, 'not needed');
    const finals = await Promise.all(
      [succeeded, failed, cancelled].map((o) => doneState(alice, o.id, `${o.id} to end`)),
    );
    expect(finals.map((o) => o.status)).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);

    for (const final of finals) {
      const ws = alice.watchWs(final.id);
      const viaSse = await alice.watchSse(final.id);
      for (const feed of [ws.ops, viaSse.ops]) {
        expect(await feed.rest()).toEqual([final]);
        expect(feed.error).toBeNull();
      }
      await sseTail(viaSse);
    }
    await waitFor(() => server.app.gauges().streams === 0, 'every stream to close');
  });

  it('shows a cancel as CANCELLING then CANCELLED, in order, then completes (WS and SSE)', async () => {
    const { alice, op, run } = await startControlled('test.controlled', { rejectOnAbort: false });
    const ws = alice.watchWs(op.id);
    const viaSse = await alice.watchSse(op.id);
    for (const feed of [ws.ops, viaSse.ops]) {
      expect(brief(await feed.next())).toEqual({ id: op.id, status: 'RUNNING', revision: 2 });
    }
    const answer = await alice.cancel(op.id, 'changed my mind');
    expect(answer.__typename).toBe('CancelOperationSuccess');
    expect(run.context.signal.aborted).toBe(true);
    // Progress while stopping is kept, and shown.
    await run.context.progress(0.9, 'cleaning up');
    run.fail(new Error('aborted'));
    for (const feed of [ws.ops, viaSse.ops]) {
      const seen = await feed.rest();
      expect(seen.map(brief)).toEqual([
        { id: op.id, status: 'CANCELLING', revision: 3 },
        { id: op.id, status: 'CANCELLING', revision: 4 },
        { id: op.id, status: 'CANCELLED', revision: 5 },
      ]);
      expect(seen[0]).toMatchObject({
        cancelledBy: 'alice',
        cancelReason: 'changed my mind',
        done: false,
        finishedAt: null,
      });
      expect(seen[0]?.cancelRequestedAt).toEqual(expect.any(String));
      expect(seen[1]).toMatchObject({ progress: 0.9, message: 'cleaning up' });
      expect(seen[2]).toMatchObject({
        done: true,
        error: { code: 'CANCELLED', message: 'changed my mind' },
        cancelledBy: 'alice',
        cancelRequestedAt: seen[0]?.cancelRequestedAt,
      });
      expect(feed.error).toBeNull();
    }
  });

  it('ends with NOT_FOUND for a foreign, missing or malformed id, alike on WS and SSE', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const bob = userClient(server, 'bob');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 10, steps: 1 } });
    const raw = parseOperationId(op.id) ?? '';
    const missing = Buffer.from('Operation:00000000-0000-4000-8000-000000000000').toString(
      'base64',
    );
    for (const id of [op.id, raw, missing, '%%%']) {
      const ws = bob.watchWs(id);
      const viaSse = await bob.watchSse(id);
      for (const feed of [ws.ops, viaSse.ops]) {
        expect(await feed.rest()).toEqual([]);
        expect(feed.error).toEqual([
          expect.objectContaining({
            message: 'No such operation.',
            extensions: { code: 'NOT_FOUND', id },
          }),
        ]);
      }
    }
    // The owner, by raw id too, sees it.
    const own = alice.watchWs(raw);
    expect((await own.ops.rest()).at(-1)).toMatchObject({ id: op.id, status: 'SUCCEEDED' });
    await waitFor(() => server.app.gauges().streams === 0, 'every stream to close');
  });
});

describe('operationsUpdated', () => {
  it('sends every change of every visible operation in per-operation revision order, honouring status and kind filters', async () => {
    const ctl = controlledKind('test.controlled');
    const other = controlledKind('test.other');
    const server = await startTestServer(NO_SHUTDOWN_GRACE, {
      handlers: [ctl.handler, other.handler],
    });
    const alice = userClient(server, 'alice');
    const bob = userClient(server, 'bob');
    const root = userClient(server, 'root', { admin: true });
    const fields = 'id kind ownerId status revision progress done';
    const open = (token: string, variables: Record<string, unknown> = {}) =>
      mapOps(
        wsClient(server.wsUrl, token).subscribe(WATCH_ALL(fields), variables).results,
        'operationsUpdated',
      );
    const feeds = {
      alice: open(alice.token),
      aliceDone: open(alice.token, { status: ['SUCCEEDED', 'FAILED', 'CANCELLED'] }),
      aliceOther: open(alice.token, { kind: 'test.other' }),
      bob: open(bob.token),
      root: open(root.token),
    };
    const rootSse = await sse(server.url, root.token, WATCH_ALL(fields));
    const feedsSse = { rootSse: mapOps(rootSse.results, 'operationsUpdated') };
    // graphql-ws does not say when a subscription is live; the server's gauge does.
    await waitFor(() => server.app.gauges().streams === 6, 'six live feeds');

    // Each step is a status change or one progress between two status changes, so nothing may be
    // coalesced: every feed must show every change it is entitled to.
    const a1 = await alice.start({ kind: 'test.controlled' });
    const b1 = await bob.start({ kind: 'test.controlled' });
    const a2 = await alice.start({ kind: 'test.other' });
    const [a1Run, b1Run, a2Run] = await Promise.all([
      ctl.run(a1.id),
      ctl.run(b1.id),
      other.run(a2.id),
    ]);
    await a1Run.context.progress(0.5);
    await b1Run.context.progress(0.5);
    a1Run.finish(1);
    await bob.cancel(b1.id);
    a2Run.fail(new Error('no'));
    for (const o of [a1, b1, a2])
      await waitFor(async () => (await root.get(o.id))?.done, 'the end');
    // Markers: the last change each feed will see; nothing of the above can come after them.
    const aliceMarker = await alice.start({ kind: 'test.other' });
    (await other.run(aliceMarker.id)).finish(null);
    const bobMarker = await bob.start({ kind: 'test.controlled' });
    (await ctl.run(bobMarker.id)).finish(null);

    const history = {
      a1: ['PENDING', 'RUNNING', 'RUNNING', 'SUCCEEDED'],
      b1: ['PENDING', 'RUNNING', 'RUNNING', 'CANCELLING', 'CANCELLED'],
      a2: ['PENDING', 'RUNNING', 'FAILED'],
      aliceMarker: ['PENDING', 'RUNNING', 'SUCCEEDED'],
      bobMarker: ['PENDING', 'RUNNING', 'SUCCEEDED'],
    };
    const ids = {
      a1: a1.id,
      b1: b1.id,
      a2: a2.id,
      aliceMarker: aliceMarker.id,
      bobMarker: bobMarker.id,
    };
    type Name = keyof typeof ids;
    const changes = (names: Name[], statuses?: string[]) =>
      Object.fromEntries(
        names.map((name) => [
          ids[name],
          history[name]
            .map((status, i) => ({ status, revision: i + 1 }))
            .filter((c) => !statuses || statuses.includes(c.status)),
        ]),
      );
    const everyone: Name[] = ['a1', 'b1', 'a2', 'aliceMarker', 'bobMarker'];
    const expected = {
      alice: changes(['a1', 'a2', 'aliceMarker']),
      aliceDone: changes(['a1', 'a2', 'aliceMarker'], ['SUCCEEDED', 'FAILED', 'CANCELLED']),
      aliceOther: changes(['a2', 'aliceMarker']),
      bob: changes(['b1', 'bobMarker']),
      root: changes(everyone),
      rootSse: changes(everyone),
    };
    const last = (name: Name) => ({ id: ids[name], revision: history[name].length });
    const ends: Record<keyof typeof expected, Array<{ id: string; revision: number }>> = {
      alice: [last('aliceMarker')],
      aliceDone: [last('aliceMarker')],
      aliceOther: [last('aliceMarker')],
      bob: [last('bobMarker')],
      root: [last('aliceMarker'), last('bobMarker')],
      rootSse: [last('aliceMarker'), last('bobMarker')],
    };
    for (const [name, feed] of Object.entries({ ...feeds, ...feedsSse })) {
      const key = name as keyof typeof expected;
      const pending = new Set(ends[key].map((e) => `${e.id}@${e.revision}`));
      const seen = await feed.until(
        (o) => pending.delete(`${o.id}@${o.revision}`) && pending.size === 0,
      );
      expect(feed.drain(), name).toEqual([]);
      const byOperation: Record<string, Array<{ status: string; revision: number }>> = {};
      for (const o of seen) {
        byOperation[o.id] = [
          ...(byOperation[o.id] ?? []),
          { status: o.status, revision: o.revision },
        ];
      }
      expect(byOperation, name).toEqual(expected[key]);
      if (key === 'aliceOther') expect(seen.every((o) => o.kind === 'test.other')).toBe(true);
      if (key === 'bob') expect(seen.every((o) => o.ownerId === 'bob')).toBe(true);
    }
  });

  it('lets a dashboard subscribe, then list, keep the highest revision per operation, and converge to the final states', async () => {
    const ctl = controlledKind('test.controlled');
    const server = await startTestServer(NO_SHUTDOWN_GRACE, { handlers: [ctl.handler] });
    const root = userClient(server, 'root', { admin: true });
    const alice = userClient(server, 'alice');
    const bob = userClient(server, 'bob');
    // Before the dashboard opens: one done, one running and waiting, some sleeping.
    const done = await alice.start({ kind: 'demo.sleep', input: { ms: 1, steps: 1 } });
    await waitFor(async () => (await alice.get(done.id))?.done, 'the first one to end');
    const waiting = await bob.start({ kind: 'test.controlled' });
    const waitingRun = await ctl.run(waiting.id);
    const early = await Promise.all(
      [alice, bob, alice].map((who) =>
        who.start({ kind: 'demo.sleep', input: { ms: 200, steps: 20 } }),
      ),
    );

    const stream = await sse(server.url, root.token, WATCH_ALL(OPERATION_SELECTION));
    const live = mapOps(stream.results, 'operationsUpdated');
    // Changes keep landing while the list is read.
    const during = root.start({ kind: 'demo.sleep', input: { ms: 150, steps: 15 } });
    const list = await root.gql<{ operations: { edges: Array<{ node: Op }> } }>(
      `{ operations(first: 100) { edges { node { ${OPERATION_SELECTION} } } } }`,
    );
    const late = [
      await during,
      await bob.start({ kind: 'demo.sleep', input: { ms: 50, steps: 5 } }),
    ];

    const dashboard = new Map<string, Op>();
    const keep = (o: Op) => {
      const known = dashboard.get(o.id);
      if (!known || known.revision < o.revision) dashboard.set(o.id, o);
    };
    for (const edge of list.body.data?.operations.edges ?? []) keep(edge.node);
    const all = [done, waiting, ...early, ...late];
    waitingRun.finish({ waited: true });
    const settled = () => all.every((o) => dashboard.get(o.id)?.done);
    while (!settled()) keep(await live.next());

    for (const o of all) {
      const truth = await root.get(o.id);
      expect(dashboard.get(o.id), o.id).toEqual(truth);
    }
    expect([...dashboard.keys()].sort()).toEqual(all.map((o) => o.id).sort());
  });
});

/** A graphql-transport-ws client on a bare `ws` socket, so the test can stop reading. */
async function rawSubscriber(
  server: TestServer,
  token: string,
  query: string,
  variables: Record<string, unknown>,
) {
  const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  const messages = new EventQueue<{
    type: string;
    id?: string;
    payload?: { data?: Record<string, Op> };
  }>();
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  ws.on('close', () => messages.end());
  ws.on('error', () => undefined);
  sockets.add(ws);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
  );
  expect(await messages.next()).toEqual({ type: 'connection_ack' });
  ws.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query, variables } }));
  return { ws, messages };
}

const sockets = new Set<WebSocket>();
afterEach(() => {
  for (const ws of sockets) ws.terminate();
  sockets.clear();
});

describe('a slow reader (P72, WebSocket)', () => {
  // 1 500 changes, each waited for by the fast subscriber: allow for a slow machine.
  it('gets every status change and the terminal state, progress coalesced, while a normal subscriber sees every revision', {
    timeout: 180_000,
  }, async () => {
    // About 60 KB per event for the slow reader: far more than socket buffers hold.
    const bulk = 'x'.repeat(60_000);
    const { server, alice, op, run } = await startControlled('test.flood', {
      rejectOnAbort: false,
      input: { bulk },
      // A paused reader answers no ping: the flood may outlast the default keep-alive when the
      // machine is busy, and the server would rightly drop the socket as dead.
      env: { WS_KEEPALIVE_MS: '3600000' },
    });

    const slow = await rawSubscriber(
      server,
      alice.token,
      'subscription($id: ID!) { operationUpdated(id: $id) { revision status progress message input } }',
      { id: op.id },
    );
    const first = await slow.messages.next();
    expect(first.payload?.data?.operationUpdated).toMatchObject({ revision: 2, status: 'RUNNING' });
    slow.ws.pause(); // reads nothing more: the server's writes back up

    const fast = mapOps(
      wsClient(server.wsUrl, alice.token).subscribe(
        'subscription($id: ID!) { operationUpdated(id: $id) { revision status progress message } }',
        { id: op.id },
      ).results,
      'operationUpdated',
    );
    expect(await fast.next()).toMatchObject({ revision: 2, status: 'RUNNING' });

    // Each change waits for the fast subscriber to see it, so it is never coalesced for it; the
    // order of revisions is checked as they come.
    const running = 1200;
    const stopping = 300;
    const finalRevision = await floodThroughCancel(run, () => alice.cancel(op.id, 'enough'), fast, {
      running,
      stopping,
    });
    expect(await fast.rest()).toEqual([]);
    expect(finalRevision).toBe(2 + running + 1 + stopping + 1);

    slow.ws.resume();
    const rest = await slow.messages.until((m) => m.type === 'complete', 120_000);
    expect(rest.at(-1)).toEqual({ id: 'slow', type: 'complete' });
    const states = [first, ...rest.slice(0, -1)].map((m) => {
      expect(m).toMatchObject({ id: 'slow', type: 'next' });
      return m.payload?.data?.operationUpdated as Op;
    });
    expectCoalescedFlood(states, { finalRevision, running, stopping });
    expect(states.every((s) => (s.input as { bulk: string }).bulk.length === bulk.length)).toBe(
      true,
    );
    await waitFor(() => server.app.gauges().streams === 0, 'both streams to close');
  });
});
