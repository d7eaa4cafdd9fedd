import { once } from 'node:events';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { OPERATION_SELECTION, sse, userClient, wsClient } from '../helpers/clients.js';
import { blockingHandler } from '../helpers/handlers.js';
import { EventQueue } from '../helpers/queue.js';
import { NO_SHUTDOWN_GRACE, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const WATCH = `subscription($id: ID!) { operationUpdated(id: $id) { ${OPERATION_SELECTION} } }`;
const WATCH_ALL = 'subscription { operationsUpdated { id revision status } }';

const refusedSubscription = {
  message: expect.stringMatching(/^Too many subscriptions: at most \d+ per user/),
  extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
};

/** A server with the blocking kind and a RUNNING operation of alice's to watch. */
async function withRunning(env: Record<string, string> = {}) {
  const { handler, started } = blockingHandler();
  const server = await startTestServer({ ...NO_SHUTDOWN_GRACE, ...env }, { handlers: [handler] });
  const alice = userClient(server, 'alice');
  const op = await alice.start({ kind: 'test.block' });
  await started.next();
  return { server, alice, op };
}

/** Opens a WS subscription and waits for its first state (it is then surely counted). */
async function liveWs(ws: ReturnType<typeof wsClient>, id: string) {
  const sub = ws.subscribe(WATCH, { id });
  const first = await sub.results.next();
  expect(first.errors).toBeUndefined();
  return sub;
}

/** A raw WebSocket that completes graphql-ws's handshake; `closed` yields its close event. */
async function rawSocket(server: TestServer, token: string) {
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  const messages = new EventQueue<Record<string, unknown>>();
  const closed = new EventQueue<{ code: number; reason: string }>();
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  socket.on('close', (code, reason) => closed.push({ code, reason: reason.toString() }));
  await once(socket, 'open');
  socket.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
  );
  return { socket, messages, closed };
}

