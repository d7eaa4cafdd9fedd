import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { gql, sse, userClient, wsClient } from '../helpers/clients.js';
import { gatedKind } from '../helpers/gated.js';
import { type Scrape, scrape } from '../helpers/metrics.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { REDIS_SKIP_REASON, sayWhySkipped, TEST_REDIS_URL } from '../helpers/services.js';
import { doneState, waitFor } from '../helpers/wait.js';

const TOKEN = 'scrape-token-0123456789abcdef';

const WATCH = `subscription($id: ID!) { operationUpdated(id: $id) { id status } }`;

/** Scrapes until `ready` holds for a scrape (the server settles a moment after the client). */
function scrapeUntil(origin: string, ready: (s: Scrape) => boolean, what: string, token?: string) {
  return waitFor(async () => {
    const s = await scrape(origin, token);
    return ready(s) ? s : null;
  }, what);
}

/** A GET of `/metrics` through node:http, so the Host header and the address can be chosen. */
function rawGet(
  address: string,
  port: number,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path: '/metrics', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics', () => {
  it('follows operations as they start, stream over SSE and WebSocket, get cancelled and finish', async () => {
    const gated = gatedKind('test.gated', { onAbort: 'reject' });
    const server = await startTestServer(FAST, { handlers: [gated.handler] });
    const alice = userClient(server, 'alice');

    const fresh = await scrape(server.origin);
    expect(fresh.value('longrun_running_handlers')).toBe(0);
    expect(fresh.has('longrun_operations', { status: 'PENDING' })).toBe(true);
    expect(fresh.value('longrun_operations', { status: 'RUNNING' })).toBe(0);
    expect(fresh.value('longrun_websocket_connections')).toBe(0);
    expect(fresh.has('process_cpu_user_seconds_total')).toBe(true);
    expect(fresh.has('nodejs_eventloop_lag_seconds')).toBe(true);

    const bus = { topic: 'operation.pending' };
    expect(fresh.value('longrun_bus_messages_received_total', bus)).toBe(0);

    const op = await alice.start({ kind: 'test.gated' });
    const run = await gated.started(op.id);
    const viaSse = await alice.watchSse(op.id);
    await viaSse.ops.next();
    const viaWs = alice.watchWs(op.id);
    await viaWs.ops.next();
    const running = await scrape(server.origin);
    // The runner heard once of the new operation, published after its commit.
    expect(running.value('longrun_bus_messages_received_total', bus)).toBe(1);
    expect(running.value('longrun_running_handlers')).toBe(1);
    expect(running.value('longrun_operations', { status: 'RUNNING' })).toBe(1);
    expect(running.value('longrun_operations', { status: 'PENDING' })).toBe(0);
    expect(running.value('longrun_sse_streams')).toBe(1);
    expect(running.value('longrun_websocket_connections')).toBe(1);
    expect(running.value('longrun_subscriptions')).toBe(2);
    const ops = (type: string, outcome = 'ok') =>
      ['longrun_graphql_operations_total', { type, outcome }] as const;
    expect(running.value(...ops('mutation'))).toBe(1);
    expect(running.value(...ops('subscription'))).toBe(2);
    // The start; the SSE stream is still open, and the WebSocket upgrade is no HTTP request.
    expect(running.value('longrun_http_requests_total', { route: 'graphql', status: '200' })).toBe(
      1,
    );
    expect(running.value('longrun_http_requests_total', { route: 'metrics', status: '200' })).toBe(
      1,
    );

    await alice.cancel(op.id, 'enough');
    expect((await viaSse.ops.until((o) => o.status === 'CANCELLED')).at(-1)?.status).toBe(
      'CANCELLED',
    );
    await viaWs.ops.until((o) => o.status === 'CANCELLED');
    const cancelled = await scrapeUntil(
      server.origin,
      (s) =>
        s.value('longrun_sse_streams') === 0 &&
        s.value('longrun_subscriptions') === 0 &&
        s.value('longrun_running_handlers') === 0,
      'the streams and the handler to end',
    );
    expect(cancelled.value('longrun_operations', { status: 'RUNNING' })).toBe(0);
    expect(cancelled.value('longrun_operations', { status: 'CANCELLING' })).toBe(0);
    expect(cancelled.value('longrun_cancel_to_stop_seconds_count', { outcome: 'CANCELLED' })).toBe(
      1,
    );
    expect(
      cancelled.value('longrun_run_duration_seconds_count', {
        kind: 'test.gated',
        outcome: 'CANCELLED',
      }),
    ).toBe(1);
    expect(cancelled.value(...ops('mutation'))).toBe(2);
    void run;

    const second = await alice.start({ kind: 'test.gated' });
    (await gated.started(second.id)).finish({ ok: true });
    expect((await doneState(alice, second.id)).status).toBe('SUCCEEDED');
    const finished = await scrapeUntil(
      server.origin,
      (s) => s.value('longrun_running_handlers') === 0,
      'the second handler to be released',
    );
    const runs = (outcome: string) =>
      finished.value('longrun_run_duration_seconds_count', { kind: 'test.gated', outcome });
    expect(runs('SUCCEEDED')).toBe(1);
    expect(runs('CANCELLED')).toBe(1);
    expect(finished.value('longrun_cancel_to_stop_seconds_count', { outcome: 'CANCELLED' })).toBe(
      1,
    );
    expect(finished.value('longrun_cancel_to_stop_seconds_count', { outcome: 'SUCCEEDED' })).toBe(
      0,
    );
    // Start, SSE stream, cancel, second start, and each query of doneState.
    const graphqlOk = finished.value('longrun_http_requests_total', {
      route: 'graphql',
      status: '200',
    });
    expect(graphqlOk).toBe(4 + finished.value(...ops('query')));
    expect(finished.value(...ops('mutation'))).toBe(3);
  });

  it('counts refused GraphQL by its error code, the same over HTTP and WebSocket', async () => {
    const server = await startTestServer({ MAX_QUERY_COST: '100' });
    const alice = userClient(server, 'alice');
    expect((await gql(server.url, alice.token, '{ viewer { id ')).status).toBe(400);
    expect((await gql(server.url, alice.token, '{ nope }')).status).toBe(400);
    const dear = `{ operations(first: 100) { edges { node { id kind status } } } }`;
    const costly = await gql(server.url, alice.token, dear);
    expect(costly.body.errors?.[0]?.extensions?.code).toBe('COST_LIMIT_EXCEEDED');
    expect((await gql(server.url, null, '{ viewer { id } }')).status).toBe(401);

    const ws = wsClient(server.wsUrl, alice.token);
    const viaWs = ws.subscribe(dear);
    await expect(viaWs.results.next()).rejects.toThrow();
    const bad = ws.subscribe('{ nope }');
    await expect(bad.results.next()).rejects.toThrow();
    const fine = ws.subscribe('{ viewer { id } }');
    expect((await fine.results.next()).data).toEqual({ viewer: { id: expect.any(String) } });

    const s = await scrape(server.origin);
    const ops = (type: string, outcome: string) =>
      s.value('longrun_graphql_operations_total', { type, outcome });
    expect(ops('unknown', 'GRAPHQL_PARSE_FAILED')).toBe(1);
    expect(ops('query', 'GRAPHQL_VALIDATION_FAILED')).toBe(2);
    expect(ops('query', 'COST_LIMIT_EXCEEDED')).toBe(2);
    expect(ops('query', 'ok')).toBe(1);
    // Refused before GraphQL: no operation, one HTTP 401.
    expect(s.value('longrun_http_requests_total', { route: 'graphql', status: '401' })).toBe(1);
    expect(s.value('longrun_http_requests_total', { route: 'graphql', status: '400' })).toBe(3);
    await ws.dispose();
  });

  it('counts connections and subscriptions refused by the per-user and per-socket caps', async () => {
    const gated = gatedKind();
    const server = await startTestServer(
      { ...FAST, MAX_SUBSCRIPTIONS_PER_USER: '1', MAX_SOCKETS_PER_USER: '1' },
      { handlers: [gated.handler] },
    );
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'test.gated' });
    const first = await sse(server.url, alice.token, WATCH, { id: op.id });
    await first.results.next();
    expect((await sse(server.url, alice.token, WATCH, { id: op.id })).status).toBe(429);
    const socket = wsClient(server.wsUrl, alice.token);
    await socket.connected.next();
    await expect(socket.subscribe(WATCH, { id: op.id }).results.next()).rejects.toThrow();
    const second = wsClient(server.wsUrl, alice.token);
    expect((await second.closes.next()).code).toBe(1008);

    const s = await scrapeUntil(
      server.origin,
      (now) => now.value('longrun_websocket_connections') === 1,
      'the refused socket to be gone',
    );
    const refused = (limit: string) =>
      s.value('longrun_subscriber_limit_refusals_total', { limit });
    expect(refused('subscriptions_per_user')).toBe(2);
    expect(refused('sockets_per_user')).toBe(1);
    expect(refused('subscriptions_per_socket')).toBe(0);
    expect(
      s.value('longrun_graphql_operations_total', {
        type: 'subscription',
        outcome: 'TOO_MANY_SUBSCRIPTIONS',
      }),
    ).toBe(2);
    expect(s.value('longrun_http_requests_total', { route: 'graphql', status: '429' })).toBe(1);
    expect(s.value('longrun_subscriptions')).toBe(1);
  });

  it('records a cancel the handler ignores as CANCEL_FORCED, after the grace', async () => {
    const gated = gatedKind('test.gated', { onAbort: 'ignore' });
    const server = await startTestServer(
      { ...FAST, CANCEL_GRACE_MS: '200' },
      { handlers: [gated.handler] },
    );
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'test.gated' });
    await gated.started(op.id);
    await alice.cancel(op.id);
    expect((await doneState(alice, op.id)).error?.code).toBe('CANCEL_FORCED');
    const s = await scrape(server.origin);
    expect(s.value('longrun_cancel_to_stop_seconds_count', { outcome: 'CANCEL_FORCED' })).toBe(1);
    // It took at least the grace: nothing in the buckets below 0.1 s.
    expect(
      s.value('longrun_cancel_to_stop_seconds_bucket', { outcome: 'CANCEL_FORCED', le: '0.1' }),
    ).toBe(0);
    expect(
      s.value('longrun_run_duration_seconds_count', {
        kind: 'test.gated',
        outcome: 'CANCEL_FORCED',
      }),
    ).toBe(1);
  });

  it('keeps each app to its own registry', async () => {
    const one = await startTestServer();
    const other = await startTestServer();
    await userClient(one, 'alice').start({ kind: 'demo.sleep', input: { ms: 0 } });
    const count = (s: Scrape) =>
      s.value('longrun_graphql_operations_total', { type: 'mutation', outcome: 'ok' });
    expect(count(await scrape(one.origin))).toBe(1);
    expect(count(await scrape(other.origin))).toBe(0);
  });
});

