import { describe, expect, it } from 'vitest';
import { OperationFinishedError } from '../../src/operations/errors.js';
import type { OperationRecord } from '../../src/operations/model.js';
import { ALL_STATUSES, isDone, type OperationStatus } from '../../src/operations/status.js';
import * as t from '../../src/operations/transitions.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-01T00:00:01.000Z');
const LEASE = { owner: 'worker-1', expiresAt: new Date('2026-01-01T00:00:31.000Z') };

function fresh(): OperationRecord {
  return t.create(
    {
      id: '00000000-0000-4000-8000-000000000001',
      kind: 'demo.sleep',
      ownerId: 'alice',
      input: { ms: 10 },
      idempotencyKey: 'k1',
      timeoutMs: 5000,
      retryOf: '00000000-0000-4000-8000-000000000000',
    },
    T0,
  );
}

/** A record in `status`, as the lifecycle would have left it. */
function inStatus(status: OperationStatus): OperationRecord {
  const pending = fresh();
  const running: OperationRecord = {
    ...pending,
    status: 'RUNNING',
    startedAt: T0,
    lease: LEASE,
    revision: 2,
  };
  switch (status) {
    case 'PENDING':
      return pending;
    case 'RUNNING':
      return running;
    case 'CANCELLING':
      return {
        ...running,
        status,
        cancelRequestedAt: T0,
        cancelledBy: 'alice',
        cancelReason: 'stop',
        revision: 3,
      };
    case 'SUCCEEDED':
      return { ...running, status, result: { ok: true }, finishedAt: T0, lease: null, revision: 3 };
    case 'FAILED':
      return {
        ...running,
        status,
        error: { code: 'HANDLER_ERROR', message: 'boom' },
        finishedAt: T0,
        lease: null,
        revision: 3,
      };
    case 'CANCELLED':
      return {
        ...pending,
        status,
        cancelRequestedAt: T0,
        cancelledBy: 'alice',
        cancelReason: null,
        error: { code: 'CANCELLED', message: 'Cancelled' },
        finishedAt: T0,
        revision: 2,
      };
  }
}

function changedTo(outcome: t.Outcome): OperationRecord {
  if (outcome.kind !== 'changed') throw new Error(`expected a change, got ${outcome.kind}`);
  return outcome.next;
}

/** Every transition the system can apply, by name. */
const TRANSITIONS: Record<string, (op: OperationRecord) => t.Outcome> = {
  claim: (op) => t.claim(op, LEASE, T1),
  cancel: (op) => t.cancel(op, 'bob', 'why', T1),
  progress: (op) => t.progress(op, 0.42, 'working', T1),
  succeed: (op) => t.succeed(op, { done: 1 }, T1),
  handlerError: (op) => t.handlerStopped(op, { cause: 'error', message: 'x' }, T1),
  handlerTimeout: (op) => t.handlerStopped(op, { cause: 'timeout' }, T1),
  forceStop: (op) => t.forceStop(op, T1),
  interruptByCrash: (op) => t.interrupt(op, T1, true),
  interruptByShutdown: (op) => t.interrupt(op, T1, false),
};

/** The only status edges SEMANTICS.md allows (same-status edges are progress). */
const LEGAL_EDGES = new Set([
  'PENDING>RUNNING',
  'PENDING>CANCELLED',
  'RUNNING>RUNNING',
  'RUNNING>CANCELLING',
  'RUNNING>SUCCEEDED',
  'RUNNING>FAILED',
  'CANCELLING>CANCELLING',
  'CANCELLING>SUCCEEDED',
  'CANCELLING>CANCELLED',
  'CANCELLING>FAILED',
]);

describe('create', () => {
  it('makes a PENDING operation at revision 1 with nothing else set', () => {
    expect(fresh()).toEqual({
      id: '00000000-0000-4000-8000-000000000001',
      kind: 'demo.sleep',
      ownerId: 'alice',
      input: { ms: 10 },
      idempotencyKey: 'k1',
      timeoutMs: 5000,
      retryOf: '00000000-0000-4000-8000-000000000000',
      status: 'PENDING',
      progress: null,
      message: null,
      result: null,
      error: null,
      createdAt: T0,
      updatedAt: T0,
      startedAt: null,
      finishedAt: null,
      cancelRequestedAt: null,
      cancelledBy: null,
      cancelReason: null,
      revision: 1,
      lease: null,
    });
  });
});

