import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createLogger } from '../../src/logger.js';
import { createCommitter } from '../../src/operations/commit.js';
import * as transitions from '../../src/operations/transitions.js';
import { parseOperationId } from '../../src/schema/ids.js';
import {
  ISO_MS_UTC,
  mapOps,
  OPERATION_SELECTION,
  type Op,
  type UserClient,
  userClient,
  wsClient,
} from '../helpers/clients.js';
import { gatedKind, type OnAbort, startGated, withBlockedRunner } from '../helpers/gated.js';
import {
  FAST,
  lateOutcomeDiscarded,
  NO_QUOTAS,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';

/** Runs one more operation to its end, proving the runner was free to pick up anything PENDING. */
async function runnerDrained(
  server: TestServer,
  gated: ReturnType<typeof gatedKind>,
  client: UserClient,
) {
  const probe = await client.start({ kind: 'test.gated' });
  (await gated.started(probe.id)).finish();
  await doneState(client, probe.id);
  expect(server.app.gauges().runs).toBe(0);
}

describe('cancelOperation on a PENDING operation', () => {
  it('cancels it at once with one revision; its handler never runs', async () => {
    const { gated, server, alice, blockerRun } = await withBlockedRunner();
    const op = await alice.start({ kind: 'test.gated' });
    const r = await alice.cancel(op.id, 'changed my mind');
    expect(r.__typename).toBe('CancelOperationSuccess');
    const cancelled = r.operation as Op;
    expect(cancelled).toMatchObject({
      id: op.id,
      status: 'CANCELLED',
      done: true,
      revision: 2,
      cancelledBy: 'alice',
      cancelReason: 'changed my mind',
      error: { code: 'CANCELLED', message: 'changed my mind' },
      startedAt: null,
      result: null,
    });
    expect(cancelled.cancelRequestedAt).toMatch(ISO_MS_UTC);
    expect(cancelled.finishedAt).toBe(cancelled.cancelRequestedAt);
    expect(cancelled.updatedAt).toBe(cancelled.cancelRequestedAt);
    expect(await alice.get(op.id)).toEqual(cancelled);

    blockerRun.finish();
    await runnerDrained(server, gated, alice);
    expect(gated.invocations(op.id)).toBe(0);
    expect(await alice.get(op.id)).toEqual(cancelled);
  });

  it('without a reason the error message is "Cancelled"; the raw ID works; an admin is recorded as canceller', async () => {
    const { server, alice } = await withBlockedRunner();
    const admin = userClient(server, 'root', { admin: true });
    const a = await alice.start({ kind: 'test.gated' });
    const b = await alice.start({ kind: 'test.gated' });
    const byAlice = await alice.cancel(parseOperationId(a.id) ?? '');
    expect(byAlice.operation).toMatchObject({
      id: a.id,
      status: 'CANCELLED',
      cancelledBy: 'alice',
      cancelReason: null,
      error: { code: 'CANCELLED', message: 'Cancelled' },
    });
    const byAdmin = await admin.cancel(b.id, null);
    expect(byAdmin.operation).toMatchObject({
      status: 'CANCELLED',
      ownerId: 'alice',
      cancelledBy: 'root',
      error: { code: 'CANCELLED', message: 'Cancelled' },
    });
  });

  it('a worker claim racing a cancel: exactly one wins, and a cancelled operation never ran', {
    timeout: 180_000,
  }, async () => {
    // Operations wait behind a blocker; the runner claims them one by one (oldest first) while
    // their cancels arrive, so claims and cancels of the same PENDING operation meet. Cancels in
    // start order keep step with the claims; alternating from both ends lets both sides win.
    // Who wins depends on the machine's speed: rounds go on (at most MAX_ROUNDS) until each side
    // has won at least once, which shows the race was real; every round's outcome is checked.
    const MAX_ROUNDS = 10;
    const { gated, server, alice, blockerRun } = await withBlockedRunner(NO_QUOTAS);
    const alternate = (ops: Op[]) =>
      ops.flatMap((_, k) => (k % 2 === 0 ? ops[ops.length - 1 - k / 2] : ops[(k - 1) / 2]) ?? []);
    let release = () => blockerRun.finish();
    const all: Op[] = [];
    let claimed = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const arrange = round % 2 === 0 ? (ops: Op[]) => ops : alternate;
      const ops: Op[] = [];
      for (let i = 0; i < 30; i++) {
        ops.push(await alice.start({ kind: 'test.gated', input: { onAbort: 'reject' } }));
      }
      const order = arrange(ops);
      expect(new Set(order).size).toBe(ops.length);
      const [, ...results] = await Promise.all([
        (async () => release())(),
        ...order.map((op) => alice.cancel(op.id)),
      ]);
      expect(results.map((r) => r?.__typename)).toEqual(ops.map(() => 'CancelOperationSuccess'));
      for (const op of ops) {
        const final = await doneState(alice, op.id);
        expect(final.status).toBe('CANCELLED');
        if (final.startedAt === null) {
          // Cancelled while PENDING: one revision, and the handler was never invoked.
          expect(final.revision).toBe(2);
          expect(gated.invocations(op.id)).toBe(0);
        } else {
          // Claimed first: RUNNING, CANCELLING, CANCELLED; its handler ran once and was aborted.
          claimed++;
          expect(final.revision).toBe(4);
          expect(final.error?.code).toBe('CANCELLED');
          expect(gated.invocations(op.id)).toBe(1);
          expect((await gated.started(op.id)).ctx.signal.aborted).toBe(true);
        }
      }
      all.push(...ops);
      const blocker = await alice.start({ kind: 'test.gated' });
      const run = await gated.started(blocker.id);
      release = () => run.finish();
      if (round > 0 && claimed > 0 && claimed < all.length) break;
    }
    release();
    // Both sides won some: the race was real.
    expect(claimed).toBeGreaterThan(0);
    expect(claimed).toBeLessThan(all.length);
    await runnerDrained(server, gated, alice);
    for (const op of all) {
      const final = await alice.get(op.id);
      expect(gated.invocations(op.id)).toBe(final?.startedAt === null ? 0 : 1);
    }
  });
});

