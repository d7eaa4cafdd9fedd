import { describe, expect, it } from 'vitest';
import { SubscriberTooSlowError } from '../../src/operations/errors.js';
import type { OperationRecord } from '../../src/operations/model.js';
import { pushFrom, type Sink } from '../../src/operations/push.js';
import type { OperationStatus } from '../../src/operations/status.js';
import * as transitions from '../../src/operations/transitions.js';
import { QUEUE_LIMITS, UpdateQueue } from '../../src/operations/update-queue.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');

function rec(
  id: string,
  revision: number,
  status: OperationStatus,
  progress: number | null = null,
) {
  const base = transitions.create(
    {
      id,
      kind: 'demo.sleep',
      ownerId: 'alice',
      input: null,
      idempotencyKey: null,
      timeoutMs: null,
      retryOf: null,
    },
    T0,
  );
  return { ...base, revision, status, progress } satisfies OperationRecord;
}

/** Everything still waiting, read without blocking (stops at the first read that would wait). */
async function drainNow(queue: UpdateQueue): Promise<{ items: OperationRecord[]; ended: boolean }> {
  const items: OperationRecord[] = [];
  for (;;) {
    if (queue.size === 0) {
      // Only a read can tell whether the stream completes; race it against a macrotask.
      const next = queue.next();
      const result = await Promise.race([
        next,
        new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting'))),
      ]);
      if (result === 'waiting') {
        queue.close();
        await next;
        return { items, ended: false };
      }
      if (result.done) return { items, ended: true };
      items.push(result.value);
      continue;
    }
    const result = await queue.next();
    if (result.done) return { items, ended: true };
    items.push(result.value);
  }
}

const summary = (items: OperationRecord[]) =>
  items.map((o) => `${o.revision}:${o.status}:${o.progress}`);

