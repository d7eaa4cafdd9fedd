import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineHandler } from '../../src/handlers/handler.js';
import { parseOperationId } from '../../src/schema/ids.js';
import {
  gql,
  OPERATION_SELECTION,
  type Op,
  type UserClient,
  userClient,
  wsClient,
} from '../helpers/clients.js';
import { gatedServer, withBlockedRunner } from '../helpers/gated.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';
import { watchTokenFor } from '../helpers/watch.js';

const RETRIED = `${OPERATION_SELECTION} timeoutMs retryOf { id status }`;
const RETRY = `mutation($input: RetryOperationInput!) { retryOperation(input: $input) {
  __typename
  ... on RetryOperationSuccess { operation { ${RETRIED} } }
  ... on NotFoundError { id }
  ... on ValidationError { field }
  ... on RateLimitedError { retryAfterMs }
  ... on Error { message } } }`;

type Retried = Op & { timeoutMs: number | null; retryOf: { id: string; status: string } | null };
interface RetryResult {
  __typename: string;
  operation?: Retried;
  id?: string;
  field?: string | null;
  retryAfterMs?: number;
  message: string;
}

async function retry(client: UserClient, id: string): Promise<RetryResult> {
  const r = await client.gql<{ retryOperation: RetryResult }>(RETRY, { input: { id } });
  if (!r.body.data) throw new Error(`retryOperation failed: ${JSON.stringify(r.body)}`);
  return r.body.data.retryOperation;
}

async function getRetried(client: UserClient, id: string): Promise<Retried | null> {
  const r = await client.gql<{ operation: Retried | null }>(
    `query($id: ID!) { operation(id: $id) { ${RETRIED} } }`,
    { id },
  );
  return r.body.data?.operation ?? null;
}

/** How many operations `client` can see: with an admin's client, every stored one. */
async function count(client: UserClient): Promise<number> {
  const r = await client.gql<{ operations: { totalCount: number } }>(
    '{ operations { totalCount } }',
  );
  return r.body.data?.operations.totalCount ?? Number.NaN;
}

/** The transition log entries of `id`, as `client` reads them. */
async function log(client: UserClient, id: string) {
  const r = await client.gql<{
    operation: { events: { edges: Array<{ node: { revision: number; actor: string } }> } };
  }>('query($id: ID!) { operation(id: $id) { events { edges { node { revision actor } } } } }', {
    id,
  });
  return r.body.data?.operation.events.edges.map((edge) => edge.node);
}

describe('retryOperation of a done operation', () => {
  it('starts a new PENDING run with the same kind, input, timeoutMs and owner, pointing back; it runs, and the original stays as it was', async () => {
    const { gated, server, alice } = await gatedServer();
    const input = { attempt: 'first', nested: [1, 'two', null, { three: true }] };
    const original = await alice.start({ kind: 'test.gated', input, timeoutMs: 60_000 });
    (await gated.started(original.id)).fail(new Error('flaky upstream'));
    const failed = await doneState(alice, original.id);
    expect(failed).toMatchObject({ status: 'FAILED', error: { code: 'HANDLER_ERROR' } });

    const r = await retry(alice, original.id);
    expect(r.__typename).toBe('RetryOperationSuccess');
    const again = r.operation as Retried;
    expect(again.id).not.toBe(original.id);
    expect(again).toMatchObject({
      kind: 'test.gated',
      input,
      timeoutMs: 60_000,
      ownerId: 'alice',
      status: 'PENDING',
      revision: 1,
      done: false,
      startedAt: null,
      result: null,
      error: null,
      retryOf: { id: original.id, status: 'FAILED' },
    });
    expect(await getRetried(alice, again.id)).toMatchObject({
      id: again.id,
      retryOf: { id: original.id },
    });
    expect((await log(alice, again.id))?.[0]).toEqual({ revision: 1, actor: 'user:alice' });

    (await gated.started(again.id)).finish({ ok: true });
    expect(await doneState(alice, again.id)).toMatchObject({
      status: 'SUCCEEDED',
      result: { ok: true },
    });
    expect(gated.invocations(again.id)).toBe(1);
    expect(gated.invocations(original.id)).toBe(1);
    expect(await alice.get(original.id)).toEqual(failed);
    expect(await getRetried(alice, original.id)).toMatchObject({ retryOf: null });
    expect(server.app.gauges().runs).toBe(0);
  });

  it('retries CANCELLED and SUCCEEDED ones too, by raw ID as well; each call is a new run, and a retry of a retry points at that retry', async () => {
    const { gated, alice } = await gatedServer();
    const input = { n: 1, onAbort: 'reject' };
    const cancelled = await alice.start({ kind: 'test.gated', input });
    await gated.started(cancelled.id);
    await alice.cancel(cancelled.id, 'not now');
    expect((await doneState(alice, cancelled.id)).status).toBe('CANCELLED');

    const first = await retry(alice, parseOperationId(cancelled.id) ?? '');
    const second = await retry(alice, cancelled.id);
    expect(first.operation?.retryOf?.id).toBe(cancelled.id);
    expect(second.operation?.retryOf?.id).toBe(cancelled.id);
    expect(second.operation?.id).not.toBe(first.operation?.id);
    expect(second.operation?.input).toEqual(input);

    const firstId = first.operation?.id ?? '';
    (await gated.started(firstId)).finish('done');
    expect((await doneState(alice, firstId)).status).toBe('SUCCEEDED');
    const third = await retry(alice, firstId);
    expect(third.operation).toMatchObject({
      input,
      retryOf: { id: firstId, status: 'SUCCEEDED' },
    });
    (await gated.started(second.operation?.id ?? '')).finish();
    (await gated.started(third.operation?.id ?? '')).finish();
  });

  it('leaves the idempotency key with the original: a later start with the key still gets the original back', async () => {
    const { gated, alice } = await gatedServer();
    const original = await alice.start({ kind: 'test.gated', idempotencyKey: 'nightly-42' });
    (await gated.started(original.id)).fail(new Error('boom'));
    await doneState(alice, original.id);
    const r = await retry(alice, original.id);
    expect(r.__typename).toBe('RetryOperationSuccess');
    const repeat = await alice.start({ kind: 'test.gated', idempotencyKey: 'nightly-42' });
    expect(repeat).toMatchObject({ id: original.id, deduplicated: true, status: 'FAILED' });
    (await gated.started(r.operation?.id ?? '')).finish();
  });
});