describe('a claim and a cancel of one PENDING operation', () => {
  /** A worker of another instance: its own committer over the same database. */
  function otherWorker(server: TestServer) {
    const logger = createLogger('error', () => undefined);
    const commit = createCommitter(
      server.app.store,
      createMemoryBus(() => undefined),
      logger,
    );
    const lease = { owner: 'other-instance', expiresAt: new Date(Date.now() + 60_000) };
    return {
      /** Claims as the runner does: deciding on the PENDING row it listed earlier. */
      claim: (listed: Parameters<typeof transitions.claim>[0]) =>
        commit.apply(listed.id, (op) => transitions.claim(op, lease, new Date()), {
          actor: 'worker:other-instance',
          current: listed,
        }),
    };
  }

  it('a claim decided on a stale PENDING read loses to the cancel that committed first', async () => {
    const { gated, server, alice } = await withBlockedRunner();
    const op = await alice.start({ kind: 'test.gated' });
    const rawId = parseOperationId(op.id) ?? '';
    const listed = await server.app.store.get(rawId);
    expect(listed?.status).toBe('PENDING');
    const cancelled = (await alice.cancel(op.id, 'first')).operation;
    expect(cancelled).toMatchObject({ status: 'CANCELLED', revision: 2 });
    const outcome = await otherWorker(server).claim(listed as NonNullable<typeof listed>);
    expect(outcome?.kind).toBe('unchanged');
    expect(await alice.get(op.id)).toEqual(cancelled);
    expect(gated.invocations(op.id)).toBe(0);
  });

  it('a cancel after the claim committed finds it RUNNING and asks it to stop', async () => {
    const { server, alice } = await withBlockedRunner();
    const op = await alice.start({ kind: 'test.gated' });
    const listed = await server.app.store.get(parseOperationId(op.id) ?? '');
    const outcome = await otherWorker(server).claim(listed as NonNullable<typeof listed>);
    expect(outcome?.kind).toBe('changed');
    const r = await alice.cancel(op.id, 'second');
    expect(r.operation).toMatchObject({
      status: 'CANCELLING',
      revision: 3,
      cancelReason: 'second',
    });
    expect(r.operation?.startedAt).toMatch(ISO_MS_UTC);
  });
});

