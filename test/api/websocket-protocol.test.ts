import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_SUBSCRIPTIONS_PER_SOCKET } from '../../src/transport/websocket.js';
import { type Op, userClient } from '../helpers/clients.js';
import { startControlled } from '../helpers/controlled.js';
import { EventQueue } from '../helpers/queue.js';
import { startTestServer, type TestServer, tokenFor } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const PROTOCOL = 'graphql-transport-ws';

/** A message the server sent, as graphql-transport-ws frames it. */
interface ServerMessage {
  readonly type: string;
  readonly id?: string;
  readonly payload?: unknown;
}

/** A bare `ws` socket speaking (or failing to speak) graphql-transport-ws by hand. */
interface RawSocket {
  readonly ws: WebSocket;
  readonly messages: EventQueue<ServerMessage>;
  /** Resolves true once open, false when the handshake failed. */
  readonly opened: Promise<boolean>;
  /** The close event (1006 when the handshake failed). */
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
}

const rawSockets = new Set<WebSocket>();
const tcpSockets = new Set<Socket>();
afterEach(() => {
  for (const ws of rawSockets) ws.terminate();
  rawSockets.clear();
  for (const socket of tcpSockets) socket.destroy();
  tcpSockets.clear();
});

/** `protocols` null: offer no subprotocol at all. */
function openRaw(url: string, protocols: string | string[] | null = PROTOCOL): RawSocket {
  const ws = protocols === null ? new WebSocket(url) : new WebSocket(url, protocols);
  rawSockets.add(ws);
  const messages = new EventQueue<ServerMessage>();
  ws.on('error', () => undefined); // a refused handshake or a bad frame; `closed` tells the rest
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as ServerMessage));
  const opened = new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('close', () => resolve(false));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => {
      messages.end();
      resolve({ code, reason: String(reason) });
    });
  });
  return {
    ws,
    messages,
    opened,
    closed,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
  };
}

/** Opens a socket and completes `connection_init` → `connection_ack` with a valid token. */
async function connected(server: TestServer, sub = 'alice'): Promise<RawSocket> {
  const raw = openRaw(server.wsUrl);
  expect(await raw.opened).toBe(true);
  raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${tokenFor(sub)}` } });
  expect(await raw.messages.next()).toEqual({ type: 'connection_ack' });
  return raw;
}

const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';
const START_MUTATION = `mutation { startOperation(input: { kind: "demo.sleep", input: { ms: 10 } }) {
  __typename } }`;

function subscribeMessage(id: string, query: string, variables?: Record<string, unknown>) {
  return { id, type: 'subscribe', payload: { query, ...(variables ? { variables } : {}) } };
}

/** The operation carried by a `next` message. */
function opOf(message: ServerMessage): Pick<Op, 'id' | 'status' | 'revision'> {
  const payload = message.payload as { data: { operationUpdated: Op } };
  return payload.data.operationUpdated;
}

async function operationCount(server: TestServer): Promise<number> {
  const admin = userClient(server, 'root', { admin: true });
  const r = await admin.gql<{ operations: { totalCount: number } }>(
    '{ operations(first: 1) { totalCount } }',
  );
  if (!r.body.data) throw new Error(`listing failed: ${JSON.stringify(r.body)}`);
  return r.body.data.operations.totalCount;
}

/** A normal client can still connect, subscribe and get an answer. */
async function stillServes(server: TestServer): Promise<void> {
  const alice = userClient(server, 'alice');
  const op = await alice.start({ kind: 'demo.sleep', input: { ms: 10, steps: 1 } });
  const raw = await connected(server);
  raw.send(subscribeMessage('check', WATCH, { id: op.id }));
  const seen = await raw.messages.until((m) => m.type === 'complete');
  expect(opOf(seen.at(-2) as ServerMessage).status).toBe('SUCCEEDED');
  raw.ws.close();
}

describe('WebSocket subprotocol (W31)', () => {
  it('closes a socket that offers no subprotocol with 4406, and runs nothing it sends', async () => {
    const server = await startTestServer();
    const raw = openRaw(server.wsUrl, null);
    expect(await raw.opened).toBe(true);
    raw.send({
      type: 'connection_init',
      payload: { authorization: `Bearer ${tokenFor('alice')}` },
    });
    raw.send(subscribeMessage('1', START_MUTATION));
    expect((await raw.closed).code).toBe(4406);
    expect(await raw.messages.rest()).toEqual([]);
    expect(await operationCount(server)).toBe(0);
  });

  it('refuses the legacy graphql-ws subprotocol (4406 or a refused handshake)', async () => {
    const server = await startTestServer();
    const raw = openRaw(server.wsUrl, 'graphql-ws');
    const opened = await raw.opened;
    if (opened) {
      raw.send({
        type: 'connection_init',
        payload: { authorization: `Bearer ${tokenFor('alice')}` },
      });
      raw.send(subscribeMessage('1', START_MUTATION));
    }
    const { code } = await raw.closed;
    // The server does not echo graphql-ws, so `ws` refuses the handshake itself (1006); a client
    // that carries on anyway is closed with 4406.
    expect(opened ? code : 'refused').toBe(opened ? 4406 : 'refused');
    expect(await raw.messages.rest()).toEqual([]);
    expect(await operationCount(server)).toBe(0);
    await stillServes(server);
  });
});

describe('keep-alive (W37)', () => {
  it('drops a socket that answers no ping by the next one (WS_KEEPALIVE_MS), and keeps one that does', async () => {
    const server = await startTestServer({ WS_KEEPALIVE_MS: '1000' });
    const answering = await connected(server);
    const pings = new EventQueue<true>();
    answering.ws.on('ping', () => pings.push(true));
    const silent = new WebSocket(server.wsUrl, PROTOCOL, { autoPong: false });
    rawSockets.add(silent);
    silent.on('error', () => undefined);
    const closed = once(silent, 'close');
    await once(silent, 'open');
    const openedAt = Date.now();
    silent.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${tokenFor('bob')}` },
      }),
    );
    const [code] = (await closed) as [number];
    // Terminated without a close frame, and not before a whole interval had passed.
    expect(code).toBe(1006);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(1_000);
    // The socket that answers is pinged twice more, so its own deadline passed, and stays open.
    pings.drain();
    await pings.next();
    await pings.next();
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    await waitFor(() => server.app.gauges().sockets === 1, 'the server to count one socket');
  });
});