describe('retryOperation refusals', () => {
  it('refuses an operation that is not done (PENDING, RUNNING, CANCELLING) with a ValidationError on id, storing nothing', async () => {
    const { gated, server, alice, blocker } = await withBlockedRunner();
    const admin = userClient(server, 'root', { admin: true });
    const pending = await alice.start({ kind: 'test.gated' });
    const stored = await count(admin);
    for (const [op, status] of [
      [blocker, 'RUNNING'],
      [pending, 'PENDING'],
    ] as const) {
      expect(await retry(alice, op.id)).toEqual({
        __typename: 'ValidationError',
        field: 'id',
        message: `id: the operation is ${status}; only a done operation can be retried.`,
      });
    }
    await alice.cancel(blocker.id, 'stop');
    expect((await alice.get(blocker.id))?.status).toBe('CANCELLING');
    expect(await retry(admin, blocker.id)).toMatchObject({
      __typename: 'ValidationError',
      field: 'id',
    });
    expect(await count(admin)).toBe(stored);
    expect(gated.totalInvocations()).toBe(1);
    expect((await alice.get(pending.id))?.revision).toBe(1);
  });

  it("answers another user's operation exactly as one that does not exist; malformed ids too; nothing is stored", async () => {
    const { gated, server, alice } = await gatedServer();
    const bob = userClient(server, 'bob');
    const admin = userClient(server, 'root', { admin: true });
    const op = await alice.start({ kind: 'test.gated' });
    (await gated.started(op.id)).finish();
    await doneState(alice, op.id);
    const missing = Buffer.from('Operation:0190a6c4-0000-7000-8000-000000000000').toString(
      'base64',
    );
    const foreign = await retry(bob, op.id);
    const absent = await retry(bob, missing);
    expect(foreign).toEqual({
      __typename: 'NotFoundError',
      id: op.id,
      message: 'No such operation.',
    });
    expect(absent).toEqual({
      __typename: 'NotFoundError',
      id: missing,
      message: 'No such operation.',
    });
    for (const bad of ['', '%%%', Buffer.from('User:1').toString('base64'), '🙂'.repeat(100)]) {
      expect(await retry(alice, bad)).toEqual({
        __typename: 'NotFoundError',
        id: bad,
        message: 'No such operation.',
      });
    }
    expect(await count(admin)).toBe(1);
  });

  it('refuses a watch token with FORBIDDEN, even for its own done operation', async () => {
    const { gated, server, alice } = await gatedServer();
    const admin = userClient(server, 'root', { admin: true });
    const op = await alice.start({ kind: 'test.gated' });
    (await gated.started(op.id)).finish();
    await doneState(alice, op.id);
    const token = await watchTokenFor(server.url, alice.token, op.id);
    const r = await gql(server.url, token, RETRY, { input: { id: op.id } });
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await count(admin)).toBe(1);
  });

  it('refuses an operation whose kind is no longer registered, or whose input the kind no longer accepts', async () => {
    const lenient = defineHandler({
      kind: 'test.strict',
      inputSchema: z.object({ size: z.number() }),
      run: async () => 'ok',
    });
    const first = await startTestServer(FAST, {
      handlers: [
        lenient,
        defineHandler({ kind: 'test.retired', parseInput: () => null, run: async () => null }),
      ],
    });
    const alice = userClient(first, 'alice');
    const big = await alice.start({ kind: 'test.strict', input: { size: 500 } });
    const old = await alice.start({ kind: 'test.retired' });
    await doneState(alice, big.id);
    await doneState(alice, old.id);
    await first.stop();

    // The same database, served by a release whose kinds changed.
    const strict = defineHandler({
      kind: 'test.strict',
      inputSchema: z.object({ size: z.number().max(100) }),
      run: async () => 'ok',
    });
    const second = await startTestServer(FAST, { dataDir: first.dataDir, handlers: [strict] });
    const again = userClient(second, 'alice');
    expect(await retry(again, old.id)).toEqual({
      __typename: 'ValidationError',
      field: 'id',
      message: 'id: no handler is registered for kind "test.retired" any more.',
    });
    const refused = await retry(again, big.id);
    expect(refused).toMatchObject({ __typename: 'ValidationError', field: 'id' });
    expect(refused.message).toMatch(
      /^id: its input is no longer accepted by kind "test\.strict" \(.*size/,
    );
    expect(await count(again)).toBe(2);
  });
});