describe('cancelOperation on a RUNNING operation', () => {
  it('goes CANCELLING at once, fires the AbortSignal, then ends CANCELLED when the handler rejects', async () => {
    const { alice, op, run } = await startGated({ input: { onAbort: 'reject' } });
    await run.ctx.progress(0.25, 'a quarter');
    const feed = alice.watchWs(op.id).ops;
    expect(await feed.next()).toMatchObject({ status: 'RUNNING', revision: 3 });
    expect(run.ctx.signal.aborted).toBe(false);

    const r = await alice.cancel(op.id, 'user pressed stop');
    expect(r.__typename).toBe('CancelOperationSuccess');
    // The answer is the CANCELLING revision; the signal fired before it was sent.
    expect(r.operation).toMatchObject({
      status: 'CANCELLING',
      done: false,
      revision: 4,
      cancelledBy: 'alice',
      cancelReason: 'user pressed stop',
      finishedAt: null,
      error: null,
      progress: 0.25,
    });
    expect(r.operation?.cancelRequestedAt).toMatch(ISO_MS_UTC);
    expect(run.ctx.signal.aborted).toBe(true);
    expect(run.ctx.signal.reason).toMatchObject({ name: 'AbortError', why: 'cancel' });

    const rest = await feed.rest();
    expect(rest.map((o) => [o.revision, o.status])).toEqual([
      [4, 'CANCELLING'],
      [5, 'CANCELLED'],
    ]);
    const final = rest.at(-1) as Op;
    expect(final).toMatchObject({
      done: true,
      result: null,
      error: { code: 'CANCELLED', message: 'user pressed stop' },
      cancelledBy: 'alice',
      cancelReason: 'user pressed stop',
      cancelRequestedAt: r.operation?.cancelRequestedAt,
      progress: 0.25,
    });
    expect(final.finishedAt).toBe(final.updatedAt);
    expect(Date.parse(final.finishedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(final.cancelRequestedAt ?? ''),
    );
    expect(await alice.get(op.id)).toEqual(final);
  });

  it('an admin may cancel anyone’s operation and is recorded as cancelledBy', async () => {
    const { server, alice, op } = await startGated({ input: { onAbort: 'reject' } });
    const admin = userClient(server, 'ops-admin', { admin: true });
    const r = await admin.cancel(op.id, 'maintenance');
    expect(r.operation).toMatchObject({
      status: 'CANCELLING',
      cancelledBy: 'ops-admin',
      ownerId: 'alice',
    });
    expect(await doneState(alice, op.id)).toMatchObject({
      status: 'CANCELLED',
      cancelledBy: 'ops-admin',
      error: { code: 'CANCELLED', message: 'maintenance' },
    });
  });

  it('a handler that resolves anyway ends SUCCEEDED with its result; cancelRequestedAt stays', async () => {
    const { alice, op } = await startGated({ input: { onAbort: 'resolve' } });
    const r = await alice.cancel(op.id, 'too late');
    const final = await doneState(alice, op.id);
    expect(final).toMatchObject({
      status: 'SUCCEEDED',
      revision: 4,
      result: { finishedAnyway: true },
      error: null,
      cancelRequestedAt: r.operation?.cancelRequestedAt,
      cancelledBy: 'alice',
      cancelReason: 'too late',
    });
    expect(final.cancelRequestedAt).toMatch(ISO_MS_UTC);
  });

  it('a handler that ignores the signal is CANCELLED CANCEL_FORCED after the grace; what it does later is discarded', async () => {
    const { server, alice, op, run } = await startGated({}, { CANCEL_GRACE_MS: '300' });
    const feed = alice.watchWs(op.id).ops;
    expect(await feed.next()).toMatchObject({ status: 'RUNNING', revision: 2 });
    const r = await alice.cancel(op.id, 'stop now');
    expect(r.operation).toMatchObject({ status: 'CANCELLING', revision: 3 });
    expect(run.ctx.signal.aborted).toBe(true);
    const rest = await feed.rest();
    expect(rest.map((o) => [o.revision, o.status])).toEqual([
      [3, 'CANCELLING'],
      [4, 'CANCELLED'],
    ]);
    const final = rest.at(-1) as Op;
    expect(final).toMatchObject({
      done: true,
      result: null,
      error: { code: 'CANCEL_FORCED' },
      progress: null,
      cancelledBy: 'alice',
      cancelReason: 'stop now',
    });
    expect(Date.parse(final.finishedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(final.cancelRequestedAt ?? '') + 300 - 10,
    );

    // The handler keeps going and finally returns: nothing of it is recorded.
    await run.ctx.progress(0.9, 'still here');
    run.finish({ late: true });
    await lateOutcomeDiscarded(server, op.id, 'the runner to discard the late return');
    expect(await alice.get(op.id)).toEqual(final);
  });

  it('demo.sleep with ignoreCancel is CANCEL_FORCED after CANCEL_GRACE_MS; its later steps and return are discarded', async () => {
    const server = await startTestServer({ SHUTDOWN_GRACE_MS: '100', CANCEL_GRACE_MS: '300' });
    const alice = userClient(server, 'alice');
    const op = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 1500, steps: 3, ignoreCancel: true },
    });
    await waitFor(async () => (await alice.get(op.id))?.status === 'RUNNING', 'RUNNING');
    const r = await alice.cancel(op.id);
    expect(r.operation?.status).toBe('CANCELLING');
    const final = await doneState(alice, op.id);
    expect(final).toMatchObject({
      status: 'CANCELLED',
      result: null,
      error: { code: 'CANCEL_FORCED' },
    });
    await lateOutcomeDiscarded(server, op.id, 'demo.sleep to return');
    expect(await alice.get(op.id)).toEqual(final);
  });
});

