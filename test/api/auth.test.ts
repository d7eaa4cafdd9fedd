import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gql, sse, userClient, wsClient } from '../helpers/clients.js';
import { startBlocking, tickingKind } from '../helpers/handlers.js';
import { EventQueue } from '../helpers/queue.js';
import {
  NO_SHUTDOWN_GRACE,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  tokenFor,
} from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token built by hand, for shapes jsonwebtoken refuses to sign (alg none, bad claims). */
function handMade(
  payload: unknown,
  { alg = 'HS256', key = TEST_SECRET as string | Buffer, header = {} as object } = {},
): string {
  const input = `${b64({ alg, typ: 'JWT', ...header })}.${b64(payload)}`;
  const hash = ({ HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as Record<string, string>)[
    alg
  ];
  const signature =
    hash === undefined ? '' : createHmac(hash, key).update(input).digest('base64url');
  return `${input}.${signature}`;
}

const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'mallory',
  exp: now() + 600,
  ...extra,
});

/** Flips the first character of the signature, so every decoded byte-run changes. */
function badSignature(token: string): string {
  const [header, payload, signature = ''] = token.split('.');
  const first = signature[0] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${first}${signature.slice(1)}`;
}

const START = `mutation($input: StartOperationInput!) { startOperation(input: $input) {
  __typename ... on StartOperationSuccess { operation { id } } } }`;
const COUNT = '{ operations { totalCount } }';
const VIEWER = '{ viewer { id isAdmin } }';
const FEED = 'subscription { operationsUpdated { id revision } }';

/** The first WebSocket exchange by hand: whether `connection_ack` came, and the close. */
async function handshake(
  url: string,
  initPayload: Record<string, unknown> | undefined,
): Promise<{
  acked: boolean;
  messages: Array<{ type: string }>;
  close: { code: number; reason: string } | null;
}> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const messages: Array<{ type: string }> = [];
  const outcome = new EventQueue<'ack' | { code: number; reason: string }>();
  socket.on('open', () =>
    socket.send(
      JSON.stringify(
        initPayload === undefined
          ? { type: 'connection_init' }
          : { type: 'connection_init', payload: initPayload },
      ),
    ),
  );
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string };
    messages.push(message);
    if (message.type === 'connection_ack') outcome.push('ack');
  });
  socket.on('close', (code, reason) => outcome.push({ code, reason: reason.toString() }));
  socket.on('error', () => undefined);
  try {
    const first = await outcome.next(10_000);
    if (first === 'ack') return { acked: true, messages, close: null };
    return { acked: false, messages, close: first };
  } finally {
    socket.terminate();
  }
}

/** Expects `authorization` (an `Authorization` value, or null for none) to be refused everywhere. */
async function expectRefusedEverywhere(
  server: TestServer,
  authorization: string | null,
  adminToken: string,
): Promise<void> {
  const headers: Record<string, string> = authorization === null ? {} : { authorization };

  // HTTP: 401 with UNAUTHENTICATED, no data, and no row written.
  const started = await gql(server.url, null, START, { input: { kind: 'demo.sleep' } }, headers);
  expect(started.status).toBe(401);
  expect(started.body.data).toBeUndefined();
  expect(started.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(started.headers.get('www-authenticate')).toMatch(/^Bearer( error="invalid_token")?$/);

  const read = await gql(server.url, null, VIEWER, undefined, headers);
  expect(read.status).toBe(401);
  expect(read.body.data).toBeUndefined();
  expect(read.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

  const viaGet = await fetch(`${server.url}?query=${encodeURIComponent(VIEWER)}`, {
    headers: { accept: 'application/graphql-response+json', ...headers },
  });
  expect(viaGet.status).toBe(401);
  const getBody = (await viaGet.json()) as {
    data?: unknown;
    errors: Array<{ extensions: { code: string } }>;
  };
  expect(getBody.data).toBeUndefined();
  expect(getBody.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');

  // SSE: 401, not an event stream, no event.
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query: FEED }),
  });
  expect(response.status).toBe(401);
  expect(response.headers.get('content-type')).not.toMatch(/event-stream/);
  const sseBody = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
  expect(sseBody.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');

  // WebSocket: closed with 4403 during connection_init, never acknowledged.
  const ws = await handshake(server.wsUrl, authorization === null ? {} : { authorization });
  expect(ws).toMatchObject({ acked: false, close: { code: 4403 } });
  expect(ws.messages).toEqual([]);

  // Nothing was written by any of the attempts.
  const count = await gql<{ operations: { totalCount: number } }>(server.url, adminToken, COUNT);
  expect(count.status).toBe(200);
  expect(count.body.data?.operations.totalCount).toBe(0);
}

/** Expects `token` to be accepted on all three transports (the control for each table). */
async function expectAcceptedEverywhere(server: TestServer, token: string, sub: string) {
  const viewer = await gql<{ viewer: { id: string } }>(server.url, token, VIEWER);
  expect(viewer.status).toBe(200);
  expect(viewer.body.data?.viewer.id).toBe(sub);
  const stream = await sse(server.url, token, FEED);
  expect(stream.status).toBe(200);
  stream.close();
  const ws = await handshake(server.wsUrl, { authorization: `Bearer ${token}` });
  expect(ws.acked).toBe(true);
}

describe('authentication with HS256 (JWT_SECRET)', () => {
  const valid = () => tokenFor('mallory');
  const twoParts = () => valid().split('.').slice(0, 2).join('.');
  const cases: Array<[string, () => string | null]> = [
    ['no Authorization header', () => null],
    ['an empty Authorization header', () => ''],
    ['"Bearer" with no token', () => 'Bearer '],
    ['another scheme (Basic)', () => `Basic ${Buffer.from('mallory:pw').toString('base64')}`],
    ['a bare token without the scheme', () => valid()],
    ['alg none with no signature', () => `Bearer ${handMade(claims(), { alg: 'none' })}`],
    ['alg none with a junk signature', () => `Bearer ${handMade(claims(), { alg: 'none' })}AAAA`],
    ['HS384 with the right secret', () => `Bearer ${handMade(claims(), { alg: 'HS384' })}`],
    ['HS512 with the right secret', () => `Bearer ${handMade(claims(), { alg: 'HS512' })}`],
    ['a bad signature', () => `Bearer ${badSignature(valid())}`],
    [
      'HS256 signed with another secret',
      () => `Bearer ${handMade(claims(), { key: `${TEST_SECRET}x` })}`,
    ],
    ['a truncated signature', () => `Bearer ${valid().slice(0, -6)}`],
    ['header and payload only', () => `Bearer ${twoParts()}`],
    ['header, payload and an empty signature', () => `Bearer ${twoParts()}.`],
    ['two tokens separated by a comma', () => `Bearer ${valid()}, Bearer ${valid()}`],
    ['two tokens separated by a space', () => `Bearer ${valid()} ${valid()}`],
    ['no exp', () => `Bearer ${handMade({ sub: 'mallory' })}`],
    [
      'exp a minute ago (beyond the tolerance)',
      () => `Bearer ${handMade(claims({ exp: now() - 60 }))}`,
    ],
    ['exp as a numeric string', () => `Bearer ${handMade(claims({ exp: String(now() + 600) }))}`],
    ['exp as a non-numeric string', () => `Bearer ${handMade(claims({ exp: 'tomorrow' }))}`],
    ['exp null', () => `Bearer ${handMade(claims({ exp: null }))}`],
    ['nbf ten minutes ahead', () => `Bearer ${handMade(claims({ nbf: now() + 600 }))}`],
    ['no sub', () => `Bearer ${handMade({ exp: now() + 600 })}`],
    ['an empty sub', () => `Bearer ${handMade(claims({ sub: '' }))}`],
    ['a blank sub', () => `Bearer ${handMade(claims({ sub: '   ' }))}`],
    ['a numeric sub', () => `Bearer ${handMade(claims({ sub: 42 }))}`],
    ['a sub holding NUL', () => `Bearer ${handMade(claims({ sub: 'mal\u0000lory' }))}`],
    [
      'a sub holding a lone surrogate',
      () => `Bearer ${handMade(claims({ sub: 'mallory\uD800' }))}`,
    ],
    ['a sub holding ESC', () => `Bearer ${handMade(claims({ sub: 'mallory\u001b[2J' }))}`],
    ['a sub holding a line break', () => `Bearer ${handMade(claims({ sub: 'mallory\nroot' }))}`],
    ['a sub holding a C1 control', () => `Bearer ${handMade(claims({ sub: 'mallory\u0085' }))}`],
    ['a payload that is not an object', () => `Bearer ${handMade(['mallory'])}`],
  ];

  it.each(cases)('refuses %s on HTTP, SSE and WebSocket', async (_name, authorization) => {
    const server = await startTestServer();
    await expectRefusedEverywhere(server, authorization(), tokenFor('root', { admin: true }));
  });

  it.each([
    ['no Authorization header', 'Bearer', () => null],
    ['another scheme (Basic)', 'Bearer', () => 'Basic bWFsbG9yeTpwdw=='],
    ['a bad signature', 'Bearer error="invalid_token"', () => `Bearer ${badSignature(valid())}`],
    [
      'an expired token',
      'Bearer error="invalid_token"',
      () => `Bearer ${handMade(claims({ exp: now() - 60 }))}`,
    ],
    ['"Bearer" with no token', 'Bearer error="invalid_token"', () => 'Bearer'],
  ])(
    'challenges %s on HTTP and SSE with WWW-Authenticate: %s (RFC 6750 §3)',
    async (_name, challenge, authorization) => {
      const server = await startTestServer();
      const value = authorization();
      const headers: Record<string, string> = value === null ? {} : { authorization: value };
      const http = await gql(server.url, null, VIEWER, undefined, headers);
      expect(http.status).toBe(401);
      expect(http.headers.get('www-authenticate')).toBe(challenge);
      const stream = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
        body: JSON.stringify({ query: FEED }),
      });
      expect(stream.status).toBe(401);
      expect(stream.headers.get('www-authenticate')).toBe(challenge);
    },
  );

  it('accepts a valid HS256 token on HTTP, SSE and WebSocket (control)', async () => {
    const server = await startTestServer();
    await expectAcceptedEverywhere(server, valid(), 'mallory');
    await expectAcceptedEverywhere(server, handMade(claims()), 'mallory');
    const lower = await gql(server.url, null, VIEWER, undefined, {
      authorization: `bearer ${valid()}`,
    });
    expect(lower.status).toBe(200);
  });

  it('serves the GraphiQL page without a token, but never runs a query for it', async () => {
    const server = await startTestServer();
    const query = encodeURIComponent('{ viewer { id } }');
    for (const accept of [
      'text/html',
      'application/json, text/html',
      'text/event-stream, text/html',
    ]) {
      const response = await fetch(`${server.url}?query=${query}`, { headers: { accept } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/^\s*<!doctype html>/i);
    }
  });

  it('refuses a cancel with a bad token and leaves the operation unchanged', async () => {
    const { server, started, alice } = await startBlocking();
    const op = await alice.start({ kind: 'test.block' });
    await started.next();
    const before = await alice.get(op.id);
    expect(before?.status).toBe('RUNNING');

    const forged = `Bearer ${handMade(claims({ sub: 'alice' }), { alg: 'HS512' })}`;
    const cancel = await gql(
      server.url,
      null,
      'mutation($id: ID!) { cancelOperation(input: { id: $id }) { __typename } }',
      { id: op.id },
      { authorization: forged },
    );
    expect(cancel.status).toBe(401);
    expect(cancel.body.data).toBeUndefined();
    expect(cancel.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await alice.get(op.id)).toEqual(before);
  });
});

describe('authentication with JWT_ISSUER and JWT_AUDIENCE', () => {
  const env = { JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'longrun' };
  const signed = (extra: Record<string, unknown>) =>
    `Bearer ${handMade(claims({ iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE, ...extra }))}`;
  const cases: Array<[string, () => string]> = [
    ['a wrong iss', () => signed({ iss: 'https://evil.example' })],
    ['no iss', () => signed({ iss: undefined })],
    ['a wrong aud', () => signed({ aud: 'someone-else' })],
    ['an aud list without ours', () => signed({ aud: ['a', 'b'] })],
    ['no aud', () => signed({ aud: undefined })],
    ['the plain test token (neither iss nor aud)', () => `Bearer ${tokenFor('mallory')}`],
  ];
  const admin = () =>
    handMade({
      sub: 'root',
      roles: ['admin'],
      exp: now() + 600,
      iss: env.JWT_ISSUER,
      aud: env.JWT_AUDIENCE,
    });

  it.each(cases)('refuses %s', async (_name, authorization) => {
    const server = await startTestServer(env);
    await expectRefusedEverywhere(server, authorization(), admin());
  });

  it('accepts the right iss and aud, also within an aud list (control)', async () => {
    const server = await startTestServer(env);
    await expectAcceptedEverywhere(server, signed({}).slice('Bearer '.length), 'mallory');
    const listed = signed({ aud: ['other', env.JWT_AUDIENCE] }).slice('Bearer '.length);
    await expectAcceptedEverywhere(server, listed, 'mallory');
  });
});

describe('authentication with RS256 (JWT_PUBLIC_KEY)', () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const env = { JWT_SECRET: undefined, JWT_PUBLIC_KEY: publicPem };
  const rs256 = (payload: object, key: KeyObject = pair.privateKey) =>
    jwt.sign(payload, key, { algorithm: 'RS256' });
  const cases: Array<[string, () => string]> = [
    [
      'HS256 MACed with the public key PEM (algorithm confusion)',
      () => `Bearer ${handMade(claims(), { key: publicPem })}`,
    ],
    [
      'HS256 MACed with the DER public key',
      () =>
        `Bearer ${handMade(claims(), { key: pair.publicKey.export({ type: 'spki', format: 'der' }) })}`,
    ],
    ['HS256 signed with the test secret', () => `Bearer ${tokenFor('mallory')}`],
    ['alg none', () => `Bearer ${handMade(claims(), { alg: 'none' })}`],
    ['RS256 signed by another key', () => `Bearer ${rs256(claims(), other.privateKey)}`],
    [
      'RS512 signed by the right key',
      () => `Bearer ${jwt.sign(claims(), pair.privateKey, { algorithm: 'RS512' })}`,
    ],
    [
      'PS256 signed by the right key',
      () => `Bearer ${jwt.sign(claims(), pair.privateKey, { algorithm: 'PS256' })}`,
    ],
    ['RS256 with no exp', () => `Bearer ${rs256({ sub: 'mallory' })}`],
  ];

  it.each(cases)('refuses %s', async (_name, authorization) => {
    const server = await startTestServer(env);
    await expectRefusedEverywhere(
      server,
      authorization(),
      rs256(claims({ sub: 'root', roles: ['admin'] })),
    );
  });

  it('accepts RS256 signed by the configured key (control)', async () => {
    const server = await startTestServer(env);
    await expectAcceptedEverywhere(server, rs256(claims()), 'mallory');
  });
});

describe('authentication with ES256 (JWT_PUBLIC_KEY on P-256)', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const env = { JWT_SECRET: undefined, JWT_PUBLIC_KEY: publicPem };
  const es256 = (payload: object) => jwt.sign(payload, pair.privateKey, { algorithm: 'ES256' });

  it.each([
    [
      'HS256 MACed with the public key PEM (algorithm confusion)',
      () => `Bearer ${handMade(claims(), { key: publicPem })}`,
    ],
    ['HS256 signed with the test secret', () => `Bearer ${tokenFor('mallory')}`],
    ['alg none', () => `Bearer ${handMade(claims(), { alg: 'none' })}`],
  ])('refuses %s', async (_name, authorization) => {
    const server = await startTestServer(env);
    await expectRefusedEverywhere(
      server,
      authorization(),
      es256(claims({ sub: 'root', roles: ['admin'] })),
    );
  });

  it('accepts ES256 signed by the configured key (control)', async () => {
    const server = await startTestServer(env);
    await expectAcceptedEverywhere(server, es256(claims()), 'mallory');
  });
});

describe('roles', () => {
  it.each([
    ['roles: "admin" (a string)', { roles: 'admin' }, false],
    ['roles: ["Admin"]', { roles: ['Admin'] }, false],
    ['roles: ["ADMIN"]', { roles: ['ADMIN'] }, false],
    ['roles: [" admin"]', { roles: [' admin'] }, false],
    ['roles: { admin: true }', { roles: { admin: true } }, false],
    ['no roles', {}, false],
    ['roles: ["admin"]', { roles: ['admin'] }, true],
    ['roles: ["reader", "admin"]', { roles: ['reader', 'admin'] }, true],
  ] as const)('%s → authenticated, isAdmin %s', async (_name, extra, isAdmin) => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const token = handMade(claims({ sub: 'carol', ...extra }));

    const seen = await gql<{
      viewer: { id: string; isAdmin: boolean };
      operation: { id: string } | null;
      operations: { totalCount: number };
    }>(
      server.url,
      token,
      'query($id: ID!) { viewer { id isAdmin } operation(id: $id) { id } operations { totalCount } }',
      { id: op.id },
    );
    expect(seen.status).toBe(200);
    expect(seen.body.errors).toBeUndefined();
    expect(seen.body.data).toEqual({
      viewer: { id: 'carol', isAdmin },
      operation: isAdmin ? { id: op.id } : null,
      operations: { totalCount: isAdmin ? 1 : 0 },
    });

    const ws = wsClient(server.wsUrl, token);
    const viaWs = ws.subscribe(VIEWER);
    expect(await viaWs.results.next()).toEqual({ data: { viewer: { id: 'carol', isAdmin } } });
  });
});

describe('token expiry', () => {
  const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id revision updatedAt } }';

  /**
   * A token for alice that expires 3 to 4 s from now (whole seconds), and its exp in ms: made once
   * the server and the operation are up, it leaves the stream seconds of events before exp even on
   * a loaded machine.
   */
  function shortToken(): { token: string; expMs: number } {
    const exp = now() + 4;
    return { token: handMade({ sub: 'alice', exp }), expMs: exp * 1000 };
  }

  /**
   * The servers accept tokens up to 30 s past exp (the largest JWT_CLOCK_TOLERANCE_SEC), yet must
   * end streams at exp itself: an end within half that tolerance tells the two apart with room
   * for a slow machine (the latency figure belongs in a bench).
   */
  const TOLERANCE = { JWT_CLOCK_TOLERANCE_SEC: '30' };
  const AT_EXP_MS = 15_000;

  /** Waits until the ticking operation has a revision committed after `expMs`. */
  async function changedAfter(server: TestServer, id: string, expMs: number) {
    const alice = userClient(server, 'alice');
    await waitFor(async () => {
      const op = await alice.get(id);
      return op !== null && Date.parse(op.updatedAt) > expMs;
    }, 'a change after exp');
  }

  it.each([
    ['', false],
    [', even when the event loop is busy at exp', true],
  ])(
    'closes a busy WebSocket subscription with 4403 at exp, with no next after exp%s',
    { timeout: 60_000 },
    async (_name, stall) => {
      let expMs = 0;
      const server = await startTestServer(
        { ...NO_SHUTDOWN_GRACE, ...TOLERANCE },
        { handlers: [tickingKind('test.ticker', () => (stall && expMs > 0 ? expMs : null))] },
      );
      const op = await userClient(server, 'alice').start({ kind: 'test.ticker' });
      const short = shortToken();
      expMs = short.expMs;
      const ws = wsClient(server.wsUrl, short.token);
      const received: number[] = [];
      const feed = ws.subscribe(WATCH, { id: op.id });
      const collecting = (async () => {
        for (;;) {
          const result = await feed.results.next(AT_EXP_MS + 10_000);
          const o = result.data?.operationUpdated as { updatedAt: string };
          received.push(Date.parse(o.updatedAt));
        }
      })().catch(() => undefined);

      const close = await ws.closes.next(AT_EXP_MS + 10_000);
      const closedAt = Date.now();
      await collecting;
      expect(close.code).toBe(4403);
      expect(closedAt).toBeGreaterThanOrEqual(expMs);
      // At exp, not after the clock tolerance.
      expect(closedAt - expMs).toBeLessThan(AT_EXP_MS);
      expect(received.length).toBeGreaterThan(3);
      for (const updatedAt of received) expect(updatedAt).toBeLessThanOrEqual(expMs);
      // The operation kept changing after exp: the stream had something it must not send.
      await changedAfter(server, op.id, expMs);
    },
  );

  it.each([
    ['', false],
    [', even when the event loop is busy at exp', true],
  ])(
    'ends an SSE stream at exp with an UNAUTHENTICATED error, no event after exp%s',
    { timeout: 60_000 },
    async (_name, stall) => {
      let expMs = 0;
      const server = await startTestServer(
        { ...NO_SHUTDOWN_GRACE, ...TOLERANCE },
        { handlers: [tickingKind('test.ticker', () => (stall && expMs > 0 ? expMs : null))] },
      );
      const op = await userClient(server, 'alice').start({ kind: 'test.ticker' });
      const short = shortToken();
      expMs = short.expMs;
      const stream = await sse(server.url, short.token, WATCH, { id: op.id });
      expect(stream.status).toBe(200);
      const events = await stream.events.rest(AT_EXP_MS + 10_000);
      const endedAt = Date.now();
      expect(stream.events.error).toBeNull();
      expect(endedAt).toBeGreaterThanOrEqual(expMs);
      // At exp, not after the clock tolerance.
      expect(endedAt - expMs).toBeLessThan(AT_EXP_MS);
      // It ends with an error saying why, never with `complete`: the operation is still running.
      expect(events.map((event) => event.event)).not.toContain('complete');
      expect(JSON.parse(events.at(-1)?.data ?? '{}')).toEqual({
        errors: [
          {
            message: 'The token has expired; subscribe again with a fresh one.',
            extensions: { code: 'UNAUTHENTICATED' },
          },
        ],
      });
      const nexts = events.slice(0, -1);
      expect(nexts.length).toBeGreaterThan(3);
      expect(nexts.filter((event) => event.event !== 'next')).toEqual([]);
      for (const event of nexts) {
        const { data } = JSON.parse(event.data) as {
          data: { operationUpdated: { updatedAt: string } };
        };
        expect(Date.parse(data.operationUpdated.updatedAt)).toBeLessThanOrEqual(expMs);
      }
      await changedAfter(server, op.id, expMs);
    },
  );

  it.each([30, 400])(
    'keeps a WebSocket open whose token expires in %i days (no setTimeout overflow)',
    async (days) => {
      const server = await startTestServer();
      const ws = wsClient(server.wsUrl, tokenFor('alice', { ttlSec: days * 24 * 60 * 60 }));
      await ws.connected.next();
      // A timer armed past setTimeout's limit fires after 1 ms: three round trips outlast it.
      for (let round = 0; round < 3; round++) {
        const query = ws.subscribe(VIEWER);
        expect(await query.results.next()).toEqual({
          data: { viewer: { id: 'alice', isAdmin: false } },
        });
        await query.results.waitEnd();
        expect(query.results.error).toBeNull();
      }
      expect(ws.closes.drain()).toEqual([]);
      expect(server.app.gauges().sockets).toBe(1);
    },
  );
});

describe('WebSocket connection_init shapes', () => {
  const expired = () => handMade(claims({ sub: 'alice', exp: now() - 60 }));
  it.each([
    [
      'no payload',
      undefined,
      'No token: send {"authorization": "Bearer <token>"} in connection_init',
    ],
    [
      'an empty payload',
      {},
      'No token: send {"authorization": "Bearer <token>"} in connection_init',
    ],
    [
      'an empty headers object',
      { headers: {} },
      'No token: send {"authorization": "Bearer <token>"} in connection_init',
    ],
    [
      'authorization as a number',
      { authorization: 42 },
      'The authorization value must be the string "Bearer <token>"',
    ],
    [
      'authorization as an array',
      { authorization: [`Bearer ${tokenFor('alice')}`] },
      'The authorization value must be the string "Bearer <token>"',
    ],
    [
      'the token without the scheme',
      { authorization: tokenFor('alice') },
      'The authorization value is not "Bearer <token>"',
    ],
    ['an expired token', { Authorization: `Bearer ${expired()}` }, 'The token has expired'],
    [
      'a bad signature inside headers',
      { headers: { Authorization: `Bearer ${badSignature(tokenFor('alice'))}` } },
      'The token is not valid (signature, algorithm or claims)',
    ],
    [
      'two different tokens under two spellings',
      { authorization: `Bearer ${tokenFor('alice')}`, Authorization: `Bearer ${tokenFor('bob')}` },
      'connection_init carries several different authorization values',
    ],
  ])(
    'closes with 4403 for %s, saying why without echoing the token',
    async (_name, payload, reason) => {
      const server = await startTestServer();
      const ws = await handshake(server.wsUrl, payload as Record<string, unknown> | undefined);
      expect(ws).toEqual({ acked: false, messages: [], close: { code: 4403, reason } });
      // The server keeps serving.
      expect(
        (await handshake(server.wsUrl, { authorization: `Bearer ${tokenFor('alice')}` })).acked,
      ).toBe(true);
    },
  );

  it.each([
    ['authorization', (t: string) => ({ authorization: `Bearer ${t}` })],
    ['Authorization', (t: string) => ({ Authorization: `Bearer ${t}` })],
    ['AUTHORIZATION', (t: string) => ({ AUTHORIZATION: `Bearer ${t}` })],
    ['headers.Authorization', (t: string) => ({ headers: { Authorization: `Bearer ${t}` } })],
    ['headers.authorization', (t: string) => ({ headers: { authorization: `Bearer ${t}` } })],
    [
      'the same token under two spellings',
      (t: string) => ({ authorization: `Bearer ${t}`, headers: { Authorization: `Bearer ${t}` } }),
    ],
  ])('accepts the token as %s and runs as its subject', async (_name, payload) => {
    const server = await startTestServer();
    const ws = wsClient(server.wsUrl, null, { connectionParams: payload(tokenFor('carol')) });
    const viewer = ws.subscribe(VIEWER);
    expect(await viewer.results.next()).toEqual({
      data: { viewer: { id: 'carol', isAdmin: false } },
    });
  });
});
