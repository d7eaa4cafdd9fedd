import { describe, expect, it } from 'vitest';
import { parseOperationId } from '../../src/schema/ids.js';
import { OPERATION_SELECTION, type Op, userClient } from '../helpers/clients.js';
import { openLiveDb } from '../helpers/db.js';
import { gatedKind } from '../helpers/gated.js';
import { FAST, startTestServer, type TestServer } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';

type StartResult =
  | { __typename: 'StartOperationSuccess'; deduplicated: boolean; operation: Op }
  | { __typename: 'RateLimitedError'; message: string; retryAfterMs: number }
  | { __typename: string; message?: string };

const START = `mutation($input: StartOperationInput!) { startOperation(input: $input) {
  __typename
  ... on StartOperationSuccess { deduplicated operation { ${OPERATION_SELECTION} } }
  ... on RateLimitedError { message retryAfterMs }
  ... on Error { message } } }`;

/** A user's startOperation, answering its result union (throws on a GraphQL error). */
function starter(server: TestServer, sub: string, options: { admin?: boolean } = {}) {
  const client = userClient(server, sub, options);
  return {
    ...client,
    async startResult(input: Record<string, unknown>): Promise<StartResult> {
      const r = await client.gql<{ startOperation: StartResult }>(START, { input });
      if (!r.body.data) throw new Error(`start failed: ${JSON.stringify(r.body)}`);
      return r.body.data.startOperation;
    },
    async total(): Promise<number> {
      const r = await client.gql<{ operations: { totalCount: number } }>(
        'query { operations(first: 0) { totalCount } }',
      );
      if (!r.body.data) throw new Error(`list failed: ${JSON.stringify(r.body)}`);
      return r.body.data.operations.totalCount;
    },
  };
}

function success(result: StartResult): Op & { deduplicated: boolean } {
  if (result.__typename !== 'StartOperationSuccess' || !('operation' in result)) {
    throw new Error(`expected a success, got ${JSON.stringify(result)}`);
  }
  return { ...result.operation, deduplicated: result.deduplicated };
}

function refusal(result: StartResult): { message: string; retryAfterMs: number } {
  if (result.__typename !== 'RateLimitedError' || !('retryAfterMs' in result)) {
    throw new Error(`expected RateLimitedError, got ${JSON.stringify(result)}`);
  }
  return result;
}

/** Moves an operation's creation back in time, straight in the database file. */
function backdate(server: TestServer, id: string, ms: number): void {
  const db = openLiveDb(server);
  try {
    const changes = db
      .prepare('update operations set created_at = created_at - ? where id = ?')
      .run(ms, parseOperationId(id)).changes;
    expect(changes).toBe(1);
  } finally {
    db.close();
  }
}

/** Runs until cancelled, then stops at once. */
const RUN_FOREVER = { kind: 'test.gated', input: { onAbort: 'reject' } };
const QUICK = { kind: 'demo.sleep', input: { ms: 1, steps: 1 } };

async function quotaServer(env: Record<string, string>) {
  const gated = gatedKind();
  const server = await startTestServer({ ...FAST, ...env }, { handlers: [gated.handler] });
  return { server, gated, alice: starter(server, 'alice'), bob: starter(server, 'bob') };
}