describe('cancelOperation is idempotent and exact', () => {
  it('50 concurrent cancels of a RUNNING operation: one transition, one revision, one cancelledBy', async () => {
    const { server, alice, op, run } = await startGated();
    const feed = alice.watchWs(op.id).ops;
    expect(await feed.next()).toMatchObject({ revision: 2 });
    const callers = Array.from({ length: 50 }, (_, i) =>
      userClient(server, `admin-${i}`, { admin: true }),
    );
    const results = await Promise.all(callers.map((c, i) => c.cancel(op.id, `reason ${i}`)));
    expect(results.map((r) => r.__typename)).toEqual(results.map(() => 'CancelOperationSuccess'));
    const winner = results[0]?.operation;
    expect(winner).toMatchObject({ status: 'CANCELLING', revision: 3 });
    for (const r of results) expect(r.operation).toEqual(winner);
    expect(callers.map((_, i) => `admin-${i}`)).toContain(winner?.cancelledBy);
    expect(winner?.cancelReason).toBe(`reason ${winner?.cancelledBy?.slice('admin-'.length)}`);
    expect(await alice.get(op.id)).toEqual(winner);

    run.fail(run.ctx.signal.reason);
    const rest = await feed.rest();
    expect(rest.map((o) => [o.revision, o.status, o.cancelledBy])).toEqual([
      [3, 'CANCELLING', winner?.cancelledBy],
      [4, 'CANCELLED', winner?.cancelledBy],
    ]);
  });

  it('50 concurrent cancels of a PENDING operation: CANCELLED once at revision 2', async () => {
    const { gated, server, alice, blockerRun } = await withBlockedRunner();
    const op = await alice.start({ kind: 'test.gated' });
    const callers = Array.from({ length: 50 }, (_, i) =>
      userClient(server, `admin-${i}`, { admin: true }),
    );
    const results = await Promise.all(callers.map((c) => c.cancel(op.id)));
    const winner = results[0]?.operation;
    expect(winner).toMatchObject({ status: 'CANCELLED', revision: 2 });
    for (const r of results) {
      expect(r.__typename).toBe('CancelOperationSuccess');
      expect(r.operation).toEqual(winner);
    }
    blockerRun.finish();
    await runnerDrained(server, gated, alice);
    expect(gated.invocations(op.id)).toBe(0);
    expect(await alice.get(op.id)).toEqual(winner);
  });

  it('cancelling a CANCELLING or CANCELLED operation succeeds and changes nothing', async () => {
    const { server, alice, op, run } = await startGated();
    const admin = userClient(server, 'root', { admin: true });
    const first = (await alice.cancel(op.id, 'first')).operation;
    expect(first).toMatchObject({ status: 'CANCELLING', revision: 3, cancelledBy: 'alice' });
    for (const [client, reason] of [
      [admin, 'second'],
      [alice, null],
    ] as const) {
      const again = await client.cancel(op.id, reason);
      expect(again.__typename).toBe('CancelOperationSuccess');
      expect(again.operation).toEqual(first);
    }

    run.fail(run.ctx.signal.reason);
    const cancelled = await doneState(alice, op.id);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      revision: 4,
      cancelledBy: 'alice',
      cancelReason: 'first',
    });
    for (const client of [admin, alice]) {
      const again = await client.cancel(op.id, 'once more');
      expect(again.__typename).toBe('CancelOperationSuccess');
      expect(again.operation).toEqual(cancelled);
    }
    expect(await alice.get(op.id)).toEqual(cancelled);
  });

  it('cancelling a SUCCEEDED or FAILED operation is OperationFinishedError and changes nothing', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const ok = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const failed = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1, fail: 'nope' },
    });
    for (const [op, status] of [
      [ok, 'SUCCEEDED'],
      [failed, 'FAILED'],
    ] as const) {
      const final = await doneState(alice, op.id);
      expect(final.status).toBe(status);
      const r = await alice.cancel(op.id, 'please');
      expect(r.__typename).toBe('OperationFinishedError');
      expect(r.message).toContain(status);
      expect(r.operation).toEqual(final);
      expect(await alice.get(op.id)).toEqual(final);
      expect(final.cancelRequestedAt).toBeNull();
    }
  });

  it('a reason over 1000 characters is a ValidationError on reason and changes nothing; 1000 is fine', async () => {
    const { alice, op, run } = await startGated({ input: { onAbort: 'reject' } });
    const before = await alice.get(op.id);
    const tooLong = await alice.cancel(op.id, 'r'.repeat(1001));
    expect(tooLong).toMatchObject({ __typename: 'ValidationError', field: 'reason' });
    expect(run.ctx.signal.aborted).toBe(false);
    expect(await alice.get(op.id)).toEqual(before);

    const reason = 'r'.repeat(1000);
    const ok = await alice.cancel(op.id, reason);
    expect(ok.operation).toMatchObject({ status: 'CANCELLING', cancelReason: reason });
    expect(await doneState(alice, op.id)).toMatchObject({
      status: 'CANCELLED',
      cancelReason: reason,
      error: { code: 'CANCELLED', message: reason },
    });
  });

  it('cancelling an operation that does not exist is NotFoundError with the id as given', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const missing = '7b0c3c3e-1c1a-4c1e-9d7e-2f1b0c3c3e1c';
    expect(await alice.cancel(missing)).toMatchObject({ __typename: 'NotFoundError', id: missing });
  });
});