describe('retryOperation by an admin, and retryOf visibility', () => {
  async function failedOp() {
    const { gated, server, alice } = await gatedServer();
    const op = await alice.start({ kind: 'test.gated', input: { job: 7 } });
    (await gated.started(op.id)).fail(new Error('boom'));
    await doneState(alice, op.id);
    return { gated, server, alice, op };
  }

  it("an admin's retry belongs to the original owner; the log records the admin as the one who asked", async () => {
    const { gated, server, alice, op } = await failedOp();
    const admin = userClient(server, 'root', { admin: true });
    const r = await retry(admin, op.id);
    const again = r.operation as Retried;
    expect(again).toMatchObject({ ownerId: 'alice', input: { job: 7 }, retryOf: { id: op.id } });
    expect((await log(admin, again.id))?.[0]).toEqual({ revision: 1, actor: 'user:root' });
    expect(await getRetried(alice, again.id)).toMatchObject({
      ownerId: 'alice',
      retryOf: { id: op.id },
    });
    expect(await getRetried(userClient(server, 'bob'), again.id)).toBeNull();
    (await gated.started(again.id)).finish();
  });

  it('retryOf is null for a watch token of the retry (it sees nothing else)', async () => {
    const { gated, server, alice, op } = await failedOp();
    const again = (await retry(alice, op.id)).operation as Retried;
    const token = await watchTokenFor(server.url, alice.token, again.id);
    const r = await gql<{ operation: { id: string; retryOf: unknown } }>(
      server.url,
      token,
      'query($id: ID!) { operation(id: $id) { id retryOf { id } } }',
      { id: again.id },
    );
    expect(r.body.data?.operation).toEqual({ id: again.id, retryOf: null });
    (await gated.started(again.id)).finish();
  });

  it('works over WebSocket, and live updates carry retryOf', async () => {
    const { gated, server, alice, op } = await failedOp();
    const ws = wsClient(server.wsUrl, alice.token);
    const retried = ws.subscribe(RETRY, { input: { id: op.id } });
    const answer = await retried.results.next();
    const again = (answer.data?.retryOperation as RetryResult | undefined)?.operation as Retried;
    expect(again).toMatchObject({ status: 'PENDING', retryOf: { id: op.id } });
    const watch = ws.subscribe(
      'subscription($id: ID!) { operationUpdated(id: $id) { id status retryOf { id } } }',
      { id: again.id },
    );
    (await gated.started(again.id)).finish();
    const states = (await watch.results.rest()).map((result) => result.data?.operationUpdated);
    expect(watch.results.error).toBeNull();
    for (const state of states) {
      expect(state).toMatchObject({ id: again.id, retryOf: { id: op.id } });
    }
    expect(states.at(-1)).toMatchObject({ status: 'SUCCEEDED' });
    await ws.dispose();
  });
});