describe('every transition', () => {
  for (const [name, apply] of Object.entries(TRANSITIONS)) {
    for (const status of ALL_STATUSES) {
      it(`${name} from ${status}: a legal edge, revision + 1, updatedAt = now, or nothing`, () => {
        const before = inStatus(status);
        const snapshot = structuredClone(before);
        const outcome = apply(before);
        expect(before).toEqual(snapshot); // pure: the input is never mutated
        if (outcome.kind === 'unchanged') {
          expect(outcome.current).toBe(before);
          return;
        }
        if (outcome.kind === 'rejected') {
          expect(name).toBe('cancel');
          return;
        }
        const next = outcome.next;
        expect(isDone(status)).toBe(false);
        expect(LEGAL_EDGES.has(`${status}>${next.status}`)).toBe(true);
        expect(next.revision).toBe(before.revision + 1);
        expect(next.updatedAt).toBe(T1);
        expect(next.createdAt).toBe(before.createdAt);
        for (const key of [
          'id',
          'kind',
          'ownerId',
          'input',
          'idempotencyKey',
          'timeoutMs',
          'retryOf',
        ] as const) {
          expect(next[key]).toEqual(before[key]);
        }
        if (isDone(next.status)) {
          expect(next.finishedAt).toBe(T1);
          expect(next.lease).toBeNull();
        } else {
          expect(next.finishedAt).toBeNull();
        }
      });
    }
  }

  it('a done operation never changes again, whatever is applied', () => {
    for (const status of ALL_STATUSES.filter(isDone)) {
      for (const apply of Object.values(TRANSITIONS)) {
        expect(apply(inStatus(status)).kind).not.toBe('changed');
      }
    }
  });
});

describe('claim', () => {
  it('takes a PENDING operation to RUNNING under the lease, with startedAt', () => {
    const next = changedTo(t.claim(fresh(), LEASE, T1));
    expect(next).toMatchObject({ status: 'RUNNING', startedAt: T1, lease: LEASE, revision: 2 });
  });

  it('leaves every other status alone (a cancel won the race)', () => {
    for (const status of ALL_STATUSES.filter((s) => s !== 'PENDING')) {
      expect(t.claim(inStatus(status), LEASE, T1).kind).toBe('unchanged');
    }
  });
});

describe('cancel', () => {
  it('PENDING ends CANCELLED at once with who, why, when and error CANCELLED', () => {
    const next = changedTo(t.cancel(fresh(), 'bob', 'no longer needed', T1));
    expect(next).toMatchObject({
      status: 'CANCELLED',
      cancelRequestedAt: T1,
      cancelledBy: 'bob',
      cancelReason: 'no longer needed',
      finishedAt: T1,
      error: { code: 'CANCELLED', message: 'no longer needed' },
      startedAt: null,
      revision: 2,
    });
  });

  it('PENDING without a reason: error message "Cancelled"', () => {
    for (const reason of [null, '']) {
      const next = changedTo(t.cancel(fresh(), 'bob', reason, T1));
      expect(next.error).toEqual({ code: 'CANCELLED', message: t.DEFAULT_CANCEL_MESSAGE });
      expect(t.DEFAULT_CANCEL_MESSAGE).toBe('Cancelled');
    }
  });

  it('RUNNING becomes CANCELLING, keeping its lease; not finished yet', () => {
    const next = changedTo(t.cancel(inStatus('RUNNING'), 'bob', 'stop', T1));
    expect(next).toMatchObject({
      status: 'CANCELLING',
      cancelRequestedAt: T1,
      cancelledBy: 'bob',
      cancelReason: 'stop',
      finishedAt: null,
      error: null,
      lease: LEASE,
      revision: 3,
    });
  });

  it('CANCELLING and CANCELLED are unchanged: the first caller stays cancelledBy', () => {
    for (const status of ['CANCELLING', 'CANCELLED'] as const) {
      const op = inStatus(status);
      const outcome = t.cancel(op, 'mallory', 'again', T1);
      expect(outcome).toEqual({ kind: 'unchanged', current: op });
    }
  });

  it('SUCCEEDED and FAILED are rejected with OperationFinishedError carrying the operation', () => {
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      const op = inStatus(status);
      const outcome = t.cancel(op, 'bob', null, T1);
      if (outcome.kind !== 'rejected') throw new Error(`expected rejected, got ${outcome.kind}`);
      expect(outcome.error).toBeInstanceOf(OperationFinishedError);
      expect(outcome.error.operation).toBe(op);
      expect(outcome.error.message).toContain(status);
    }
  });
});