describe('per-owner quotas', () => {
  it('refuses a start over MAX_ACTIVE_PER_OWNER with RateLimitedError and stores nothing', async () => {
    const { server, gated, alice, bob } = await quotaServer({
      MAX_ACTIVE_PER_OWNER: '3',
      START_RATE_PER_MINUTE: '0',
      MAX_CONCURRENT_RUNS: '1',
    });
    // One RUNNING, two PENDING: all three count.
    const first = success(await alice.startResult(RUN_FOREVER));
    await gated.started(first.id);
    for (let i = 0; i < 2; i++) success(await alice.startResult(RUN_FOREVER));

    const refused = refusal(await alice.startResult({ ...RUN_FOREVER, idempotencyKey: 'fourth' }));
    expect(refused.retryAfterMs).toBe(5_000);
    expect(refused.message).toMatch(/at most 3 PENDING, RUNNING or CANCELLING/);
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    expect(metrics).toContain('longrun_quota_refusals_total{reason="active"} 1');
    expect(await alice.total()).toBe(3);
    const db = openLiveDb(server);
    try {
      expect(db.prepare('select count(*) as n from operations').get()).toEqual({ n: 3 });
      expect(db.prepare('select count(*) as n from operation_events').get()).toEqual({ n: 4 });
    } finally {
      db.close();
    }

    // Another owner is not held by alice's quota.
    expect(success(await bob.startResult(QUICK)).ownerId).toBe('bob');
    // The refused key was not taken: once an operation ends, the same start succeeds.
    expect(await alice.cancel(first.id)).toMatchObject({ __typename: 'CancelOperationSuccess' });
    expect(await doneState(alice, first.id)).toMatchObject({ status: 'CANCELLED' });
    const later = success(await alice.startResult({ ...RUN_FOREVER, idempotencyKey: 'fourth' }));
    expect(later.deduplicated).toBe(false);
    expect(await alice.total()).toBe(4);
  });

  it('counts starts in any 60 seconds and says truthfully when the oldest leaves the window', async () => {
    const { server, alice, bob } = await quotaServer({
      MAX_ACTIVE_PER_OWNER: '0',
      START_RATE_PER_MINUTE: '3',
    });
    const starts = [];
    for (let i = 0; i < 3; i++) starts.push(success(await alice.startResult(QUICK)));
    const [oldest, second] = starts;
    if (!oldest || !second) throw new Error('unreachable');

    const before = Date.now();
    const refused = refusal(await alice.startResult(QUICK));
    const after = Date.now();
    // retryAfterMs = when the oldest start leaves the window, as the server's clock (ours) saw it.
    const leaves = Date.parse(oldest.createdAt) + 60_000;
    expect(refused.retryAfterMs).toBeGreaterThanOrEqual(leaves - after);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(leaves - before);
    expect(refused.message).toMatch(/at most 3 operations in any 60 s/);
    // Refusals do not count: many more of them change nothing.
    for (let i = 0; i < 5; i++) refusal(await alice.startResult(QUICK));
    expect(await alice.total()).toBe(3);
    expect(success(await bob.startResult(QUICK)).ownerId).toBe('bob');

    // The oldest start leaves the window: exactly one more start fits, as if 60 s had passed.
    backdate(server, oldest.id, 60_001);
    const fourth = success(await alice.startResult(QUICK));
    const again = refusal(await alice.startResult(QUICK));
    // Now the second start is the one that has to leave.
    expect(again.retryAfterMs).toBeLessThanOrEqual(Date.parse(second.createdAt) + 60_000 - before);
    expect(again.retryAfterMs).toBeGreaterThan(0);
    expect(await alice.total()).toBe(4);
    expect(fourth.status).toMatch(/PENDING|RUNNING|SUCCEEDED/);
  });

  it('never refuses an idempotent repeat, and does not count it again', async () => {
    const { gated, alice } = await quotaServer({
      MAX_ACTIVE_PER_OWNER: '2',
      START_RATE_PER_MINUTE: '3',
      MAX_CONCURRENT_RUNS: '1',
    });
    const a = success(await alice.startResult({ ...RUN_FOREVER, idempotencyKey: 'a' }));
    await gated.started(a.id);
    const b = success(await alice.startResult({ ...RUN_FOREVER, idempotencyKey: 'b' }));
    // At the active limit: a new key is refused, repeats of the earlier ones are answered.
    refusal(await alice.startResult({ ...RUN_FOREVER, idempotencyKey: 'c' }));
    for (let i = 0; i < 5; i++) {
      expect(
        success(await alice.startResult({ ...RUN_FOREVER, idempotencyKey: 'a' })),
      ).toMatchObject({ id: a.id, deduplicated: true });
      expect(
        success(await alice.startResult({ ...RUN_FOREVER, idempotencyKey: 'b' })),
      ).toMatchObject({ id: b.id, deduplicated: true });
    }
    // Ten repeats did not use up the rate: two starts made, one more fits in the minute.
    expect(await alice.cancel(a.id)).toMatchObject({ __typename: 'CancelOperationSuccess' });
    expect(await doneState(alice, a.id)).toMatchObject({ status: 'CANCELLED' });
    success(await alice.startResult(QUICK));
    const rate = refusal(await alice.startResult(QUICK));
    expect(rate.message).toMatch(/in any 60 s/);
    expect(await alice.total()).toBe(3);
  });

  it('counts retryOperation as a start, against the owner of the operation it retries', async () => {
    const { alice } = await quotaServer({ MAX_ACTIVE_PER_OWNER: '0', START_RATE_PER_MINUTE: '2' });
    const first = success(await alice.startResult(QUICK));
    await doneState(alice, first.id);
    const RETRY = `mutation($id: ID!) { retryOperation(input: { id: $id }) {
      __typename ... on RateLimitedError { message retryAfterMs } ... on Error { message } } }`;
    const retry = async () => {
      const r = await alice.gql<{ retryOperation: { __typename: string } }>(RETRY, {
        id: first.id,
      });
      return r.body.data?.retryOperation.__typename;
    };
    expect(await retry()).toBe('RetryOperationSuccess');
    expect(await retry()).toBe('RateLimitedError');
    refusal(await alice.startResult(QUICK));
    expect(await alice.total()).toBe(2);
  });

  it('holds admins to the quotas unless QUOTAS_EXEMPT_ADMINS is set', async () => {
    const limited = await quotaServer({ MAX_ACTIVE_PER_OWNER: '2', START_RATE_PER_MINUTE: '0' });
    const root = starter(limited.server, 'root', { admin: true });
    for (let i = 0; i < 2; i++) success(await root.startResult(RUN_FOREVER));
    refusal(await root.startResult(RUN_FOREVER));
    expect(await root.total()).toBe(2);

    const exempt = await quotaServer({
      MAX_ACTIVE_PER_OWNER: '2',
      START_RATE_PER_MINUTE: '2',
      QUOTAS_EXEMPT_ADMINS: 'true',
    });
    const chief = starter(exempt.server, 'root', { admin: true });
    for (let i = 0; i < 4; i++) success(await chief.startResult(RUN_FOREVER));
    // Users still are.
    for (let i = 0; i < 2; i++) success(await exempt.alice.startResult(RUN_FOREVER));
    refusal(await exempt.alice.startResult(RUN_FOREVER));
  });

  it('applies the defaults: 120 starts in a minute, the 121st is refused', async () => {
    const { alice } = await quotaServer({});
    const results = [];
    for (let i = 0; i < 121; i++) {
      results.push(await alice.startResult({ kind: 'demo.sleep', input: { ms: 1, steps: 1 } }));
    }
    expect(results.slice(0, 120).every((r) => r.__typename === 'StartOperationSuccess')).toBe(true);
    expect(results[120]?.__typename).toBe('RateLimitedError');
    expect(await alice.total()).toBe(120);
  });
});