describe('reading retryOf', () => {
  it('reads the originals of a page of retries in one statement, and each viewer sees only its own', async () => {
    const statements: string[] = [];
    const server = await startTestServer(FAST, { onStatement: (s) => statements.push(s.sql) });
    const alice = userClient(server, 'alice');
    const bob = userClient(server, 'bob');
    const admin = userClient(server, 'root', { admin: true });
    const originals: string[] = [];
    for (const owner of [alice, bob]) {
      for (let i = 0; i < 10; i++) {
        const op = await owner.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1, fail: 'x' } });
        originals.push((await doneState(owner, op.id)).id);
      }
    }
    // An admin retries all of them: each retry belongs to its original's owner.
    for (const id of originals)
      expect((await retry(admin, id)).__typename).toBe('RetryOperationSuccess');
    const LIST =
      '{ operations(first: 100) { edges { node { id ownerId retryOf { id ownerId } } } } }';
    type Listed = { id: string; ownerId: string; retryOf: { id: string; ownerId: string } | null };
    const list = async (client: UserClient) => {
      const r = await client.gql<{ operations: { edges: Array<{ node: Listed }> } }>(LIST);
      return (r.body.data?.operations.edges ?? []).map((edge) => edge.node);
    };
    /** Statements reading operations by a list of ids (the originals). */
    const byIds = () => statements.splice(0).filter((sql) => /"id" in \(/.test(sql));

    statements.length = 0;
    const all = await list(admin);
    expect(all.filter((op) => op.retryOf !== null)).toHaveLength(20);
    for (const op of all) if (op.retryOf) expect(op.retryOf.ownerId).toBe(op.ownerId);
    expect(byIds()).toHaveLength(1);

    const mine = await list(alice);
    expect(mine).toHaveLength(20);
    const retries = mine.filter((op) => op.retryOf !== null);
    expect(retries).toHaveLength(10);
    for (const op of retries) expect(op.retryOf?.ownerId).toBe('alice');
    expect(byIds()).toHaveLength(1);
  });
});

describe('retryOperation under the per-owner quotas', () => {
  it("refuses a retry over MAX_ACTIVE_PER_OWNER with RateLimitedError and stores nothing; an admin's retry counts against the owner", async () => {
    const { gated, server, alice } = await gatedServer({ MAX_ACTIVE_PER_OWNER: '1' });
    const admin = userClient(server, 'root', { admin: true });
    const failed = await alice.start({ kind: 'test.gated' });
    (await gated.started(failed.id)).fail(new Error('boom'));
    await doneState(alice, failed.id);
    const running = await alice.start({ kind: 'test.gated' });
    const run = await gated.started(running.id);

    for (const asker of [alice, admin]) {
      const refused = await retry(asker, failed.id);
      expect(refused).toMatchObject({
        __typename: 'RateLimitedError',
        retryAfterMs: expect.any(Number),
      });
      expect(refused.message).toMatch(/at most 1 PENDING, RUNNING or CANCELLING/);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
    }
    // The admin's own quota is not the one in play: root has nothing running and may start.
    expect((await admin.start({ kind: 'demo.sleep', input: { ms: 0 } })).ownerId).toBe('root');
    expect(await count(admin)).toBe(3);

    run.finish();
    await doneState(alice, running.id);
    const again = await retry(admin, failed.id);
    expect(again.operation).toMatchObject({ ownerId: 'alice', retryOf: { id: failed.id } });
    (await gated.started(again.operation?.id ?? '')).finish();
  });

  it('refuses a retry over START_RATE_PER_MINUTE with RateLimitedError and stores nothing', async () => {
    const { gated, server, alice } = await gatedServer({ START_RATE_PER_MINUTE: '2' });
    const admin = userClient(server, 'root', { admin: true });
    const failed = await alice.start({ kind: 'test.gated' });
    (await gated.started(failed.id)).fail(new Error('boom'));
    await doneState(alice, failed.id);
    const first = await retry(alice, failed.id);
    expect(first.__typename).toBe('RetryOperationSuccess');
    for (let i = 0; i < 3; i++) {
      const refused = await retry(alice, failed.id);
      expect(refused.__typename).toBe('RateLimitedError');
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(await count(admin)).toBe(2);
    (await gated.started(first.operation?.id ?? '')).finish();
  });
});