describe('/metrics access', () => {
  it('requires METRICS_TOKEN as a bearer token when it is set, from any Host', async () => {
    const server = await startTestServer({ METRICS_TOKEN: TOKEN });
    const refused = await fetch(`${server.origin}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await refused.text()).not.toContain('longrun_');
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      'Bearer ',
      `Bearer ${userClient(server, 'alice').token}`,
    ]) {
      const response = await fetch(`${server.origin}/metrics`, { headers: { authorization } });
      expect(response.status, authorization).toBe(401);
    }
    const ok = await scrape(server.origin, TOKEN);
    expect(ok.has('longrun_running_handlers')).toBe(true);
    // Scrapers address instances by IP or any name; the token is what counts.
    const elsewhere = await rawGet('127.0.0.1', server.app.port, {
      host: 'metrics.internal.example:9000',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const noToken = await rawGet('127.0.0.1', server.app.port, {
      host: 'metrics.internal.example:9000',
    });
    expect(noToken.status).toBe(401);
    expect(ok.value('longrun_http_requests_total', { route: 'metrics', status: '401' })).toBe(7);
  });

  it('without METRICS_TOKEN, serves development only to this machine under its own Host', async () => {
    const server = await startTestServer({ HOST: '0.0.0.0' });
    const port = server.app.port;
    expect((await rawGet('127.0.0.1', port, { host: `127.0.0.1:${port}` })).status).toBe(200);
    expect((await rawGet('127.0.0.1', port, { host: `localhost:${port}` })).status).toBe(200);
    // A page of another site rebinding its name to 127.0.0.1 gets nothing.
    const rebound = await rawGet('127.0.0.1', port, { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('longrun_');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address?.family === 'IPv4' && !address.internal)?.address;
    expect(external, 'a non-loopback IPv4 address on this machine').toBeDefined();
    // From the network, even naming a loopback Host.
    const remote = await rawGet(external as string, port, { host: `127.0.0.1:${port}` });
    expect(remote.status).toBe(403);
    expect(JSON.parse(remote.body)).toEqual({
      error: 'Without METRICS_TOKEN, /metrics is served only to this machine.',
    });
  });

  it('without METRICS_TOKEN, serves nothing in production; with it, serves', async () => {
    const bare = await startTestServer({ NODE_ENV: 'production' });
    const refused = await fetch(`${bare.origin}/metrics`);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toEqual({
      error: 'Not found. Set METRICS_TOKEN to serve /metrics.',
    });
    const served = await startTestServer({ NODE_ENV: 'production', METRICS_TOKEN: TOKEN });
    expect((await fetch(`${served.origin}/metrics`)).status).toBe(401);
    expect(
      (await scrape(served.origin, TOKEN)).has('longrun_operations', { status: 'RUNNING' }),
    ).toBe(true);
  });
});

sayWhySkipped(REDIS_SKIP_REASON, '/metrics bus reconnects');
describe.skipIf(REDIS_SKIP_REASON !== null)('/metrics with the Redis bus', () => {
  it('counts each bus connection restored after Redis dropped it, and streams go on', async () => {
    const gated = gatedKind();
    const server = await startTestServer(
      { ...FAST, REDIS_URL: TEST_REDIS_URL as string, REDIS_PREFIX: `metrics-${randomUUID()}:` },
      { handlers: [gated.handler] },
    );
    const worker = server.logs.find((l) => l.message === 'longrun is listening')?.worker;
    expect(worker).toEqual(expect.any(String));
    const admin = new Redis(TEST_REDIS_URL as string, { lazyConnect: true });
    try {
      await admin.connect();
      // Only this app's connections, found by the names the bus gives them: other tests share
      // this Redis.
      const ours = async () =>
        String(await admin.client('LIST'))
          .split('\n')
          .map((line) => ({
            id: /\bid=(\d+)/.exec(line)?.[1],
            name: /\bname=(\S*)/.exec(line)?.[1] ?? '',
          }))
          .filter((c) => c.id !== undefined && c.name.startsWith(`longrun:${worker}:`));
      const before = await ours();
      expect(before.map((c) => c.name).sort()).toEqual([
        `longrun:${worker}:publisher`,
        `longrun:${worker}:subscriber`,
      ]);
      const fresh = await scrape(server.origin);
      expect(fresh.value('longrun_bus_reconnects_total', { connection: 'subscriber' })).toBe(0);

      for (const { id } of before) await admin.client('KILL', 'ID', id as string);
      const after = await scrapeUntil(
        server.origin,
        (s) =>
          s.value('longrun_bus_reconnects_total', { connection: 'subscriber' }) === 1 &&
          s.value('longrun_bus_reconnects_total', { connection: 'publisher' }) === 1,
        'both bus connections to come back',
      );
      expect(after.value('longrun_bus_reconnects_total', { connection: 'subscriber' })).toBe(1);
      expect((await ours()).map((c) => c.id)).not.toContain(before[0]?.id);

      // The app goes on working over the restored connections.
      const alice = userClient(server, 'alice');
      const op = await alice.start({ kind: 'test.gated', input: { onAbort: 'reject' } });
      await gated.started(op.id);
      await alice.cancel(op.id);
      expect((await doneState(alice, op.id)).status).toBe('CANCELLED');
    } finally {
      admin.disconnect();
    }
  });
});
