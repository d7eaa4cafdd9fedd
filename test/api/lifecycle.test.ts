import { describe, expect, it } from 'vitest';
import { defineHandler, type Handler } from '../../src/handlers/handler.js';
import type { JsonValue } from '../../src/operations/model.js';
import { ISO_MS_UTC, type Op, userClient } from '../helpers/clients.js';
import { gatedServer, startGated, withBlockedRunner } from '../helpers/gated.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';

/** Checks a complete sequence of one operation's states against the lifecycle rules. */
function expectWellFormedHistory(seen: Op[]) {
  const first = seen[0];
  if (!first) throw new Error('no states seen');
  expect(seen.map((o) => o.revision)).toEqual(seen.map((_, i) => first.revision + i));
  expect(seen.map((o) => o.done)).toEqual(seen.map((_, i) => i === seen.length - 1));
  let previous: Op | null = null;
  for (const op of seen) {
    for (const field of ['createdAt', 'updatedAt'] as const) expect(op[field]).toMatch(ISO_MS_UTC);
    for (const field of ['startedAt', 'finishedAt', 'cancelRequestedAt'] as const) {
      if (op[field] !== null) expect(op[field]).toMatch(ISO_MS_UTC);
    }
    expect(op.createdAt).toBe(first.createdAt);
    expect(Date.parse(op.updatedAt)).toBeGreaterThanOrEqual(Date.parse(op.createdAt));
    if (op.status === 'PENDING') expect(op.startedAt).toBeNull();
    if (op.done) expect(op.finishedAt).toBe(op.updatedAt);
    else expect(op.finishedAt).toBeNull();
    if (previous) {
      expect(Date.parse(op.updatedAt)).toBeGreaterThanOrEqual(Date.parse(previous.updatedAt));
      if (previous.startedAt !== null) expect(op.startedAt).toBe(previous.startedAt);
      else if (op.startedAt !== null) expect(op.startedAt).toBe(op.updatedAt);
    }
    previous = op;
  }
}

