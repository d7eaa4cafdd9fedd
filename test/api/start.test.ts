import { describe, expect, it } from 'vitest';
import { parseOperationId } from '../../src/schema/ids.js';
import { type Op, userClient } from '../helpers/clients.js';
import { openLiveDb } from '../helpers/db.js';
import { gatedKind, gatedServer, startGated, withBlockedRunner } from '../helpers/gated.js';
import { FAST, lateOutcomeDiscarded, startTestServer, type TestServer } from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function rowCount(server: TestServer): number {
  const db = openLiveDb(server);
  try {
    return (db.prepare('select count(*) as n from operations').get() as { n: number }).n;
  } finally {
    db.close();
  }
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

type StartResult = {
  __typename: string;
  deduplicated?: boolean;
  operation?: Op;
  field?: string | null;
  kind?: string;
  message?: string;
};

describe('startOperation', () => {
  it('stores the operation PENDING at revision 1 before it answers', async () => {
    const { server, alice } = await gatedServer({ MAX_CONCURRENT_RUNS: '1' });
    await alice.start({ kind: 'test.gated' }); // holds the only run slot
    const { deduplicated, ...op } = await alice.start({
      kind: 'test.gated',
      input: { nested: { list: [1, 'two', null] }, flag: true },
    });
    expect(deduplicated).toBe(false);
    expect(op).toMatchObject({
      kind: 'test.gated',
      status: 'PENDING',
      revision: 1,
      done: false,
      ownerId: 'alice',
      input: { nested: { list: [1, 'two', null] }, flag: true },
      progress: null,
      message: null,
      result: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      cancelRequestedAt: null,
      cancelledBy: null,
      cancelReason: null,
    });
    expect(op.updatedAt).toBe(op.createdAt);
    const rawId = parseOperationId(op.id);
    expect(rawId).not.toBeNull();
    expect(op.id).not.toBe(rawId); // a Relay global ID
    // The row is in the file already, and both ID forms read it back unchanged.
    const db = openLiveDb(server);
    try {
      expect(db.prepare('select status, revision from operations where id = ?').get(rawId)).toEqual(
        {
          status: 'PENDING',
          revision: 1,
        },
      );
    } finally {
      db.close();
    }
    expect(await alice.get(op.id)).toEqual(op);
    expect(await alice.get(rawId ?? '')).toEqual(op);
  });

  it('an immediate read after the answer finds the operation', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    for (let i = 0; i < 5; i++) {
      const op = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
      const read = await alice.get(op.id);
      expect(read).toMatchObject({ id: op.id, createdAt: op.createdAt, kind: 'demo.sleep' });
      expect(read?.revision).toBeGreaterThanOrEqual(1);
    }
  });

  it('an unknown kind is UnknownKindError naming it; nothing is stored', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const r = await alice.startRaw({ kind: 'no.such.kind', input: { a: 1 } });
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.startOperation).toEqual({
      __typename: 'UnknownKindError',
      kind: 'no.such.kind',
      message: expect.stringContaining('no.such.kind'),
    });
    expect(rowCount(server)).toBe(0);
  });

  it('an empty kind is a ValidationError on kind; nothing is stored', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    for (const kind of ['', '   ']) {
      const r = await alice.startRaw({ kind });
      expect(r.body.data?.startOperation).toMatchObject({
        __typename: 'ValidationError',
        field: 'kind',
      });
    }
    expect(rowCount(server)).toBe(0);
  });

  it('input over 64 KiB as JSON is a ValidationError on input; exactly 64 KiB is accepted', async () => {
    const { server, alice } = await gatedServer();
    // {"s":"…"} is the string's length + 8 bytes of JSON.
    const tooBig = await alice.startRaw({
      kind: 'test.gated',
      input: { s: 'x'.repeat(65_536 - 8 + 1) },
    });
    expect(tooBig.body.data?.startOperation).toMatchObject({
      __typename: 'ValidationError',
      field: 'input',
    });
    // Multi-byte characters count as the bytes they take.
    const wide = await alice.startRaw({ kind: 'test.gated', input: { s: 'é'.repeat(33_000) } });
    expect(wide.body.data?.startOperation).toMatchObject({
      __typename: 'ValidationError',
      field: 'input',
    });
    expect(rowCount(server)).toBe(0);
    const atLimit = await alice.startRaw({
      kind: 'test.gated',
      input: { s: 'x'.repeat(65_536 - 8) },
    });
    expect(atLimit.body.data?.startOperation).toMatchObject({
      __typename: 'StartOperationSuccess',
    });
    expect(rowCount(server)).toBe(1);
  });

  it('rejects demo.sleep input out of range with a ValidationError naming the field; no row', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ms: 3_600_001 }, 'input.ms'],
      [{ ms: -1 }, 'input.ms'],
      [{ ms: 'x' }, 'input.ms'],
      [{ ms: 1.5 }, 'input.ms'],
      [{ steps: 0 }, 'input.steps'],
      [{ steps: 10_001 }, 'input.steps'],
      [{ ignoreCancel: 'yes' }, 'input.ignoreCancel'],
      [{ fail: 7 }, 'input.fail'],
    ];
    for (const [input, field] of cases) {
      const r = await alice.startRaw({ kind: 'demo.sleep', input });
      expect(r.body.errors, JSON.stringify(input)).toBeUndefined();
      const result = r.body.data?.startOperation as StartResult;
      expect({ input, typename: result.__typename, field: result.field }).toEqual({
        input,
        typename: 'ValidationError',
        field,
      });
      expect(result.message).toEqual(expect.any(String));
    }
    const unknownField = await alice.startRaw({
      kind: 'demo.sleep',
      input: { ms: 1, color: 'red' },
    });
    const rejected = unknownField.body.data?.startOperation as StartResult | undefined;
    expect(rejected?.__typename).toBe('ValidationError');
    expect(rejected?.field).toMatch(/^input/);
    expect(rowCount(server)).toBe(0);
  });

  it('accepts demo.sleep at the edges of its ranges', async () => {
    const server = await startTestServer(FAST);
    const alice = userClient(server, 'alice');
    for (const input of [{ ms: 3_600_000, steps: 10_000 }, { ms: 0, steps: 1 }, null]) {
      const r = await alice.startRaw({ kind: 'demo.sleep', input });
      expect(r.body.data?.startOperation, JSON.stringify(input)).toMatchObject({
        __typename: 'StartOperationSuccess',
      });
    }
    expect(rowCount(server)).toBe(3);
  });

  it('timeoutMs outside 1..86400000 is a ValidationError on timeoutMs; the edges are accepted', async () => {
    const { server, alice } = await gatedServer();
    for (const timeoutMs of [0, -1, 86_400_001]) {
      const r = await alice.startRaw({ kind: 'test.gated', timeoutMs });
      expect(r.body.data?.startOperation, String(timeoutMs)).toMatchObject({
        __typename: 'ValidationError',
        field: 'timeoutMs',
      });
    }
    expect(rowCount(server)).toBe(0);
    for (const timeoutMs of [1, 86_400_000]) {
      const r = await alice.startRaw({
        kind: 'test.gated',
        timeoutMs,
        input: { onAbort: 'reject' },
      });
      expect(r.body.data?.startOperation, String(timeoutMs)).toMatchObject({
        __typename: 'StartOperationSuccess',
      });
    }
    expect(rowCount(server)).toBe(2);
  });

  it('a run past timeoutMs has its signal fired and ends FAILED TIMEOUT', async () => {
    const { alice, op, run } = await startGated({ timeoutMs: 150, input: { onAbort: 'reject' } });
    const final = await doneState(alice, op.id);
    expect(run.ctx.signal.aborted).toBe(true);
    expect((run.ctx.signal.reason as Error).message).toMatch(/timeoutMs/);
    expect(final).toMatchObject({
      status: 'FAILED',
      revision: 3,
      result: null,
      error: { code: 'TIMEOUT' },
      cancelRequestedAt: null,
    });
    // Not early (timers and the wall clock may disagree by a few ms).
    expect(Date.parse(final.finishedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(final.startedAt ?? '') + 150 - 10,
    );
  });

  it('a handler ignoring its signal past timeoutMs ends FAILED TIMEOUT after the grace; its late result is discarded', async () => {
    const { server, alice, op, run } = await startGated(
      { timeoutMs: 100 },
      { CANCEL_GRACE_MS: '300' },
    );
    const final = await doneState(alice, op.id);
    expect(run.ctx.signal.aborted).toBe(true);
    expect(final).toMatchObject({ status: 'FAILED', revision: 3, error: { code: 'TIMEOUT' } });
    expect(Date.parse(final.finishedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(final.startedAt ?? '') + 100 + 300 - 10,
    );
    await run.ctx.progress(0.5, 'late');
    run.finish({ late: true });
    await lateOutcomeDiscarded(server, op.id, 'the runner to discard the late result');
    expect(await alice.get(op.id)).toEqual(final);
  });

  it('timeoutMs counts from startedAt, not from when it was queued', async () => {
    const { gated, alice, blockerRun } = await withBlockedRunner();
    // Long enough for the checks below to run well within it once the operation is RUNNING, even
    // on a loaded machine.
    const timeoutMs = 3_000;
    const op = await alice.start({
      kind: 'test.gated',
      timeoutMs,
      input: { onAbort: 'reject' },
    });
    // Let it wait in the queue longer than its timeout.
    await waitFor(
      () => Date.now() > Date.parse(op.createdAt) + timeoutMs + 100,
      'the timeout to pass in the queue',
    );
    expect(await alice.get(op.id)).toMatchObject({ status: 'PENDING', revision: 1 });
    blockerRun.finish();
    const run = await gated.started(op.id);
    await waitFor(async () => (await alice.get(op.id))?.status !== 'PENDING', 'the claim');
    expect(await alice.get(op.id)).toMatchObject({ status: 'RUNNING', error: null });
    expect(run.ctx.signal.aborted).toBe(false);
    run.finish({ inTime: true });
    expect(await doneState(alice, op.id)).toMatchObject({
      status: 'SUCCEEDED',
      result: { inTime: true },
      error: null,
    });
  });
});

