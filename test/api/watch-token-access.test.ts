import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gql, mapOps, sse, sseGet, userClient, wsClient } from '../helpers/clients.js';
import { startBlocking } from '../helpers/handlers.js';
import { EventQueue } from '../helpers/queue.js';
import { startTestServer, TEST_SECRET, type TestServer, tokenFor } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { mintTestWatchToken, watchTokenFor } from '../helpers/watch.js';

const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';
const READ = 'query($id: ID!) { operation(id: $id) { id status } }';
const URL_REFUSAL =
  'access_token takes a valid watch token, on a GET subscription over SSE only; user tokens are never accepted in a URL: send them in the Authorization header.';

/** A GET of `params` (with the watch subscription) answered with 401 and `message`. */
async function expectUrlRefusal(
  server: TestServer,
  params: Record<string, string | string[]>,
  init: { accept?: string; method?: string; headers?: Record<string, string> } = {},
  message = URL_REFUSAL,
): Promise<void> {
  const url = new URL(server.url);
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(name, one);
  }
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      accept: init.accept ?? 'text/event-stream',
      ...(init.method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.method === 'POST'
      ? { body: JSON.stringify({ query: params.query, variables: params.variables }) }
      : {}),
  });
  expect(response.status).toBe(401);
  expect(response.headers.get('content-type')).not.toMatch(/event-stream/);
  expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  expect(await response.json()).toEqual({
    errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }],
  });
}

/** The first WebSocket exchange with `token` in connection_init: acknowledged, or the close. */
async function handshake(url: string, token: string) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const outcome = new EventQueue<'ack' | { code: number; reason: string }>();
  socket.on('open', () =>
    socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
    ),
  );
  socket.on('message', (data) => {
    if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack')
      outcome.push('ack');
  });
  socket.on('close', (code, reason) => outcome.push({ code, reason: reason.toString() }));
  socket.on('error', () => undefined);
  try {
    return await outcome.next();
  } finally {
    socket.terminate();
  }
}

/** alice's RUNNING operation and a watch token for it. */
async function watched() {
  const { server, started, alice } = await startBlocking();
  const op = await alice.start({ kind: 'test.block' });
  await started.next();
  const token = await watchTokenFor(server.url, alice.token, op.id);
  return { server, alice, op, token };
}

describe('access_token on a GET subscription over SSE (a browser EventSource)', () => {
  it('streams the operation from its current state to its end, and keeps the token out of the logs', async () => {
    const { server, alice, op, token } = await watched();
    const stream = await sseGet(server.url, WATCH, { id: op.id }, { access_token: token });
    expect(stream.status).toBe(200);
    const ops = mapOps(stream.results, 'operationUpdated');
    expect(await ops.next()).toMatchObject({ id: op.id, status: 'RUNNING', revision: 2 });
    await alice.cancel(op.id, 'enough');
    expect((await ops.rest()).map((o) => o.status)).toEqual(['CANCELLING', 'CANCELLED']);
    expect((await stream.events.rest()).at(-1)?.event).toBe('complete');
    const logged = server.logs.map((line) => JSON.stringify(line));
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.filter((line) => line.includes(token))).toEqual([]);
    expect(logged.filter((line) => line.includes(token.split('.')[2] ?? '-'))).toEqual([]);
  });

  it('refuses a user token in access_token, even a valid admin one, before anything runs', async () => {
    const { server, op } = await watched();
    for (const userToken of [tokenFor('alice'), tokenFor('root', { admin: true })]) {
      const params = { query: WATCH, variables: JSON.stringify({ id: op.id }) };
      await expectUrlRefusal(server, { ...params, access_token: userToken });
      await expectUrlRefusal(
        server,
        { query: READ, variables: JSON.stringify({ id: op.id }), access_token: userToken },
        { accept: 'application/graphql-response+json' },
      );
    }
  });

  it('accepts access_token only alone, once, on a GET that asks for an event stream', async () => {
    const { server, op, token } = await watched();
    const params = { query: WATCH, variables: JSON.stringify({ id: op.id }) };
    await expectUrlRefusal(server, { ...params, access_token: [token, token] });
    await expectUrlRefusal(server, { ...params, access_token: token }, { method: 'POST' });
    await expectUrlRefusal(
      server,
      { query: READ, variables: JSON.stringify({ id: op.id }), access_token: token },
      { accept: 'application/json' },
    );
    await expectUrlRefusal(
      server,
      { ...params, access_token: token },
      { headers: { authorization: `Bearer ${token}` } },
    );
    await expectUrlRefusal(server, { ...params, access_token: `${token}x` });
    await expectUrlRefusal(server, { ...params, access_token: '' });
  });
});