describe('UpdateQueue', () => {
  it('delivers revisions in order to a reader that keeps up', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    const reads: OperationRecord[] = [];
    queue.push(rec('a', 1, 'PENDING'));
    reads.push((await queue.next()).value);
    queue.push(rec('a', 2, 'RUNNING'));
    reads.push((await queue.next()).value);
    for (let r = 3; r <= 6; r++) {
      queue.push(rec('a', r, 'RUNNING', (r - 2) / 4));
      reads.push((await queue.next()).value);
    }
    queue.push(rec('a', 7, 'SUCCEEDED', 1));
    reads.push((await queue.next()).value);
    expect(reads.map((o) => o.revision)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('wakes a reader that is already waiting', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    const pending = queue.next();
    queue.push(rec('a', 1, 'PENDING'));
    expect((await pending).value).toMatchObject({ revision: 1 });
  });

  it('for a slow reader keeps every status change and only the latest progress of each run', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    queue.push(rec('a', 1, 'PENDING'));
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('a', 3, 'RUNNING', 0.1));
    queue.push(rec('a', 4, 'RUNNING', 0.2));
    queue.push(rec('a', 5, 'RUNNING', 0.3));
    queue.push(rec('a', 6, 'CANCELLING', 0.3));
    queue.push(rec('a', 7, 'CANCELLING', 0.4));
    queue.push(rec('a', 8, 'CANCELLING', 0.5));
    queue.push(rec('a', 9, 'CANCELLED', 0.5));
    const { items, ended } = await drainNow(queue);
    expect(summary(items)).toEqual([
      '1:PENDING:null',
      '2:RUNNING:null',
      '5:RUNNING:0.3',
      '6:CANCELLING:0.3',
      '8:CANCELLING:0.5',
      '9:CANCELLED:0.5',
    ]);
    expect(ended).toBe(true);
  });

  it('never replaces a status change with a later progress revision', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('a', 3, 'RUNNING', 0.5));
    const { items } = await drainNow(queue);
    expect(summary(items)).toEqual(['2:RUNNING:null', '3:RUNNING:0.5']);
  });

  it('after a progress revision was read, the next one is delivered again', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('a', 3, 'RUNNING', 0.1));
    expect((await queue.next()).value.revision).toBe(2);
    expect((await queue.next()).value.revision).toBe(3);
    queue.push(rec('a', 4, 'RUNNING', 0.2));
    queue.push(rec('a', 5, 'RUNNING', 0.3));
    const { items } = await drainNow(queue);
    expect(summary(items)).toEqual(['5:RUNNING:0.3']);
  });

  it('drops revisions at or below the last one queued (duplicates and stale reorderings)', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    queue.push(rec('a', 3, 'RUNNING', 0.1));
    queue.push(rec('a', 3, 'RUNNING', 0.1));
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('a', 1, 'PENDING'));
    queue.push(rec('a', 4, 'SUCCEEDED', 1));
    queue.push(rec('a', 3, 'RUNNING', 0.1));
    const { items, ended } = await drainNow(queue);
    expect(summary(items)).toEqual(['3:RUNNING:0.1', '4:SUCCEEDED:1']);
    expect(ended).toBe(true);
  });

  it('drops an old revision even after the newer one was read', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    queue.push(rec('a', 5, 'RUNNING', 0.5));
    expect((await queue.next()).value.revision).toBe(5);
    queue.push(rec('a', 4, 'RUNNING', 0.4));
    queue.push(rec('a', 5, 'RUNNING', 0.5));
    const { items } = await drainNow(queue);
    expect(items).toEqual([]);
  });

  it('completes right after the terminal state, which is delivered, and ignores anything later', async () => {
    let closes = 0;
    const queue = new UpdateQueue(true, () => closes++);
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('a', 3, 'FAILED'));
    queue.push(rec('a', 4, 'RUNNING', 0.9)); // impossible, but must not be delivered
    expect((await queue.next()).value.revision).toBe(2);
    expect(closes).toBe(0);
    expect((await queue.next()).value).toMatchObject({ revision: 3, status: 'FAILED' });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    expect(closes).toBe(1);
  });

  it('a snapshot that is already done is delivered and completes the stream', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    queue.push(rec('a', 4, 'CANCELLED'));
    const { items, ended } = await drainNow(queue);
    expect(summary(items)).toEqual(['4:CANCELLED:null']);
    expect(ended).toBe(true);
  });

  it('without completeOnTerminal it keeps going after a terminal state', async () => {
    const queue = new UpdateQueue(false, () => undefined);
    queue.push(rec('a', 2, 'SUCCEEDED'));
    queue.push(rec('b', 1, 'PENDING'));
    const { items, ended } = await drainNow(queue);
    expect(summary(items)).toEqual(['2:SUCCEEDED:null', '1:PENDING:null']);
    expect(ended).toBe(false);
  });

  it('keeps operations apart: coalescing one never touches another', async () => {
    const queue = new UpdateQueue(false, () => undefined);
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('b', 2, 'RUNNING'));
    queue.push(rec('a', 3, 'RUNNING', 0.1));
    queue.push(rec('b', 3, 'RUNNING', 0.1));
    queue.push(rec('a', 4, 'RUNNING', 0.2));
    queue.push(rec('b', 4, 'SUCCEEDED', 1));
    queue.push(rec('a', 5, 'RUNNING', 0.3));
    const { items } = await drainNow(queue);
    expect(items.map((o) => `${o.id}${o.revision}`)).toEqual(['a2', 'b2', 'a5', 'b3', 'b4']);
  });

  it('does not deliver a late duplicate of a terminal state that was already read', async () => {
    // A shared bus may redeliver; each revision must reach the subscriber once.
    const queue = new UpdateQueue(false, () => undefined);
    queue.push(rec('a', 3, 'SUCCEEDED', 1));
    expect((await queue.next()).value.revision).toBe(3);
    queue.push(rec('a', 3, 'SUCCEEDED', 1));
    queue.push(rec('a', 2, 'RUNNING', 0.5));
    const { items } = await drainNow(queue);
    expect(items).toEqual([]);
  });

  it('stays bounded under 10 000 progress pushes nobody reads, then delivers what matters', async () => {
    const queue = new UpdateQueue(true, () => undefined);
    queue.push(rec('a', 1, 'PENDING'));
    queue.push(rec('a', 2, 'RUNNING'));
    let maxSize = 0;
    for (let i = 1; i <= 10_000; i++) {
      queue.push(rec('a', 2 + i, 'RUNNING', i / 10_000));
      maxSize = Math.max(maxSize, queue.size);
    }
    queue.push(rec('a', 10_003, 'SUCCEEDED', 1));
    expect(maxSize).toBe(3);
    expect(queue.size).toBe(4);
    const { items, ended } = await drainNow(queue);
    expect(summary(items)).toEqual([
      '1:PENDING:null',
      '2:RUNNING:null',
      '10002:RUNNING:1',
      '10003:SUCCEEDED:1',
    ]);
    expect(ended).toBe(true);
  });

  it('stays bounded for a feed of many operations: at most two waiting per operation', () => {
    const queue = new UpdateQueue(false, () => undefined);
    for (let r = 2; r <= 1000; r++) {
      for (const id of ['a', 'b', 'c', 'd', 'e']) queue.push(rec(id, r, 'RUNNING', r / 1000));
    }
    expect(queue.size).toBe(10);
  });

  it('close ends a waiting reader, drops what waits, ignores later pushes, calls onClose once', async () => {
    let closes = 0;
    const queue = new UpdateQueue(true, () => closes++);
    const waiting = queue.next();
    queue.close();
    expect(await waiting).toEqual({ done: true, value: undefined });
    queue.push(rec('a', 1, 'PENDING'));
    expect(queue.size).toBe(0);
    queue.close();
    expect(await queue.return()).toEqual({ done: true, value: undefined });
    expect(closes).toBe(1);
  });

  it('close drops waiting items', async () => {
    const queue = new UpdateQueue(false, () => undefined);
    queue.push(rec('a', 1, 'PENDING'));
    queue.push(rec('b', 1, 'PENDING'));
    queue.close();
    expect(queue.size).toBe(0);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('return() (for await … break) ends the stream', async () => {
    let closes = 0;
    const queue = new UpdateQueue(false, () => closes++);
    queue.push(rec('a', 1, 'PENDING'));
    queue.push(rec('a', 2, 'RUNNING'));
    const seen: number[] = [];
    for await (const op of queue) {
      seen.push(op.revision);
      break;
    }
    expect(seen).toEqual([1]);
    expect(closes).toBe(1);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('keeps one waiting state per operation for a reader of many operations reporting progress: no backlog, never cut off', async () => {
    let closed = 0;
    const queue = new UpdateQueue(false, () => closed++);
    const base = rec('x', 1, 'RUNNING');
    // 5,000 operations, each RUNNING then 20 progress reports, nothing read meanwhile.
    for (let step = 0; step <= 20; step++) {
      for (let op = 0; op < 5_000; op++) {
        queue.push({ ...base, id: `op${op}`, revision: 2 + step, progress: step / 20 });
      }
    }
    expect(queue.size).toBe(10_000); // RUNNING, then its latest progress, per operation
    expect(queue.backlog).toBe(0);
    expect(closed).toBe(0);
    const { items } = await drainNow(queue);
    expect(items.filter((o) => o.progress === 1)).toHaveLength(5_000);
  });

  it('counts the backlog down as the reader catches up, and coalesces progress again once the status changes are read', async () => {
    const queue = new UpdateQueue(false, () => {});
    queue.push(rec('a', 1, 'PENDING'));
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('a', 3, 'CANCELLING'));
    queue.push(rec('b', 1, 'PENDING'));
    expect(queue.backlog).toBe(2);
    expect((await queue.next()).value).toMatchObject({ id: 'a', revision: 1 });
    expect(queue.backlog).toBe(1);
    expect((await queue.next()).value).toMatchObject({ id: 'a', revision: 2 });
    expect(queue.backlog).toBe(0);
    queue.push(rec('a', 4, 'CANCELLING', 0.5)); // progress behind its waiting status change
    queue.push(rec('a', 5, 'CANCELLING', 0.6)); // replaces revision 4
    expect(queue.size).toBe(3);
    const { items } = await drainNow(queue);
    expect(items.map((op) => `${op.id}${op.revision}`)).toEqual(['a3', 'b1', 'a5']);
    expect(queue.backlog).toBe(0);
  });

  it('ends the stream with SubscriberTooSlowError once more status changes wait than the bound, and frees them', async () => {
    let closed = 0;
    const queue = new UpdateQueue(false, () => closed++, { maxBacklog: 10, maxWaiting: 1_000 });
    queue.push(rec('a', 1, 'PENDING'));
    for (let op = 0; op < 5; op++) {
      queue.push(rec(`op${op}`, 1, 'PENDING'));
      queue.push(rec(`op${op}`, 2, 'RUNNING'));
      queue.push(rec(`op${op}`, 3, 'RUNNING', 0.5)); // progress: not a status change
      queue.push(rec(`op${op}`, 4, 'SUCCEEDED'));
    }
    expect(queue.backlog).toBe(10);
    expect(closed).toBe(0);
    queue.push(rec('a', 2, 'RUNNING')); // the eleventh status change behind another
    expect(closed).toBe(1);
    expect(queue.size).toBe(0);
    const error = await queue.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubscriberTooSlowError);
    expect(error).toMatchObject({ backlog: 11, waiting: 22 });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    queue.push(rec('a', 3, 'SUCCEEDED')); // ignored once ended
    expect(queue.size).toBe(0);
  });

  it('bounds the waiting states in all, one per operation or not', async () => {
    let closed = 0;
    const queue = new UpdateQueue(false, () => closed++, { maxBacklog: 1_000, maxWaiting: 100 });
    for (let op = 0; op < 100; op++) queue.push(rec(`op${op}`, 1, 'PENDING'));
    expect(closed).toBe(0);
    queue.push(rec('op100', 1, 'PENDING'));
    expect(closed).toBe(1);
    await expect(queue.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
  });

  it('counts the backlog down as the reader catches up', async () => {
    const queue = new UpdateQueue(false, () => undefined);
    const base = rec('x', 1, 'PENDING');
    const statuses: OperationStatus[] = ['PENDING', 'RUNNING', 'CANCELLING', 'CANCELLED'];
    let read = 0;
    // 300 operations go through four statuses; the reader reads one state for each pushed but
    // starts 900 behind (600 of them status changes behind others), then catches up.
    let highest = 0;
    for (let i = 0; i < 1_200; i++) {
      const op = i % 300;
      const step = Math.floor(i / 300);
      queue.push({
        ...base,
        id: `op${op}`,
        revision: step + 1,
        status: statuses[step] ?? 'FAILED',
      });
      if (i >= 900) {
        expect((await queue.next()).done).toBe(false);
        read++;
      }
      highest = Math.max(highest, queue.backlog);
    }
    expect(highest).toBe(600);
    expect(highest).toBeLessThan(QUEUE_LIMITS.maxBacklog);
    expect(queue.size).toBe(1_200 - read);
    const { items } = await drainNow(queue);
    expect(read + items.length).toBe(1_200);
    expect(queue.backlog).toBe(0);
  });
});

/** A sink that records what it is handed and refuses an item whenever `refuse` says so. */
class RecordingSink implements Sink<OperationRecord> {
  readonly items: OperationRecord[] = [];
  ended = false;
  error: unknown = null;
  refuse: (record: OperationRecord) => boolean = () => false;

  onItem(record: OperationRecord): boolean {
    this.items.push(record);
    return !this.refuse(record);
  }

  onEnd(): void {
    this.ended = true;
  }

  onError(error: unknown): void {
    this.error = error;
  }
}

describe('UpdateQueue in push mode', () => {
  it('hands what waits and then every state as it is pushed, in the same turn, and ends after a terminal state', () => {
    const queue = new UpdateQueue(true, () => {});
    queue.push(rec('a', 1, 'PENDING'));
    const sink = new RecordingSink();
    expect(pushFrom(queue, sink)).toBe(queue);
    expect(sink.items.map((r) => r.revision)).toEqual([1]);
    queue.push(rec('a', 2, 'RUNNING'));
    queue.push(rec('a', 2, 'RUNNING')); // not newer: dropped
    queue.push(rec('a', 3, 'SUCCEEDED'));
    expect(sink.items.map((r) => r.revision)).toEqual([1, 2, 3]);
    expect(sink.ended).toBe(true);
    expect(queue.ended).toBe(true);
  });

  it('holds states while the sink refuses, coalescing progress but no status change, until it resumes', () => {
    const queue = new UpdateQueue(true, () => {});
    const sink = new RecordingSink();
    sink.refuse = (record) => record.revision === 1;
    const pushing = pushFrom(queue, sink);
    queue.push(rec('a', 1, 'RUNNING', 0.1));
    queue.push(rec('a', 2, 'RUNNING', 0.2));
    queue.push(rec('a', 3, 'RUNNING', 0.3));
    queue.push(rec('a', 4, 'CANCELLING', 0.3));
    queue.push(rec('a', 5, 'CANCELLED', 0.3));
    expect(sink.items.map((r) => r.revision)).toEqual([1]);
    expect(sink.ended).toBe(false);
    pushing?.resume();
    expect(sink.items.map((r) => r.revision)).toEqual([1, 3, 4, 5]);
    expect(sink.ended).toBe(true);
  });

  it('ends a refusing sink at once when the stream closes, and fails one that fell too far behind', () => {
    const closing = new UpdateQueue(false, () => {});
    const paused = new RecordingSink();
    paused.refuse = () => true;
    pushFrom(closing, paused);
    closing.push(rec('a', 1, 'RUNNING'));
    closing.push(rec('b', 1, 'RUNNING'));
    closing.close();
    expect(paused.items.map((r) => r.id)).toEqual(['a']);
    expect(paused.ended).toBe(true);

    const limits = { maxBacklog: 2, maxWaiting: 100 };
    const behind = new UpdateQueue(false, () => {}, limits);
    const slow = new RecordingSink();
    slow.refuse = () => true;
    pushFrom(behind, slow);
    for (let revision = 1; revision <= 5; revision++) {
      behind.push(rec('a', 2 * revision - 1, 'RUNNING'));
      behind.push(rec('a', 2 * revision, 'CANCELLING'));
    }
    expect(slow.error).toBeInstanceOf(SubscriberTooSlowError);
    expect(slow.ended).toBe(false);
  });

  it('is not taken by a second consumer, nor once a reader waits on `next`', async () => {
    const queue = new UpdateQueue(false, () => {});
    expect(pushFrom(queue, new RecordingSink())).toBe(queue);
    expect(pushFrom(queue, new RecordingSink())).toBeNull();

    const read = new UpdateQueue(false, () => {});
    const next = read.next();
    expect(pushFrom(read, new RecordingSink())).toBeNull();
    read.push(rec('a', 1, 'RUNNING'));
    expect((await next).value).toMatchObject({ id: 'a', revision: 1 });
  });
});