describe('WebSocket handshake order (W32)', () => {
  it('closes a socket that stays silent after opening with 4408', async () => {
    const server = await startTestServer();
    const raw = openRaw(server.wsUrl);
    expect(await raw.opened).toBe(true);
    expect(await raw.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    await waitFor(() => server.app.gauges().sockets === 0, 'the server to drop the socket');
  });

  it('closes a socket that sends connection_init twice with 4429', async () => {
    const server = await startTestServer();
    const raw = await connected(server);
    raw.send({
      type: 'connection_init',
      payload: { authorization: `Bearer ${tokenFor('alice')}` },
    });
    expect((await raw.closed).code).toBe(4429);
  });

  it('closes a socket that subscribes before connection_init with 4401, running nothing', async () => {
    const server = await startTestServer();
    const raw = openRaw(server.wsUrl);
    expect(await raw.opened).toBe(true);
    raw.send(subscribeMessage('1', START_MUTATION));
    expect((await raw.closed).code).toBe(4401);
    expect(await raw.messages.rest()).toEqual([]);
    expect(await operationCount(server)).toBe(0);
  });

  it('closes a socket that reuses the id of a live subscription with 4409 and ends its stream', async () => {
    const { server, op } = await startControlled();
    const raw = await connected(server);
    raw.send(subscribeMessage('dup', WATCH, { id: op.id }));
    expect(opOf(await raw.messages.next())).toEqual({ id: op.id, status: 'RUNNING', revision: 2 });
    raw.send(subscribeMessage('dup', WATCH, { id: op.id }));
    expect(await raw.closed).toEqual({ code: 4409, reason: 'Subscriber for dup already exists' });
    await waitFor(() => server.app.gauges().streams === 0, 'the stream to end');
  });
});

describe('garbage frames (W33, W34)', () => {
  it.each([
    ['invalid JSON', '{bad json'],
    ['a JSON value that is not a message', '[1,2,3]'],
    ['an unknown type', '{"type":"unknown"}'],
    ['a subscribe without a query', '{"type":"subscribe","id":"1","payload":{}}'],
  ])('closes the socket with 4400 on %s', async (_name, frame) => {
    const server = await startTestServer();
    const raw = await connected(server);
    raw.send(frame);
    expect((await raw.closed).code).toBe(4400);
    await stillServes(server);
  });

  it.each([
    ['next', { type: 'next', id: '1', payload: { data: null } }],
    ['connection_ack', { type: 'connection_ack' }],
    ['error', { type: 'error', id: '1', payload: [{ message: 'x' }] }],
  ])(
    'closes the socket with 4400 (not 4500) on a client-sent %s message',
    async (_name, message) => {
      const server = await startTestServer();
      const raw = await connected(server);
      raw.send(message);
      expect((await raw.closed).code).toBe(4400);
    },
  );

  it('closes the socket with 4400 on a binary frame of garbage', async () => {
    const server = await startTestServer();
    const raw = await connected(server);
    raw.ws.send(Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x7b]), { binary: true });
    expect((await raw.closed).code).toBe(4400);
    await stillServes(server);
  });

  it('closes the socket with 4400 on a binary frame, even one holding a valid message, and runs nothing', async () => {
    const server = await startTestServer();
    const raw = await connected(server);
    raw.ws.send(Buffer.from(JSON.stringify(subscribeMessage('1', START_MUTATION))), {
      binary: true,
    });
    expect((await raw.closed).code).toBe(4400);
    expect(await raw.messages.rest()).toEqual([]);
    expect(await operationCount(server)).toBe(0);
  });

  it('closes the socket with 1009 on a 70 KB frame (MAX_WS_MESSAGE_BYTES is 65536)', async () => {
    const server = await startTestServer();
    const raw = await connected(server);
    const query = `subscription { operationsUpdated { id } } # ${'x'.repeat(70 * 1024)}`;
    raw.send(subscribeMessage('1', query));
    expect((await raw.closed).code).toBe(1009);
    await stillServes(server);
  });

  it('accepts a frame just under the limit', async () => {
    const server = await startTestServer();
    const raw = await connected(server);
    raw.send({ type: 'ping', payload: { pad: 'x'.repeat(60 * 1024) } });
    expect(await raw.messages.next()).toEqual({
      type: 'pong',
      payload: { pad: 'x'.repeat(60 * 1024) },
    });
  });

  it('closes the socket with 1007 on a text frame that is not UTF-8', async () => {
    const server = await startTestServer();
    const raw = await connected(server);
    raw.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    expect((await raw.closed).code).toBe(1007);
    await stillServes(server);
  });

  it('closes a socket sending endless 1-byte fragments without FIN (1008/1009), long before memory grows', async () => {
    const server = await startTestServer();
    const socket = connectTcp(server.app.port, '127.0.0.1');
    tcpSockets.add(socket);
    await once(socket, 'connect');
    socket.write(
      [
        'GET /graphql HTTP/1.1',
        `Host: 127.0.0.1:${server.app.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        `Sec-WebSocket-Protocol: ${PROTOCOL}`,
        '',
        '',
      ].join('\r\n'),
    );
    let received = Buffer.alloc(0);
    const incoming = new EventQueue<true>();
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      incoming.push(true);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => incoming.end());
    while (!received.includes('\r\n\r\n')) await incoming.next();
    const headerEnd = received.indexOf('\r\n\r\n') + 4;
    expect(received.subarray(0, headerEnd).toString()).toMatch(/^HTTP\/1\.1 101 /);
    received = received.subarray(headerEnd);

    // Text frame `{` without FIN, then continuation frames of one space, never FIN: a message
    // that never ends. ws (≥ 8.21.1) caps fragments (16384) and payload (maxPayload).
    const batch = Buffer.concat(
      Array.from({ length: 1000 }, () => maskedFrame(0x0, false, Buffer.from(' '))),
    );
    await write(socket, maskedFrame(0x1, false, Buffer.from('{')));
    const maxFragments = 200_000; // bounded: 1.4 MB at most
    let sent = 1;
    while (received.length < 4 && sent < maxFragments && !socket.destroyed) {
      const ok = await write(socket, batch);
      if (!ok) break;
      sent += 1000;
      // Server and client share this event loop: let the server read before writing more.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => received.length >= 4 || socket.destroyed, 'the server to answer');
    // The server's close frame: FIN + opcode 8, then the status code.
    expect(received[0]).toBe(0x88);
    expect([1008, 1009]).toContain(received.readUInt16BE(2));
    expect(sent).toBeLessThan(maxFragments);
    socket.destroy();
    await waitFor(() => server.app.gauges().sockets === 0, 'the socket to be dropped');
    await stillServes(server);
  });
});

/** A client frame (always masked). */
function maskedFrame(opcode: number, fin: boolean, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error('short frames only');
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([
    Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]),
    mask,
    masked,
  ]);
}

/** Writes and waits until it is handed to the kernel; false once the socket is gone. */
function write(socket: Socket, data: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(false);
    socket.write(data, (error) => resolve(!error));
  });
}

describe('bad subscribe payloads (W35)', () => {
  it('answers a syntax error with an error for that id and keeps the socket open', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 10, steps: 1 } });
    const raw = await connected(server);
    raw.send(subscribeMessage('bad', 'subscription { operationUpdated(id: "x") { id '));
    const error = await raw.messages.next();
    expect(error).toMatchObject({ id: 'bad', type: 'error' });
    expect((error.payload as Array<{ message: string }>)[0]?.message).toMatch(/^Syntax Error/);

    raw.send(subscribeMessage('unknown-field', 'subscription { operationsUpdated { nope } }'));
    const invalid = await raw.messages.next();
    expect(invalid).toMatchObject({ id: 'unknown-field', type: 'error' });
    expect((invalid.payload as Array<{ message: string }>)[0]?.message).toMatch(/nope/);

    raw.send(subscribeMessage('good', WATCH, { id: op.id }));
    const seen = await raw.messages.until((m) => m.type === 'complete');
    expect(seen.every((m) => m.id === 'good')).toBe(true);
    expect(opOf(seen.at(-2) as ServerMessage).status).toBe('SUCCEEDED');
    // The id of the failed subscribe is free again.
    raw.send(subscribeMessage('bad', WATCH, { id: op.id }));
    expect(opOf(await raw.messages.next())).toMatchObject({ status: 'SUCCEEDED' });
    expect(await raw.messages.next()).toEqual({ id: 'bad', type: 'complete' });
    raw.send({ type: 'ping' });
    expect(await raw.messages.next()).toEqual({ type: 'pong' });
  });
});

describe('subscriptions per socket (W42)', () => {
  it(`refuses subscription number ${MAX_SUBSCRIPTIONS_PER_SOCKET + 1} for its id only; the others keep streaming`, async () => {
    expect(MAX_SUBSCRIPTIONS_PER_SOCKET).toBe(50);
    const { server, op, run } = await startControlled();
    const raw = await connected(server);
    const ids = Array.from({ length: 50 }, (_, i) => `s${i + 1}`);
    for (const id of ids) raw.send(subscribeMessage(id, WATCH, { id: op.id }));
    const first = await raw.messages.until(countOf(50, (m) => m.type === 'next'));
    expect(new Set(first.map((m) => m.id))).toEqual(new Set(ids));
    expect(first.every((m) => m.type === 'next' && opOf(m).revision === 2)).toBe(true);
    expect(server.app.gauges().streams).toBe(50);

    raw.send(subscribeMessage('s51', WATCH, { id: op.id }));
    const refused = await raw.messages.next();
    expect(refused).toMatchObject({ id: 's51', type: 'error' });
    expect((refused.payload as Array<{ message: string }>)[0]?.message).toBe(
      'At most 50 subscriptions may be open on one socket.',
    );

    await run.context.progress(0.5, 'half');
    const progressed = await raw.messages.until(countOf(50, (m) => m.type === 'next'));
    expect(progressed).toHaveLength(50);
    expect(new Set(progressed.map((m) => m.id))).toEqual(new Set(ids));
    expect(progressed.every((m) => opOf(m).revision === 3)).toBe(true);

    // Completing one frees a place, exactly one.
    raw.send({ id: 's1', type: 'complete' });
    await waitFor(() => server.app.gauges().streams === 49, 's1 to end');
    raw.send(subscribeMessage('s52', WATCH, { id: op.id }));
    expect(await raw.messages.next()).toMatchObject({ id: 's52', type: 'next' });
    raw.send(subscribeMessage('s53', WATCH, { id: op.id }));
    expect(await raw.messages.next()).toMatchObject({ id: 's53', type: 'error' });

    run.finish({ ok: true });
    const live = [...ids.slice(1), 's52'];
    const end = await raw.messages.until(countOf(50, (m) => m.type === 'complete'));
    for (const id of live) {
      const mine = end.filter((m) => m.id === id);
      expect(mine.map((m) => m.type)).toEqual(['next', 'complete']);
      expect(opOf(mine[0] as ServerMessage)).toMatchObject({ status: 'SUCCEEDED', revision: 4 });
    }
    expect(server.app.gauges().streams).toBe(0);
  });
});

function countOf(n: number, match: (m: ServerMessage) => boolean) {
  let count = 0;
  return (m: ServerMessage) => match(m) && ++count === n;
}

describe('subscription event frames', () => {
  it('sends each event as a text frame holding its next message, the same bytes to every socket that used the same id', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
    const sockets = [await connected(server), await connected(server)];
    const frames = sockets.map((raw) => {
      const seen: { text: string; binary: boolean }[] = [];
      raw.ws.on('message', (data, binary) => seen.push({ text: String(data), binary }));
      raw.send(subscribeMessage('w', WATCH, { id: op.id }));
      return seen;
    });
    for (const raw of sockets) await raw.messages.next(); // the current state
    expect((await alice.cancel(op.id)).__typename).toBe('CancelOperationSuccess');
    for (const raw of sockets) await raw.messages.until((m) => m.type === 'complete');

    const [first, second] = frames;
    expect(first?.every((frame) => !frame.binary)).toBe(true);
    expect(second?.map((frame) => frame.text)).toEqual(first?.map((frame) => frame.text));
    const messages = (first ?? []).map((frame) => JSON.parse(frame.text) as ServerMessage);
    expect(messages.at(-1)).toEqual({ id: 'w', type: 'complete' });
    expect(messages.at(-2)).toEqual({
      id: 'w',
      type: 'next',
      payload: {
        data: {
          operationUpdated: { id: op.id, status: 'CANCELLED', revision: expect.any(Number) },
        },
      },
    });
    const revisions = messages.slice(0, -1).map((message) => opOf(message).revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  });
});

describe('socket lifetime', () => {
  it('a client complete ends that stream only; the handler keeps running', async () => {
    const { server, op, run } = await startControlled();
    const raw = await connected(server);
    raw.send(subscribeMessage('a', WATCH, { id: op.id }));
    raw.send(subscribeMessage('b', WATCH, { id: op.id }));
    await raw.messages.until(countOf(2, (m) => m.type === 'next'));
    raw.send({ id: 'a', type: 'complete' });
    await waitFor(() => server.app.gauges().streams === 1, 'stream a to end');
    await run.context.progress(0.5);
    expect(await raw.messages.next()).toMatchObject({ id: 'b', type: 'next' });
    run.finish(null);
    expect(opOf(await raw.messages.next())).toMatchObject({ status: 'SUCCEEDED' });
    expect(await raw.messages.next()).toEqual({ id: 'b', type: 'complete' });
  });

  it('ends every stream of a socket that drops, over 200 connect/subscribe/abrupt-close cycles (W38)', async () => {
    const { server, alice, op, run } = await startControlled();
    for (let cycle = 0; cycle < 200; cycle++) {
      const raw = await connected(server);
      raw.send(subscribeMessage('1', WATCH, { id: op.id }));
      raw.send(subscribeMessage('2', 'subscription { operationsUpdated { id } }'));
      // Every other cycle drops the socket while its subscriptions may still be setting up.
      if (cycle % 2 === 0)
        expect(await raw.messages.next()).toMatchObject({ id: '1', type: 'next' });
      if (cycle === 0) {
        await waitFor(() => server.app.gauges().streams === 2, 'both streams to open');
        expect(server.app.gauges().sockets).toBe(1);
      }
      raw.ws.terminate();
      rawSockets.delete(raw.ws);
    }
    await waitFor(
      () => server.app.gauges().streams === 0 && server.app.gauges().sockets === 0,
      'every stream and socket to close',
    );
    expect(server.app.gauges()).toEqual({ streams: 0, sockets: 0, runs: 1 });
    run.finish(null);
    await waitFor(async () => (await alice.get(op.id))?.status === 'SUCCEEDED', 'the run to end');
  });
});