describe('cancel racing completion', () => {
  // About 1 000 requests and 200 handler runs: seconds on an idle machine, minutes on a loaded one.
  it('200 races end in exactly one terminal state each, never SUCCEEDED after CANCELLED, revision + 1 per change', {
    timeout: 300_000,
  }, async () => {
    const gated = gatedKind('test.race');
    const server = await startTestServer(
      { ...FAST, ...NO_QUOTAS, MAX_CONCURRENT_RUNS: '8' },
      { handlers: [gated.handler] },
    );
    const alice = userClient(server, 'alice');
    // Every change of every race, as a dashboard would see it.
    const ws = wsClient(server.wsUrl, alice.token);
    const feed = mapOps(
      ws.subscribe(
        `subscription { operationsUpdated(kind: "test.race") { ${OPERATION_SELECTION} } }`,
      ).results,
      'operationsUpdated',
    );
    const history = new Map<string, Op[]>();
    const record = (op: Op) => {
      const seen = history.get(op.id) ?? [];
      seen.push(op);
      history.set(op.id, seen);
    };
    // The subscription is live once it shows a change: run warm-ups until one shows.
    await waitFor(async () => {
      const warmUp = await alice.start({ kind: 'test.race' });
      (await gated.started(warmUp.id)).finish();
      await doneState(alice, warmUp.id);
      return feed.drain().length > 0;
    }, 'the operationsUpdated feed to be live');

    type Race = { op: Op; cancel: Awaited<ReturnType<UserClient['cancel']>>; final: Op };
    const races: Race[] = [];
    const lanes = 4;
    const perLane = 50;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let j = 0; j < perLane; j++) {
          const i = lane * perLane + j;
          const variant = i % 5;
          const onAbort: OnAbort =
            (['reject', 'ignore', 'reject', 'ignore', 'resolve'] as const)[variant] ?? 'ignore';
          const op = await alice.start({ kind: 'test.race', input: { onAbort, i } });
          const run = await gated.started(op.id);
          let cancel: Race['cancel'];
          if (variant === 0) {
            // Cancel first, then the handler would finish: CANCELLED.
            cancel = await alice.cancel(op.id, `race ${i}`);
            run.finish({ i });
          } else if (variant === 1) {
            // Finish first, then cancel: SUCCEEDED and OperationFinishedError.
            run.finish({ i });
            await doneState(alice, op.id);
            cancel = await alice.cancel(op.id, `race ${i}`);
          } else {
            // A real race: the handler finishes a varying number of event-loop turns after the
            // cancel request leaves.
            const turns = (Math.floor(i / 5) * 7) % 40;
            [cancel] = await Promise.all([
              alice.cancel(op.id, `race ${i}`),
              (async () => {
                for (let k = 0; k < turns; k++) await nextTurn();
                run.finish({ i });
              })(),
            ]);
          }
          races.push({ op, cancel, final: await doneState(alice, op.id) });
        }
      }),
    );
    expect(races).toHaveLength(lanes * perLane);
    // Wait until the feed has delivered every terminal state, then check each history.
    const pending = new Set(races.map((r) => r.op.id));
    for (const op of feed.drain()) record(op);
    const stillOpen = () => [...pending].filter((id) => !history.get(id)?.some((o) => o.done));
    while (stillOpen().length > 0) record(await feed.next());
    for (const op of feed.drain()) record(op);

    const outcomes = { SUCCEEDED: 0, CANCELLED: 0, lateCancel: 0 };
    for (const { op, cancel, final } of races) {
      const seen = history.get(op.id) ?? [];
      const where = `operation ${op.id}: ${JSON.stringify(seen.map((o) => [o.revision, o.status]))}`;
      expect(
        seen.map((o) => o.revision),
        where,
      ).toEqual(seen.map((_, k) => k + 1));
      expect(
        seen.filter((o) => o.done),
        where,
      ).toHaveLength(1);
      expect(seen.at(-1), where).toEqual(final);
      expect(await alice.get(op.id)).toEqual(final);
      expect(gated.invocations(op.id)).toBe(1);
      const statuses = seen.map((o) => o.status);
      if (cancel.__typename === 'OperationFinishedError') {
        expect(statuses, where).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED']);
        expect(final).toMatchObject({ result: { i: expect.any(Number) }, cancelRequestedAt: null });
        expect(cancel.operation).toEqual(final);
      } else {
        expect(cancel.__typename, where).toBe('CancelOperationSuccess');
        expect(cancel.operation).toMatchObject({ status: 'CANCELLING', revision: 3 });
        expect(statuses.slice(0, 3), where).toEqual(['PENDING', 'RUNNING', 'CANCELLING']);
        expect(statuses, where).toHaveLength(4);
        expect(final.cancelRequestedAt).toBe(cancel.operation?.cancelRequestedAt);
        if (final.status === 'SUCCEEDED') {
          outcomes.lateCancel++;
          expect(final.error).toBeNull();
          expect(final.result).not.toBeNull();
        } else {
          expect(final).toMatchObject({ status: 'CANCELLED', result: null });
          expect(['CANCELLED', 'CANCEL_FORCED']).toContain(final.error?.code);
        }
      }
      outcomes[final.status as 'SUCCEEDED' | 'CANCELLED']++;
    }
    expect(outcomes.SUCCEEDED + outcomes.CANCELLED).toBe(200);
    expect(outcomes.SUCCEEDED).toBeGreaterThan(0);
    expect(outcomes.CANCELLED).toBeGreaterThan(0);
  });
});