describe('subscriptions per user (MAX_SUBSCRIPTIONS_PER_USER)', () => {
  it('refuses subscription 201 of one user (the default cap), over WS with an error for its id and over SSE with 429; other users and the open streams go on', async () => {
    const { server, alice, op } = await withRunning();
    // 4 sockets × 50 subscriptions (the per-socket cap) = the user cap of 200.
    const sockets = Array.from({ length: 4 }, () => wsClient(server.wsUrl, alice.token));
    const open = [];
    for (const ws of sockets) {
      for (let i = 0; i < 50; i++) open.push(ws.subscribe(WATCH, { id: op.id }));
    }
    for (const sub of open) expect((await sub.results.next()).errors).toBeUndefined();
    expect(server.app.usage('alice')).toEqual({ sockets: 4, subscriptions: 200 });

    // A fifth socket opens (connections are capped apart), but its subscription is refused.
    const fifth = wsClient(server.wsUrl, alice.token);
    const refused = fifth.subscribe(WATCH, { id: op.id });
    expect(await refused.results.rest()).toEqual([]);
    expect(refused.results.error).toEqual([expect.objectContaining(refusedSubscription)]);
    const viaSse = await sse(server.url, alice.token, WATCH, { id: op.id });
    expect(viaSse.status).toBe(429);
    const [answer] = await viaSse.results.rest();
    expect(answer?.errors).toEqual([expect.objectContaining(refusedSubscription)]);
    const all = await sse(server.url, alice.token, WATCH_ALL);
    expect(all.status).toBe(429);
    expect(server.app.usage('alice')).toEqual({ sockets: 5, subscriptions: 200 });

    // Bob is not alice: his own cap is untouched.
    const bob = userClient(server, 'bob');
    const bobs = await sse(server.url, bob.token, WATCH_ALL);
    expect(bobs.status).toBe(200);

    // The refused socket still works, and so does every open stream.
    await alice.cancel(op.id, 'enough');
    for (const sub of open) {
      const rest = await sub.results.rest();
      expect(rest.at(-1)?.data?.operationUpdated).toMatchObject({ status: 'CANCELLED' });
    }
    await waitFor(() => server.app.usage('alice').subscriptions === 0, 'alice to hold nothing');
    const again = await liveWs(fifth, op.id);
    expect(await again.results.rest()).toEqual([]);
  });

  it('counts WS and SSE together, and gives a place back when a stream ends', async () => {
    const { server, alice, op } = await withRunning({ MAX_SUBSCRIPTIONS_PER_USER: '3' });
    const ws = wsClient(server.wsUrl, alice.token);
    const one = await liveWs(ws, op.id);
    const two = await sse(server.url, alice.token, WATCH_ALL);
    expect(two.status).toBe(200);
    const three = await sse(server.url, alice.token, WATCH, { id: op.id });
    expect((await three.results.next()).errors).toBeUndefined();
    await waitFor(() => server.app.usage('alice').subscriptions === 3, 'three counted');

    const fourth = ws.subscribe(WATCH, { id: op.id });
    await fourth.results.waitEnd();
    expect(fourth.results.error).toEqual([
      expect.objectContaining({
        message: 'Too many subscriptions: at most 3 per user may be open at once.',
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
      }),
    ]);
    expect((await sse(server.url, alice.token, WATCH_ALL)).status).toBe(429);

    // A client `complete` on WS and an aborted SSE request each give their place back.
    one.unsubscribe();
    await waitFor(() => server.app.usage('alice').subscriptions === 2, 'the WS place back');
    two.close();
    await waitFor(() => server.app.usage('alice').subscriptions === 1, 'the SSE place back');
    const five = await liveWs(ws, op.id);
    const six = await sse(server.url, alice.token, WATCH_ALL);
    expect(six.status).toBe(200);
    five.unsubscribe();
    six.close();
    three.close();
    await ws.dispose();
    await waitFor(
      () =>
        server.app.usage().subscriptions === 0 &&
        server.app.usage().sockets === 0 &&
        server.app.gauges().streams === 0,
      'every place back',
    );
  });

  it('does not count refused subscriptions or queries: NOT_FOUND, BAD_USER_INPUT and queries over WS leave nothing held', async () => {
    const { server, alice, op } = await withRunning({ MAX_SUBSCRIPTIONS_PER_USER: '1' });
    const ws = wsClient(server.wsUrl, alice.token);
    for (let i = 0; i < 5; i++) {
      const missing = ws.subscribe(WATCH, { id: 'nope' });
      expect((await missing.results.next()).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const beyond = await sse(
        server.url,
        alice.token,
        `subscription($id: ID!) { operationUpdated(id: $id, afterRevision: 99) { id } }`,
        { id: op.id },
      );
      expect((await beyond.results.next()).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const query = ws.subscribe('{ viewer { id } }');
      expect((await query.results.next()).data).toEqual({ viewer: { id: 'alice' } });
    }
    expect(server.app.usage('alice').subscriptions).toBe(0);
    const live = await liveWs(ws, op.id);
    expect((await sse(server.url, alice.token, WATCH_ALL)).status).toBe(429);
    live.unsubscribe();
  });

  it('gives every place back after abrupt ends: sockets terminated, SSE connections destroyed, subscriptions completed before their first event', async () => {
    const { server, alice, op } = await withRunning({ MAX_SUBSCRIPTIONS_PER_USER: '10' });
    for (let round = 0; round < 20; round++) {
      const { socket, messages } = await rawSocket(server, alice.token);
      expect(await messages.next()).toEqual({ type: 'connection_ack' });
      for (let i = 0; i < 5; i++) {
        socket.send(
          JSON.stringify({
            id: `s${i}`,
            type: 'subscribe',
            payload: { query: WATCH, variables: { id: op.id } },
          }),
        );
      }
      // Completed at once, most of them before the server has a stream to end.
      for (let i = 0; i < 3; i++) socket.send(JSON.stringify({ id: `s${i}`, type: 'complete' }));
      const live = [await messages.next(), await messages.next()];
      expect(live.map((m) => [m.id, m.type]).sort()).toEqual([
        ['s3', 'next'],
        ['s4', 'next'],
      ]);
      const body = JSON.stringify({ query: WATCH, variables: { id: op.id } });
      const req = request(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${alice.token}`,
          'content-length': Buffer.byteLength(body),
        },
      });
      req.end(body);
      await once(req, 'response');
      req.destroy();
      socket.terminate();
    }
    await waitFor(
      () =>
        server.app.usage('alice').subscriptions === 0 && server.app.usage('alice').sockets === 0,
      'every place back',
    );
    await waitFor(() => server.app.gauges().streams === 0, 'every stream closed');
    // And the whole cap is there to use again.
    const ws = wsClient(server.wsUrl, alice.token);
    const subs = [];
    for (let i = 0; i < 10; i++) subs.push(await liveWs(ws, op.id));
    expect(server.app.usage('alice')).toEqual({ sockets: 1, subscriptions: 10 });
  });

  it('frees the places of subscriptions completed before their stream began, while the socket stays open', async () => {
    const { server, alice, op } = await withRunning({ MAX_SUBSCRIPTIONS_PER_USER: '3' });
    const { socket, messages } = await rawSocket(server, alice.token);
    expect(await messages.next()).toEqual({ type: 'connection_ack' });
    const send = (message: Record<string, unknown>) => socket.send(JSON.stringify(message));
    const payload = { query: WATCH, variables: { id: op.id } };
    // Each round: a subscription completed in the same breath (its place is taken as the message
    // is read, before its stream exists), then a probe that needs a place of its own. A place
    // kept by a completed subscription would leave no room for the probe within three rounds.
    for (let round = 0; round < 20; round++) {
      send({ id: `gone${round}`, type: 'subscribe', payload });
      send({ id: `gone${round}`, type: 'complete' });
      send({ id: `probe${round}`, type: 'subscribe', payload });
      const answer = await messages.next();
      expect(answer).toMatchObject({ id: `probe${round}`, type: 'next' });
      send({ id: `probe${round}`, type: 'complete' });
    }
    await waitFor(() => server.app.usage('alice').subscriptions === 0, 'every place back');
    await waitFor(() => server.app.gauges().streams === 0, 'every stream closed');
    expect(messages.drain()).toEqual([]);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });
});

describe('WebSocket connections per user (MAX_SOCKETS_PER_USER)', () => {
  it('closes connection 4 with 1008 and a reason when the cap is 3; other users connect; a place comes back when one closes', async () => {
    const capped = await startTestServer({ ...NO_SHUTDOWN_GRACE, MAX_SOCKETS_PER_USER: '3' });
    const alice = userClient(capped, 'alice');
    const open = [];
    for (let i = 0; i < 3; i++) {
      const raw = await rawSocket(capped, alice.token);
      expect(await raw.messages.next()).toEqual({ type: 'connection_ack' });
      open.push(raw);
    }
    const fourth = await rawSocket(capped, alice.token);
    expect(await fourth.closed.next()).toEqual({
      code: 1008,
      reason: 'Too many connections: at most 3 per user',
    });
    expect(fourth.messages.drain()).toEqual([]);
    expect(capped.app.usage('alice').sockets).toBe(3);

    const bob = await rawSocket(capped, userClient(capped, 'bob').token);
    expect(await bob.messages.next()).toEqual({ type: 'connection_ack' });

    open[0]?.socket.terminate();
    await waitFor(() => capped.app.usage('alice').sockets === 2, 'the place back');
    const again = await rawSocket(capped, alice.token);
    expect(await again.messages.next()).toEqual({ type: 'connection_ack' });
    for (const raw of [...open, again, bob]) raw.socket.close();
    await waitFor(() => capped.app.usage().sockets === 0, 'every connection closed');
  });
});