describe('idempotencyKey', () => {
  it('20 concurrent starts with one key create one operation; every caller gets its id', async () => {
    const { gated, server, alice } = await gatedServer();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        alice.start({ kind: 'test.gated', input: { n: 1 }, idempotencyKey: 'order-42' }),
      ),
    );
    const ids = new Set(results.map((r) => r.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
    expect(results.filter((r) => r.deduplicated)).toHaveLength(19);
    expect(rowCount(server)).toBe(1);
    const [id] = ids;
    await gated.started(id ?? '');
    expect(gated.totalInvocations()).toBe(1);
    // A later start with the key returns the first operation as it stands now.
    const again = await alice.start({
      kind: 'test.gated',
      input: { n: 1 },
      idempotencyKey: 'order-42',
    });
    expect(again).toMatchObject({ id, deduplicated: true, status: 'RUNNING', revision: 2 });
    expect(rowCount(server)).toBe(1);
  });

  it('compares input by value: key order does not matter', async () => {
    const { alice } = await gatedServer();
    const first = await alice.start({
      kind: 'test.gated',
      input: { a: 1, b: { c: 2, d: 3 } },
      idempotencyKey: 'k',
    });
    const second = await alice.start({
      kind: 'test.gated',
      input: { b: { d: 3, c: 2 }, a: 1 },
      idempotencyKey: 'k',
    });
    expect(second).toMatchObject({ id: first.id, deduplicated: true });
  });

  it('the same key with a different input or kind is a ValidationError on idempotencyKey', async () => {
    const gated = gatedKind();
    const other = gatedKind('test.other');
    const server = await startTestServer(FAST, { handlers: [gated.handler, other.handler] });
    const alice = userClient(server, 'alice');
    const first = await alice.start({ kind: 'test.gated', input: { n: 1 }, idempotencyKey: 'k' });
    for (const variant of [
      { kind: 'test.gated', input: { n: 2 } },
      { kind: 'test.gated', input: null },
      { kind: 'test.gated' },
      { kind: 'test.other', input: { n: 1 } },
    ]) {
      const r = await alice.startRaw({ ...variant, idempotencyKey: 'k' });
      expect(r.body.data?.startOperation, JSON.stringify(variant)).toMatchObject({
        __typename: 'ValidationError',
        field: 'idempotencyKey',
      });
    }
    expect(rowCount(server)).toBe(1);
    expect(await alice.get(first.id)).toMatchObject({ id: first.id, input: { n: 1 } });
  });

  it('keys are per owner: another user with the same key gets a new operation', async () => {
    const { server, alice } = await gatedServer();
    const bob = userClient(server, 'bob');
    const a = await alice.start({ kind: 'test.gated', input: { n: 1 }, idempotencyKey: 'shared' });
    const b = await bob.start({ kind: 'test.gated', input: { n: 1 }, idempotencyKey: 'shared' });
    expect(b.deduplicated).toBe(false);
    expect(b.id).not.toBe(a.id);
    expect(b.ownerId).toBe('bob');
    // Different input is fine for bob too: it is his own key.
    const bAgain = await bob.start({
      kind: 'test.gated',
      input: { n: 1 },
      idempotencyKey: 'shared',
    });
    expect(bAgain).toMatchObject({ id: b.id, deduplicated: true });
    expect(rowCount(server)).toBe(2);
  });

  it('still deduplicates after the first operation finished', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const first = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1 },
      idempotencyKey: 'k',
    });
    const final = await doneState(alice, first.id);
    const again = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 0, steps: 1 },
      idempotencyKey: 'k',
    });
    const { deduplicated, ...state } = again;
    expect(deduplicated).toBe(true);
    expect(state).toEqual(final);
  });

  it('a key first used more than 24 hours ago starts a new operation; one used 23 hours ago does not', async () => {
    const { server, alice } = await gatedServer();
    const request = { kind: 'test.gated', input: { n: 1 }, idempotencyKey: 'daily' };
    const first = await alice.start(request);
    backdate(server, first.id, 23 * 60 * 60 * 1000);
    expect(await alice.start(request)).toMatchObject({ id: first.id, deduplicated: true });

    backdate(server, first.id, 60 * 60 * 1000 + 1000); // now 24 h and a second old
    const second = await alice.start(request);
    expect(second.deduplicated).toBe(false);
    expect(second.id).not.toBe(first.id);
    expect(rowCount(server)).toBe(2);
    // The old operation is still there; the key now leads to the new one.
    expect(await alice.get(first.id)).toMatchObject({ id: first.id });
    expect(await alice.start(request)).toMatchObject({ id: second.id, deduplicated: true });
    // Past the window, even a different input is a fresh start, not a conflict.
    backdate(server, second.id, DAY_MS + 1000);
    const third = await alice.start({ ...request, input: { n: 2 } });
    expect(third).toMatchObject({ deduplicated: false, input: { n: 2 } });
    expect(rowCount(server)).toBe(3);
  });
});