describe('lifecycle', () => {
  it('runs an operation PENDING → RUNNING → SUCCEEDED with contiguous revisions over WebSocket and SSE', async () => {
    // The single run slot is taken, so the operation stays PENDING until both feeds watch it.
    const { alice, blockerRun } = await withBlockedRunner();
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 300, steps: 3 } });
    expect(op).toMatchObject({ status: 'PENDING', revision: 1, ownerId: 'alice', done: false });
    const ws = alice.watchWs(op.id);
    const viaSse = await alice.watchSse(op.id);
    const firsts = await Promise.all([ws.ops.next(), viaSse.ops.next()]);
    for (const first of firsts) expect(first).toMatchObject({ status: 'PENDING', revision: 1 });
    blockerRun.finish();
    for (const [i, feed] of [ws.ops, viaSse.ops].entries()) {
      const seen = [firsts[i] as Op, ...(await feed.rest())];
      expect(seen.map((o) => o.revision)).toEqual(seen.map((_, k) => k + 1));
      // Each status in turn (RUNNING once per progress report), nothing else.
      expect(seen.map((o) => o.status).filter((s, k, all) => s !== all[k - 1])).toEqual([
        'PENDING',
        'RUNNING',
        'SUCCEEDED',
      ]);
      expect(seen.at(-1)).toMatchObject({
        status: 'SUCCEEDED',
        done: true,
        result: { slept: 300 },
        progress: 1,
      });
      expect(seen.filter((o) => o.done)).toHaveLength(1);
      expectWellFormedHistory(seen);
    }
  });

  it('shows a fast subscriber every revision from 1: statuses, clamped progress, timestamps, done only at the end', async () => {
    // One run at a time: the blocker keeps the operation under test PENDING while we subscribe.
    const { gated, alice, blockerRun } = await withBlockedRunner();
    const op = await alice.start({ kind: 'test.gated', input: { label: 'watched' } });
    const feeds = [alice.watchWs(op.id).ops, (await alice.watchSse(op.id)).ops];
    const next = async () => {
      const [viaWs, viaSse] = await Promise.all(feeds.map((feed) => feed.next()));
      expect(viaSse).toEqual(viaWs);
      return viaWs as Op;
    };
    const { deduplicated, ...started } = op;
    expect(deduplicated).toBe(false);
    const seen: Op[] = [await next()];
    expect(seen[0]).toEqual(started);
    expect(seen[0]).toMatchObject({
      status: 'PENDING',
      revision: 1,
      done: false,
      progress: null,
      message: null,
      startedAt: null,
      finishedAt: null,
      input: { label: 'watched' },
    });
    expect(seen[0]?.updatedAt).toBe(seen[0]?.createdAt);

    blockerRun.finish();
    const run = await gated.started(op.id);
    seen.push(await next());
    expect(seen[1]).toMatchObject({ status: 'RUNNING', revision: 2, progress: null });

    // The handler reports: -1 and 2 are clamped, NaN alone is ignored, NaN with a message keeps
    // the value and changes the message; the same values again are no change.
    await run.ctx.progress(-1, 'below');
    seen.push(await next());
    await run.ctx.progress(0.5);
    seen.push(await next());
    await run.ctx.progress(2, 'above');
    seen.push(await next());
    await run.ctx.progress(Number.NaN);
    await run.ctx.progress(1, 'above');
    await run.ctx.progress(Number.NaN, 'message only');
    seen.push(await next());
    await run.ctx.progress(null, null);
    seen.push(await next());
    expect(seen.slice(2).map((o) => [o.revision, o.progress, o.message])).toEqual([
      [3, 0, 'below'],
      [4, 0.5, 'below'],
      [5, 1, 'above'],
      [6, 1, 'message only'],
      [7, 1, null],
    ]);

    run.finish({ answer: 42 });
    seen.push(await next());
    for (const feed of feeds) expect(await feed.rest()).toEqual([]);
    expect(seen.at(-1)).toMatchObject({
      status: 'SUCCEEDED',
      revision: 8,
      done: true,
      result: { answer: 42 },
      error: null,
      progress: 1,
    });
    expect(seen.map((o) => o.status)).toEqual([
      'PENDING',
      'RUNNING',
      'RUNNING',
      'RUNNING',
      'RUNNING',
      'RUNNING',
      'RUNNING',
      'SUCCEEDED',
    ]);
    expectWellFormedHistory(seen);
    expect(await alice.get(op.id)).toEqual(seen.at(-1));

    // Nothing is accepted once done: late progress resolves but changes nothing.
    await run.ctx.progress(0.1, 'too late');
    expect(await alice.get(op.id)).toEqual(seen.at(-1));
    expect(gated.invocations(op.id)).toBe(1);
  });

  it('ends FAILED with HANDLER_ERROR and the handler message when the handler rejects', async () => {
    const { alice, op, run } = await startGated();
    const feed = alice.watchWs(op.id).ops;
    await run.ctx.progress(0.3, 'working');
    run.fail(new Error('disk full'));
    const seen = await feed.rest();
    expect(seen.at(-1)).toMatchObject({
      status: 'FAILED',
      done: true,
      result: null,
      error: { code: 'HANDLER_ERROR', message: 'disk full' },
      progress: 0.3,
      message: 'working',
    });
    expectWellFormedHistory(seen);
    const final = seen.at(-1);
    await run.ctx.progress(0.9, 'late');
    expect(await alice.get(op.id)).toEqual(final);
  });

  it('demo.sleep with fail ends FAILED HANDLER_ERROR with that message after its steps', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 20, steps: 2, fail: 'boom' } });
    // demo.sleep reports progress on its own clock, so a subscriber may see it coalesced: only
    // the statuses and the terminal state are certain.
    const seen = await alice.watchWs(op.id).ops.rest();
    expect(seen.at(-1)).toMatchObject({
      status: 'FAILED',
      done: true,
      error: { code: 'HANDLER_ERROR', message: 'boom' },
      result: null,
      progress: 1,
      message: 'step 2 of 2',
    });
    expect(seen.filter((o) => o.done)).toHaveLength(1);
  });

  it('keeps progress reported during CANCELLING, then ends CANCELLED with it', async () => {
    const { alice, op, run } = await startGated();
    await run.ctx.progress(0.4, 'working');
    const feed = alice.watchWs(op.id).ops;
    const snapshot = await feed.next();
    expect(snapshot).toMatchObject({ revision: 3, status: 'RUNNING', progress: 0.4 });
    const cancelled = await alice.cancel(op.id, 'enough');
    expect(cancelled.operation).toMatchObject({ status: 'CANCELLING', revision: 4 });
    await run.ctx.progress(0.6, 'cleaning up');
    expect(await alice.get(op.id)).toMatchObject({
      status: 'CANCELLING',
      revision: 5,
      progress: 0.6,
      message: 'cleaning up',
      done: false,
    });
    run.fail(run.ctx.signal.reason);
    const seen = [snapshot, ...(await feed.rest())];
    expect(seen.map((o) => [o.revision, o.status])).toEqual([
      [3, 'RUNNING'],
      [4, 'CANCELLING'],
      [5, 'CANCELLING'],
      [6, 'CANCELLED'],
    ]);
    expect(seen.at(-1)).toMatchObject({
      progress: 0.6,
      message: 'cleaning up',
      error: { code: 'CANCELLED', message: 'enough' },
      cancelReason: 'enough',
    });
    expectWellFormedHistory(seen);
    await run.ctx.progress(0.99, 'after the end');
    expect(await alice.get(op.id)).toEqual(seen.at(-1));
  });

  it('a handler resolving with nothing ends SUCCEEDED with result null; a non-JSON result FAILS', async () => {
    const quirky = defineHandler({
      kind: 'test.quirky',
      parseInput: (input) => input as { bigint?: boolean } | null,
      run: async (input) => (input?.bigint ? ({ n: 1n } as unknown as JsonValue) : undefined),
    });
    const server = await startTestServer(FAST, { handlers: [quirky as Handler] });
    const alice = userClient(server, 'alice');
    const empty = await alice.start({ kind: 'test.quirky' });
    const bad = await alice.start({ kind: 'test.quirky', input: { bigint: true } });
    const [emptyEnd, badEnd] = await Promise.all(
      [empty, bad].map((op) => doneState(alice, op.id, 'the operation to end')),
    );
    expect(emptyEnd).toMatchObject({ status: 'SUCCEEDED', result: null, error: null, revision: 3 });
    expect(badEnd).toMatchObject({ status: 'FAILED', result: null, revision: 3 });
    expect(badEnd?.error?.code).toBe('HANDLER_ERROR');
  });

  it('runs at most MAX_CONCURRENT_RUNS handlers at once; the rest wait PENDING and start oldest first', async () => {
    const { gated, server, alice } = await gatedServer({
      MAX_CONCURRENT_RUNS: '2',
      MAX_RUNS_PER_OWNER: '2',
    });
    const ops: Op[] = [];
    for (let i = 0; i < 5; i++) ops.push(await alice.start({ kind: 'test.gated', input: { i } }));
    const id = (i: number) => ops[i]?.id ?? '';
    const statuses = async () =>
      Promise.all(ops.map(async (op) => (await alice.get(op.id))?.status));
    const invoked = () => ops.map((op) => gated.invocations(op.id));

    const first = await gated.started(id(0));
    const second = await gated.started(id(1));
    expect(await statuses()).toEqual(['RUNNING', 'RUNNING', 'PENDING', 'PENDING', 'PENDING']);
    expect(invoked()).toEqual([1, 1, 0, 0, 0]);
    expect(server.app.gauges().runs).toBe(2);

    second.finish();
    const third = await gated.started(id(2));
    expect(await statuses()).toEqual(['RUNNING', 'SUCCEEDED', 'RUNNING', 'PENDING', 'PENDING']);
    expect(invoked()).toEqual([1, 1, 1, 0, 0]);

    first.finish();
    const fourth = await gated.started(id(3));
    expect(await statuses()).toEqual(['SUCCEEDED', 'SUCCEEDED', 'RUNNING', 'RUNNING', 'PENDING']);

    third.finish();
    fourth.finish();
    (await gated.started(id(4))).finish();
    await waitFor(async () => (await statuses()).every((s) => s === 'SUCCEEDED'), 'all to succeed');
    expect(invoked()).toEqual([1, 1, 1, 1, 1]);
    // Each started no earlier than the one queued before it.
    const startedAt = await Promise.all(
      ops.map(async (op) => Date.parse((await alice.get(op.id))?.startedAt ?? '')),
    );
    expect(startedAt).toEqual([...startedAt].sort((a, b) => a - b));
  });

  it('subscribing to an operation that is already done sends its final state and completes', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const final = await doneState(alice, op.id, 'the operation to end');
    expect(await alice.watchWs(op.id).ops.rest()).toEqual([final]);
    expect(await (await alice.watchSse(op.id)).ops.rest()).toEqual([final]);
  });
});
