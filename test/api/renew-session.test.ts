import { describe, expect, it } from 'vitest';
import { gql, mapOps, sse, userClient, type WsClient, wsClient } from '../helpers/clients.js';
import { startBlocking } from '../helpers/handlers.js';
import { tokenFor } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { mintTestWatchToken, watchTokenFor } from '../helpers/watch.js';

const RENEW = `mutation($token: String!) { renewSession(token: $token) {
  __typename
  ... on RenewSessionSuccess { viewer { id isAdmin } expiresAt }
  ... on ValidationError { message field } } }`;
const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';

/** The payload's `exp` of a token, as a time in ms. */
const expiryOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number })
    .exp * 1000;

/** Sends renewSession on the socket; its result union. */
async function renew(ws: WsClient, token: string) {
  const results = ws.subscribe(RENEW, { token }).results;
  const first = await results.next();
  expect(first.errors).toBeUndefined();
  return first.data?.renewSession as Record<string, unknown>;
}

/** Resolves once the clock has passed `time` (ms): a token's expiry a test must outlive. */
const passed = (time: number) => waitFor(() => Date.now() > time + 250, 'the old expiry to pass');

/** alice's RUNNING operation, watched on a socket authenticated with `first`. */
async function watchedOnSocket(first: (sub: string) => string) {
  const { server, started, alice } = await startBlocking();
  const op = await alice.start({ kind: 'test.block' });
  await started.next();
  const token = first('alice');
  const ws = wsClient(server.wsUrl, token);
  const ops = mapOps(ws.subscribe(WATCH, { id: op.id }).results, 'operationUpdated');
  expect((await ops.next()).status).toBe('RUNNING');
  return { server, alice, op, ws, ops, token };
}

describe('renewSession over a WebSocket', () => {
  it('swaps the token for a fresh one with the same sub; streams go on past the old expiry', async () => {
    const { alice, op, ws, ops, token } = await watchedOnSocket((sub) =>
      tokenFor(sub, { ttlSec: 2 }),
    );
    const fresh = tokenFor('alice', { ttlSec: 3_600 });
    expect(await renew(ws, fresh)).toEqual({
      __typename: 'RenewSessionSuccess',
      viewer: { id: 'alice', isAdmin: false },
      expiresAt: new Date(expiryOf(fresh)).toISOString(),
    });
    await passed(expiryOf(token));
    // The stream opened under the old token delivers changes made after it expired.
    await alice.cancel(op.id);
    expect((await ops.rest()).map((o) => o.status)).toEqual(['CANCELLING', 'CANCELLED']);
    expect(ws.closes.drain()).toEqual([]);
    // And the socket still serves new requests.
    const viewer = ws.subscribe('{ viewer { id } }').results;
    expect((await viewer.next()).data).toEqual({ viewer: { id: 'alice' } });
  });

  it('moves the expiry to the new token, earlier as well as later', async () => {
    const { ws, ops } = await watchedOnSocket((sub) => tokenFor(sub, { ttlSec: 3_600 }));
    const short = tokenFor('alice', { ttlSec: 2 });
    expect(await renew(ws, short)).toMatchObject({ __typename: 'RenewSessionSuccess' });
    expect(await ws.closes.next()).toMatchObject({ code: 4403 });
    expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(short));
    await ops.waitEnd();
  });

  it.each<[string, () => string]>([
    ['another user', () => tokenFor('bob')],
    ['the same user as an admin', () => tokenFor('alice', { admin: true })],
    ['a watch token of the same user', () => mintTestWatchToken('alice', 'any-operation', 600)],
  ])('closes the socket with 4403 when the new token is for %s', async (_name, other) => {
    const { ws, ops } = await watchedOnSocket((sub) => tokenFor(sub));
    void ws.subscribe(RENEW, { token: other() });
    expect(await ws.closes.next()).toMatchObject({
      code: 4403,
      reason: 'The renewed token names another principal',
    });
    await ops.waitEnd();
  });

  it.each<[string, () => string]>([
    ['garbage', () => 'not-a-token'],
    ['an expired token of the same user', () => tokenFor('alice', { ttlSec: -60 })],
    ['a token with a bad signature', () => `${tokenFor('alice').slice(0, -4)}AAAA`],
    ['an empty string', () => ''],
  ])(
    'answers %s with a ValidationError and keeps the old token until it expires',
    async (_name, bad) => {
      const { ws, ops, token } = await watchedOnSocket((sub) => tokenFor(sub, { ttlSec: 3 }));
      expect(await renew(ws, bad())).toEqual({
        __typename: 'ValidationError',
        message:
          'token: is not a valid token; the connection keeps its current one until it expires.',
        field: 'token',
      });
      // Still open and serving under the old token, then closed at its expiry.
      const viewer = ws.subscribe('{ viewer { id } }').results;
      expect((await viewer.next()).data).toEqual({ viewer: { id: 'alice' } });
      expect(await ws.closes.next()).toMatchObject({ code: 4403, reason: 'Token expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(token));
      await ops.waitEnd();
    },
  );

  it('renews a socket that holds as many subscriptions as it may (the cap is for subscriptions)', async () => {
    const { ws, op } = await watchedOnSocket((sub) => tokenFor(sub, { ttlSec: 600 }));
    // 49 more, each live (its first state in): 50 in all, the most one socket may hold.
    const more = Array.from({ length: 49 }, () => ws.subscribe(WATCH, { id: op.id }).results);
    for (const results of more) await results.next();
    const beyond = ws.subscribe(WATCH, { id: op.id }).results;
    await beyond.waitEnd();
    expect(beyond.error).toEqual([
      expect.objectContaining({ message: 'At most 50 subscriptions may be open on one socket.' }),
    ]);
    expect(await renew(ws, tokenFor('alice', { ttlSec: 3_600 }))).toMatchObject({
      __typename: 'RenewSessionSuccess',
    });
    expect(ws.closes.drain()).toEqual([]);
  });

  it('renews a watch token with a fresh one for the same operation', async () => {
    const { server, started, alice } = await startBlocking();
    const op = await alice.start({ kind: 'test.block' });
    await started.next();
    const first = mintTestWatchToken('alice', op.id, 2);
    const ws = wsClient(server.wsUrl, first);
    const ops = mapOps(ws.subscribe(WATCH, { id: op.id }).results, 'operationUpdated');
    expect((await ops.next()).status).toBe('RUNNING');
    const fresh = await watchTokenFor(server.url, alice.token, op.id, 600);
    expect(await renew(ws, fresh)).toMatchObject({
      __typename: 'RenewSessionSuccess',
      viewer: { id: 'alice', isAdmin: false },
    });
    await passed(expiryOf(first));
    await alice.cancel(op.id);
    expect((await ops.rest()).map((o) => o.status)).toEqual(['CANCELLING', 'CANCELLED']);
    expect(ws.closes.drain()).toEqual([]);
  });
});

describe('renewSession elsewhere', () => {
  it('is a ValidationError over HTTP and over SSE, and changes nothing', async () => {
    const { server } = await startBlocking();
    const alice = userClient(server, 'alice');
    const expected = {
      __typename: 'ValidationError',
      message:
        'renewSession renews a WebSocket connection; over HTTP and SSE each request carries its own token.',
      field: 'token',
    };
    const overHttp = await gql(server.url, alice.token, RENEW, { token: tokenFor('alice') });
    expect(overHttp.body).toEqual({ data: { renewSession: expected } });
    const overSse = await sse(server.url, alice.token, RENEW, { token: tokenFor('alice') });
    expect(await overSse.results.next()).toEqual({ data: { renewSession: expected } });
  });
});