describe('an expired watch token', () => {
  it('is refused on HTTP, SSE (header and access_token) and WebSocket', async () => {
    const { server, op } = await watched();
    // Issued two hours ago for one: an hour past its exp, far beyond any clock tolerance.
    const expired = mintTestWatchToken('alice', op.id, 3_600, Date.now() - 7_200_000);
    const read = await gql(server.url, expired, READ, { id: op.id });
    expect(read.status).toBe(401);
    expect(read.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const overSse = await sse(server.url, expired, WATCH, { id: op.id });
    expect(overSse.status).toBe(401);
    await expectUrlRefusal(server, {
      query: WATCH,
      variables: JSON.stringify({ id: op.id }),
      access_token: expired,
    });
    expect(await handshake(server.wsUrl, expired)).toMatchObject({ code: 4403 });
    // Control: the same grant, current, is accepted.
    const current = mintTestWatchToken('alice', op.id, 3_600);
    expect((await gql(server.url, current, READ, { id: op.id })).body.data).toEqual({
      operation: { id: op.id, status: 'RUNNING' },
    });
    expect(await handshake(server.wsUrl, current)).toBe('ack');
  });

  it('ends the streams it opened when it expires: SSE ends, the socket closes with 4403', async () => {
    const server = await startTestServer({ JWT_CLOCK_TOLERANCE_SEC: '0' });
    const alice = userClient(server, 'alice');
    const { id } = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000 } });
    const token = await watchTokenFor(server.url, alice.token, id, 2);
    const ws = wsClient(server.wsUrl, token);
    const overWs = ws.subscribe(WATCH, { id }).results;
    const overSse = await sseGet(server.url, WATCH, { id }, { access_token: token });
    await overWs.next();
    await overSse.results.next();
    expect(await ws.closes.next()).toMatchObject({ code: 4403 });
    await overSse.events.waitEnd();
    await waitFor(async () => (await gql(server.url, token, READ, { id })).status === 401, 'exp');
  });
});

describe('the key of watch tokens', () => {
  it('works with JWT_PUBLIC_KEY set (user tokens RS256, watch tokens their own HS256 key)', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const server = await startTestServer({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: publicPem });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const alice = jwt.sign({ sub: 'alice', exp }, pair.privateKey, { algorithm: 'RS256' });
    const started = await gql<{ startOperation: { operation: { id: string } } }>(
      server.url,
      alice,
      `mutation { startOperation(input: { kind: "demo.sleep", input: { ms: 0, steps: 1 } }) {
        ... on StartOperationSuccess { operation { id } } } }`,
    );
    const id = started.body.data?.startOperation.operation.id ?? '';
    const token = await watchTokenFor(server.url, alice, id);
    const stream = await sseGet(server.url, WATCH, { id }, { access_token: token });
    expect(stream.status).toBe(200);
    const last = (await mapOps(stream.results, 'operationUpdated').rest()).at(-1);
    expect(last).toMatchObject({ id, status: 'SUCCEEDED' });
    // Control: an HS256 user token is refused, so the watch token did not pass as one.
    expect((await gql(server.url, tokenFor('alice'), READ, { id })).status).toBe(401);
  });

  it('is made in DATA_DIR outside production (mode 0600) and outlives a restart', async () => {
    const first = await startTestServer({ WATCH_TOKEN_SECRET: undefined });
    const file = join(first.dataDir, 'dev-watch-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secret = readFileSync(file, 'utf8').trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(secret).not.toBe(TEST_SECRET);
    const alice = tokenFor('alice');
    const started = await gql<{ startOperation: { operation: { id: string } } }>(
      first.url,
      alice,
      `mutation { startOperation(input: { kind: "demo.sleep", input: { ms: 0, steps: 1 } }) {
        ... on StartOperationSuccess { operation { id } } } }`,
    );
    const id = started.body.data?.startOperation.operation.id ?? '';
    const token = await watchTokenFor(first.url, alice, id);
    await first.stop();
    const second = await startTestServer(
      { WATCH_TOKEN_SECRET: undefined },
      { dataDir: first.dataDir },
    );
    const read = await gql(second.url, token, READ, { id });
    expect(read.body.data).toEqual({ operation: { id, status: 'SUCCEEDED' } });
    // The configured key of the test servers is another key: that token means nothing there.
    const third = await startTestServer({}, { dataDir: first.dataDir });
    expect((await gql(third.url, token, READ, { id })).status).toBe(401);
  });
});

describe('quotas of a watch token', () => {
  it("count against its operation, not against the user who granted it: a link holder cannot use up the user's", async () => {
    const limited = await startTestServer({
      MAX_SUBSCRIPTIONS_PER_USER: '1',
      MAX_SOCKETS_PER_USER: '1',
    });
    const owner = userClient(limited, 'alice');
    const op = await owner.start({ kind: 'demo.sleep', input: { ms: 600_000 } });
    const token = await watchTokenFor(limited.url, owner.token, op.id);
    // The link holder takes the operation's one socket and one stream...
    const holder = wsClient(limited.wsUrl, token);
    const held = mapOps(holder.subscribe(WATCH, { id: op.id }).results, 'operationUpdated');
    await held.next();
    expect((await sse(limited.url, token, WATCH, { id: op.id })).status).toBe(429);
    expect(await handshake(limited.wsUrl, token)).toMatchObject({ code: 1008 });
    // ...and alice still has hers.
    const own = wsClient(limited.wsUrl, owner.token);
    const mine = mapOps(own.subscribe(WATCH, { id: op.id }).results, 'operationUpdated');
    expect((await mine.next()).id).toBe(op.id);
    expect(limited.app.usage('alice')).toEqual({ sockets: 1, subscriptions: 1 });
  });
});