describe('progress', () => {
  it('clamps values outside 0..1 into it', () => {
    expect(changedTo(t.progress(inStatus('RUNNING'), -1, undefined, T1)).progress).toBe(0);
    expect(changedTo(t.progress(inStatus('RUNNING'), 2, undefined, T1)).progress).toBe(1);
    expect(changedTo(t.progress(inStatus('RUNNING'), -Infinity, undefined, T1)).progress).toBe(0);
    expect(changedTo(t.progress(inStatus('RUNNING'), Infinity, undefined, T1)).progress).toBe(1);
    expect(changedTo(t.progress(inStatus('RUNNING'), 0.25, undefined, T1)).progress).toBe(0.25);
  });

  it('ignores NaN: no change without a message, the message alone with one', () => {
    const op = { ...inStatus('RUNNING'), progress: 0.5 };
    expect(t.progress(op, Number.NaN, undefined, T1).kind).toBe('unchanged');
    const next = changedTo(t.progress(op, Number.NaN, 'still going', T1));
    expect(next).toMatchObject({ progress: 0.5, message: 'still going', revision: 3 });
  });

  it('null keeps the last value; an undefined message keeps the last one; null clears it', () => {
    const op = { ...inStatus('RUNNING'), progress: 0.5, message: 'half' };
    expect(changedTo(t.progress(op, null, 'msg', T1))).toMatchObject({
      progress: 0.5,
      message: 'msg',
    });
    expect(changedTo(t.progress(op, 0.6, undefined, T1))).toMatchObject({
      progress: 0.6,
      message: 'half',
    });
    expect(changedTo(t.progress(op, 0.5, null, T1))).toMatchObject({
      progress: 0.5,
      message: null,
    });
  });

  it('reporting the same values again is no change (no empty revision)', () => {
    const op = { ...inStatus('RUNNING'), progress: 0.5, message: 'half' };
    expect(t.progress(op, 0.5, 'half', T1).kind).toBe('unchanged');
    expect(t.progress(op, 0.5, undefined, T1).kind).toBe('unchanged');
    // Clamping first: 7 on an operation already at 1 is no change either.
    expect(t.progress({ ...op, progress: 1 }, 7, undefined, T1).kind).toBe('unchanged');
  });

  it('is kept during CANCELLING', () => {
    const next = changedTo(t.progress(inStatus('CANCELLING'), 0.9, 'almost', T1));
    expect(next).toMatchObject({
      status: 'CANCELLING',
      progress: 0.9,
      message: 'almost',
      revision: 4,
    });
  });

  it('is not accepted while PENDING or once done', () => {
    for (const status of ['PENDING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const) {
      expect(t.progress(inStatus(status), 0.3, 'late', T1).kind).toBe('unchanged');
    }
  });
});

describe('succeed', () => {
  it('RUNNING ends SUCCEEDED with the result', () => {
    const next = changedTo(t.succeed(inStatus('RUNNING'), { slept: 5 }, T1));
    expect(next).toMatchObject({
      status: 'SUCCEEDED',
      result: { slept: 5 },
      error: null,
      finishedAt: T1,
      lease: null,
      revision: 3,
    });
  });

  it('CANCELLING ends SUCCEEDED too, keeping cancelRequestedAt to show the cancel came too late', () => {
    const next = changedTo(t.succeed(inStatus('CANCELLING'), null, T1));
    expect(next).toMatchObject({
      status: 'SUCCEEDED',
      result: null,
      cancelRequestedAt: T0,
      cancelledBy: 'alice',
      cancelReason: 'stop',
      error: null,
    });
  });
});

describe('handlerStopped', () => {
  it('a handler error while RUNNING is FAILED HANDLER_ERROR with its message', () => {
    const next = changedTo(
      t.handlerStopped(inStatus('RUNNING'), { cause: 'error', message: 'disk full' }, T1),
    );
    expect(next).toMatchObject({
      status: 'FAILED',
      error: { code: 'HANDLER_ERROR', message: 'disk full' },
      result: null,
    });
  });

  it('past the deadline it is FAILED TIMEOUT', () => {
    const next = changedTo(t.handlerStopped(inStatus('RUNNING'), { cause: 'timeout' }, T1));
    expect(next.status).toBe('FAILED');
    expect(next.error?.code).toBe('TIMEOUT');
  });

  it('any rejection once cancellation was requested is CANCELLED with the reason', () => {
    for (const stop of [{ cause: 'error', message: 'aborted' }, { cause: 'timeout' }] as const) {
      const next = changedTo(t.handlerStopped(inStatus('CANCELLING'), stop, T1));
      expect(next).toMatchObject({
        status: 'CANCELLED',
        error: { code: 'CANCELLED', message: 'stop' },
        cancelledBy: 'alice',
      });
    }
    const noReason = { ...inStatus('CANCELLING'), cancelReason: null };
    expect(changedTo(t.handlerStopped(noReason, { cause: 'timeout' }, T1)).error).toEqual({
      code: 'CANCELLED',
      message: 'Cancelled',
    });
  });
});

describe('forceStop', () => {
  it('a CANCELLING handler past the grace is CANCELLED CANCEL_FORCED', () => {
    const next = changedTo(t.forceStop(inStatus('CANCELLING'), T1));
    expect(next).toMatchObject({ status: 'CANCELLED', result: null, finishedAt: T1, lease: null });
    expect(next.error?.code).toBe('CANCEL_FORCED');
  });

  it('a RUNNING one (timed out, ignoring its signal) is FAILED TIMEOUT', () => {
    const next = changedTo(t.forceStop(inStatus('RUNNING'), T1));
    expect(next.status).toBe('FAILED');
    expect(next.error?.code).toBe('TIMEOUT');
  });
});

describe('interrupt', () => {
  it('a dead process: RUNNING is FAILED INTERRUPTED, CANCELLING is CANCELLED', () => {
    expect(changedTo(t.interrupt(inStatus('RUNNING'), T1, true))).toMatchObject({
      status: 'FAILED',
      error: { code: 'INTERRUPTED' },
    });
    expect(changedTo(t.interrupt(inStatus('CANCELLING'), T1, true))).toMatchObject({
      status: 'CANCELLED',
      error: { code: 'CANCELLED', message: 'stop' },
    });
  });

  it('a shutdown is never CANCELLED: both are FAILED INTERRUPTED', () => {
    for (const status of ['RUNNING', 'CANCELLING'] as const) {
      expect(changedTo(t.interrupt(inStatus(status), T1, false))).toMatchObject({
        status: 'FAILED',
        error: { code: 'INTERRUPTED' },
      });
    }
  });

  it('PENDING stays PENDING for the next process', () => {
    expect(t.interrupt(fresh(), T1, true).kind).toBe('unchanged');
    expect(t.interrupt(fresh(), T1, false).kind).toBe('unchanged');
  });
});

describe('a whole lifecycle', () => {
  it('PENDING → RUNNING → progress… → SUCCEEDED: revisions contiguous, updatedAt and timestamps set', () => {
    const at = (s: number) => new Date(T0.getTime() + s * 1000);
    const times = [1, 2, 3, 4, 5].map(at);
    let op = fresh();
    const seen = [op];
    op = changedTo(t.claim(op, LEASE, at(1)));
    seen.push(op);
    for (const [i, value] of [0.25, 0.5, 0.75].entries()) {
      op = changedTo(t.progress(op, value, `step ${i + 1}`, at(i + 2)));
      seen.push(op);
    }
    op = changedTo(t.succeed(op, { ok: true }, at(5)));
    seen.push(op);
    expect(seen.map((o) => o.revision)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.map((o) => o.status)).toEqual([
      'PENDING',
      'RUNNING',
      'RUNNING',
      'RUNNING',
      'RUNNING',
      'SUCCEEDED',
    ]);
    expect(seen.map((o) => o.updatedAt)).toEqual([T0, ...times]);
    expect(op).toMatchObject({ startedAt: times[0], finishedAt: times[4], progress: 0.75 });
  });
});
