import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { gql, userClient, wsClient } from '../helpers/clients.js';
import { gatedServer, startGated } from '../helpers/gated.js';
import type { TestServer } from '../helpers/server.js';
import { waitFor, within } from '../helpers/wait.js';
import { WAIT_OPERATION, waitOperation } from '../helpers/wait-operation.js';
import { watchTokenFor } from '../helpers/watch.js';

const WAIT = WAIT_OPERATION;

/** POSTs waitOperation to `server`. */
function wait(
  server: TestServer,
  token: string,
  id: string,
  timeoutMs?: number,
  signal?: AbortSignal,
) {
  return waitOperation(server.url, token, id, timeoutMs, signal);
}

/** waitOperation over SSE (`Accept: text/event-stream`); resolves with the whole event stream. */
async function waitOverSse(
  server: TestServer,
  token: string,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: WAIT, variables: { id, timeoutMs } }),
    ...(signal ? { signal } : {}),
  });
  expect(response.status).toBe(200);
  return response.text();
}

/** Resolves once `count` live feeds are open on the server (a wait holds one while it waits). */
function feeds(server: TestServer, count: number, what: string) {
  return waitFor(() => server.app.gauges().streams === count, what);
}

describe('waitOperation', () => {
  it('answers as soon as the operation is done, with its final state', async () => {
    const { server, alice, op, run } = await startGated();
    const pending = wait(server, alice.token, op.id, 60_000);
    await feeds(server, 1, 'the wait to listen');
    await run.ctx.progress(0.5, 'half');
    // Progress does not end the wait; only the end does.
    await waitFor(async () => (await alice.get(op.id))?.progress === 0.5, 'the progress');
    expect(server.app.gauges().streams).toBe(1);
    run.finish({ rows: 3 });
    const { body } = await within(pending, 'the wait to answer', 10_000);
    expect(body.errors).toBeUndefined();
    expect(body.data?.waitOperation).toMatchObject({
      id: op.id,
      status: 'SUCCEEDED',
      done: true,
      result: { rows: 3 },
      progress: 0.5,
    });
    expect(body.data?.waitOperation).toEqual(await alice.get(op.id));
    await feeds(server, 0, 'the wait to let go of its feed');
  });

  it('answers at its timeout with the current state when the operation is not done', async () => {
    const { server, alice, op, run } = await startGated();
    await run.ctx.progress(0.25, 'a quarter');
    const sentAt = Date.now();
    const { body, at } = await wait(server, alice.token, op.id, 300);
    expect(at - sentAt).toBeGreaterThanOrEqual(300);
    expect(body.data?.waitOperation).toMatchObject({
      status: 'RUNNING',
      done: false,
      progress: 0.25,
      message: 'a quarter',
    });
    expect(body.data?.waitOperation).toEqual(await alice.get(op.id));
    expect(server.app.gauges().streams).toBe(0);
  });

  it('answers at once for an operation that is already done', async () => {
    const { server, alice, op, run } = await startGated();
    run.finish('done');
    await waitFor(async () => (await alice.get(op.id))?.done, 'the operation to end');
    const done = await within(wait(server, alice.token, op.id, 60_000), 'the answer', 10_000);
    expect(done.body.data?.waitOperation).toMatchObject({ status: 'SUCCEEDED', result: 'done' });
  });

  it('is null for a foreign, a missing and a malformed id, without waiting', async () => {
    const { server, alice, op } = await startGated();
    const bob = userClient(server, 'bob');
    const admin = userClient(server, 'root', { admin: true });
    const missing = Buffer.from('Operation:01890000-0000-7000-8000-000000000000').toString(
      'base64',
    );
    for (const [token, id] of [
      [bob.token, op.id],
      [alice.token, missing],
      [alice.token, '%%%'],
      [alice.token, ''],
    ] as const) {
      const r = await within(wait(server, token, id, 60_000), `the answer for ${id}`, 10_000);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ data: { waitOperation: null } });
    }
    // An admin waits on anyone's operation.
    const seen = await wait(server, admin.token, op.id, 1);
    expect(seen.body.data?.waitOperation).toMatchObject({ id: op.id, ownerId: 'alice' });
    expect(server.app.gauges().streams).toBe(0);
  });

  it('works with a watch token on its one operation, and is null for any other', async () => {
    const { server, alice, gated } = await gatedServer();
    const op = await alice.start({ kind: 'test.gated' });
    const run = await gated.started(op.id);
    const other = await alice.start({ kind: 'test.gated' });
    const watchToken = await watchTokenFor(server.url, alice.token, op.id);
    expect((await wait(server, watchToken, other.id, 60_000)).body).toEqual({
      data: { waitOperation: null },
    });
    const pending = wait(server, watchToken, op.id, 60_000);
    await feeds(server, 1, 'the wait to listen');
    run.finish('ok');
    const { body } = await within(pending, 'the wait to answer', 10_000);
    expect(body.data?.waitOperation).toMatchObject({
      id: op.id,
      status: 'SUCCEEDED',
      result: 'ok',
    });
  });

  it('refuses a timeoutMs outside 1..60000 with BAD_USER_INPUT, and waits for nothing', async () => {
    const { server, alice, op } = await startGated();
    for (const timeoutMs of [0, -1, 60_001, 2_147_483_647]) {
      const r = await wait(server, alice.token, op.id, timeoutMs);
      expect(r.body.data).toEqual({ waitOperation: null });
      expect(r.body.errors).toEqual([
        expect.objectContaining({
          message: 'timeoutMs must be between 1 and 60000.',
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'timeoutMs' }),
        }),
      ]);
    }
    const notAnInt = await wait(server, alice.token, op.id, 1.5);
    expect(notAnInt.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // The bounds themselves are accepted.
    expect((await wait(server, alice.token, op.id, 1)).body.data?.waitOperation?.id).toBe(op.id);
    expect(server.app.gauges().streams).toBe(0);
    const anonymous = await gql(server.url, null, WAIT, { id: op.id, timeoutMs: 10 });
    expect(anonymous.status).toBe(401);
  });

  it('lets go of its listener and timer when the client goes away, on HTTP, SSE and WebSocket', async () => {
    const { server, alice, op } = await startGated();
    const byHttp = new AbortController();
    const http = wait(server, alice.token, op.id, 60_000, byHttp.signal).catch((e) => e);
    // yoga answers a query over SSE once it has run, so the response itself is what waits.
    const bySse = new AbortController();
    const stream = waitOverSse(server, alice.token, op.id, 60_000, bySse.signal).catch((e) => e);
    const socket = wsClient(server.wsUrl, alice.token);
    socket.subscribe(WAIT, { id: op.id, timeoutMs: 60_000 });
    await feeds(server, 3, 'three waits to listen');

    byHttp.abort();
    await feeds(server, 2, 'the HTTP wait to end with its request');
    expect(await http).toBeInstanceOf(Error);
    bySse.abort();
    await feeds(server, 1, 'the SSE wait to end with its stream');
    expect(await stream).toBeInstanceOf(Error);
    await socket.dispose();
    await feeds(server, 0, 'the WebSocket wait to end with its socket');
    expect((await alice.get(op.id))?.status).toBe('RUNNING');
  });

  it('answers over SSE and WebSocket too', async () => {
    const { server, alice, op, run } = await startGated();
    const stream = waitOverSse(server, alice.token, op.id, 60_000);
    const socket = wsClient(server.wsUrl, alice.token).subscribe(WAIT, {
      id: op.id,
      timeoutMs: 60_000,
    });
    await feeds(server, 2, 'both waits to listen');
    const cancelled = await alice.cancel(op.id, 'enough');
    expect(cancelled.__typename).toBe('CancelOperationSuccess');
    run.fail(new Error('stopped'));
    const overSse = await within(stream, 'the SSE answer', 10_000);
    expect(overSse).toMatch(/^event: next\ndata: \{"data":\{"waitOperation":\{/m);
    expect(overSse).toContain('"status":"CANCELLED"');
    expect(overSse).toMatch(/event: complete\n/);
    const { data } = await within(socket.results.next(), 'the WebSocket answer', 10_000);
    expect(data?.waitOperation).toMatchObject({ status: 'CANCELLED', cancelReason: 'enough' });
  });

  it('holds no database connection or snapshot while it waits (SQLite)', async () => {
    const { server, alice, gated } = await gatedServer();
    const op = await alice.start({ kind: 'test.gated', input: { onAbort: 'reject' } });
    await gated.started(op.id);
    const waits = Array.from({ length: 20 }, () => wait(server, alice.token, op.id, 60_000));
    await feeds(server, 20, 'twenty waits to listen');
    // A TRUNCATE checkpoint needs every reader of the WAL gone: a wait holding a read
    // transaction (or any open statement) would make it report busy.
    const other = new BetterSqlite3(join(server.dataDir, 'longrun.sqlite'));
    try {
      expect(other.pragma('wal_checkpoint(TRUNCATE)')).toEqual([
        expect.objectContaining({ busy: 0 }),
      ]);
    } finally {
      other.close();
    }
    // Writes go on meanwhile.
    const second = await alice.start({ kind: 'test.gated' });
    await gated.started(second.id);
    expect(server.app.gauges().streams).toBe(20);
    await alice.cancel(op.id);
    const answers = await within(Promise.all(waits), 'every wait to answer', 10_000);
    for (const { body } of answers) expect(body.data?.waitOperation?.status).toBe('CANCELLED');
  });
});
