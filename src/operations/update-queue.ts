import { SubscriberTooSlowError } from './errors.js';
import type { OperationRecord } from './model.js';
import { PUSH, type Pushable, type Pushing, type Sink } from './push.js';
import { isDone } from './status.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

// How many done operations a long-lived feed remembers, to drop late duplicates of their states.
const REMEMBERED_DONE = 10_000;

/** How far a reader may fall behind before its stream is ended with `SubscriberTooSlowError`. */
export interface QueueLimits {
  /**
   * Waiting status changes that a later waiting status change of the same operation already
   * follows. Coalescing cannot shrink them, so a reader that stops reading holds ever more of
   * them: two for every operation that starts and ends meanwhile.
   */
  readonly maxBacklog: number;
  /** Waiting states in all, one or more per operation. */
  readonly maxWaiting: number;
}

/**
 * A live dashboard that falls behind while operations report progress holds at most a status
 * change and the latest progress per operation (progress is coalesced): no backlog, however many
 * operations there are. One that took nothing while 500 operations started and ended is not
 * coming back soon.
 */
export const QUEUE_LIMITS: QueueLimits = { maxBacklog: 1_000, maxWaiting: 100_000 };

interface Queued {
  revision: number;
  status: OperationRecord['status'];
}

/** What waits for the reader of one operation. */
interface Waiting {
  /** The newest waiting item; null once read (earlier ones are read before it). */
  latest: Item | null;
  /** Waiting status changes (progress-only items are not counted). */
  changes: number;
}

interface Item {
  record: OperationRecord;
  /** Same status as the revision queued before it for that operation. */
  readonly progressOnly: boolean;
}

/**
 * A subscriber's queue of operation states, bounded without losing what matters: revisions at or
 * below the last one queued are dropped, every status change is kept, and a progress-only revision
 * still waiting for a slow reader is replaced by the next one of the same status (latest wins).
 * Status changes are never dropped, so a reader that falls further behind than `QueueLimits`
 * allows is cut off instead: its stream ends with `SubscriberTooSlowError` and its memory is
 * freed at once. A resubscribing client starts again from the current state.
 */
export class UpdateQueue
  implements AsyncIterableIterator<OperationRecord>, Pushable<OperationRecord>, Pushing
{
  /** Waiting items from `head` on; read ones before it are cleared and trimmed now and then. */
  private items: Array<Item | undefined> = [];
  private head = 0;
  /**
   * Per operation with something waiting, the newest item and the number of status changes; one
   * map rather than two, so an idle stream holds one empty map less.
   */
  private readonly waiting = new Map<string, Waiting>();
  /** Waiting status changes beyond the first of each operation. */
  private behind = 0;
  /** Per operation, the revision and status queued last. */
  private readonly last = new Map<string, Queued>();
  /**
   * Final revisions of done operations already read, oldest first (bounded); made on the first
   * one, so that the many single-operation streams, which end there, never hold one.
   */
  private doneRevision: Map<string, number> | null = null;
  /** The reader's `next` while nothing waits: settled by the next push, close or failure. */
  private reader: {
    resolve(result: IteratorResult<OperationRecord>): void;
    reject(error: unknown): void;
  } | null = null;
  /** In push mode, who takes each state as it comes (`PUSH`) instead of a reader's `next`. */
  private sink: Sink<OperationRecord> | null = null;
  /** The sink refused the last state: the rest wait until it resumes. */
  private paused = false;
  /** A drain is running (a sink may push, close or resume from inside it). */
  private draining = false;
  private closed = false;
  private completeAfterDrain = false;
  /** Why the stream was cut off, thrown once by `next`. */
  private failure: SubscriberTooSlowError | null = null;

  /**
   * @param completeOnTerminal end the stream right after a terminal state is read (single-operation
   *   feeds); otherwise it runs until closed.
   * @param onClose called once when the stream ends for any reason.
   */
  constructor(
    private readonly completeOnTerminal: boolean,
    private readonly onClose: () => void,
    private readonly limits: QueueLimits = QUEUE_LIMITS,
  ) {}

  /** Queues a state; ignored once closed or when not newer than what was queued before. */
  push(record: OperationRecord): void {
    if (this.closed || this.completeAfterDrain) return;
    const { id } = record;
    const queued = this.last.get(id);
    if (record.revision <= (queued?.revision ?? this.doneRevision?.get(id) ?? 0)) return;
    const progressOnly = queued?.status === record.status;
    let waiting = this.waiting.get(id);
    if (progressOnly && waiting?.latest?.progressOnly) {
      waiting.latest.record = record;
    } else {
      const item: Item = { record, progressOnly };
      this.items.push(item);
      if (waiting === undefined) {
        waiting = { latest: item, changes: 0 };
        this.waiting.set(id, waiting);
      } else waiting.latest = item;
      if (!progressOnly) {
        waiting.changes++;
        if (waiting.changes > 1) this.behind++;
      }
      if (this.behind > this.limits.maxBacklog || this.size > this.limits.maxWaiting) {
        this.failure = new SubscriberTooSlowError(this.behind, this.size);
        this.close();
        return;
      }
    }
    if (queued === undefined)
      this.last.set(id, { revision: record.revision, status: record.status });
    else {
      queued.revision = record.revision;
      queued.status = record.status;
    }
    if (this.completeOnTerminal && isDone(record.status)) this.completeAfterDrain = true;
    this.wake();
  }

  /**
   * Stops tracking a done operation (read, or ended outside the subscriber's filter) so that
   * long-lived feeds stay small; its final revision is remembered for a while, so a late
   * duplicate is not delivered.
   */
  forget(record: OperationRecord): void {
    this.last.delete(record.id);
    this.doneRevision ??= new Map();
    this.doneRevision.set(record.id, record.revision);
    if (this.doneRevision.size > REMEMBERED_DONE) {
      const oldest = this.doneRevision.keys().next().value;
      if (oldest !== undefined) this.doneRevision.delete(oldest);
    }
  }

  /** Ends the stream at once; waiting items are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.items = [];
    this.head = 0;
    this.waiting.clear();
    this.behind = 0;
    this.wake();
    this.onClose();
  }

  /** True once closed: nothing more will be queued or read. */
  get ended(): boolean {
    return this.closed;
  }

  /** How many states wait for the reader. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Waiting status changes that a later waiting status change of the same operation follows. */
  get backlog(): number {
    return this.behind;
  }

  /** The oldest waiting item, taken off the queue. */
  private shift(): Item | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    // Read slots are dropped in one go once they are most of the array: O(1) per item.
    if (this.head >= 1_024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    const waiting = item && this.waiting.get(item.record.id);
    if (item && waiting) {
      if (!item.progressOnly) {
        if (waiting.changes > 1) this.behind--;
        if (waiting.changes > 0) waiting.changes--;
      }
      if (waiting.latest === item) waiting.latest = null;
      if (waiting.latest === null && waiting.changes === 0) this.waiting.delete(item.record.id);
    }
    return item;
  }

  /**
   * What the reader gets now: the oldest waiting state, the end, or the failure (thrown once);
   * null when it has to wait.
   */
  private poll(): IteratorResult<OperationRecord> | null {
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      throw failure;
    }
    if (this.closed) return DONE;
    const item = this.shift();
    if (item) {
      if (isDone(item.record.status) && !this.completeOnTerminal) {
        this.forget(item.record);
      }
      return { done: false, value: item.record };
    }
    if (this.completeAfterDrain) {
      this.close();
      return DONE;
    }
    // Everything is read: an idle stream keeps no slots (length 0 frees the array's store).
    this.items.length = 0;
    this.head = 0;
    return null;
  }

  /** Hands a sink what waits, in order, until it refuses one or nothing is left. */
  private drain(): void {
    if (this.draining) return; // the drain below goes on with what changed
    this.draining = true;
    try {
      // The end and a failure reach a paused sink too: nothing it waits for would follow.
      while (this.sink !== null && (!this.paused || this.closed)) {
        let result: IteratorResult<OperationRecord> | null;
        try {
          result = this.poll();
        } catch (error) {
          const sink = this.sink;
          this.sink = null;
          sink.onError(error);
          return;
        }
        if (result === null) return;
        if (result.done) {
          const sink = this.sink;
          this.sink = null;
          sink.onEnd();
          return;
        }
        if (!this.sink.onItem(result.value)) this.paused = true;
      }
    } finally {
      this.draining = false;
    }
  }

  /** Push mode: every state from now on goes to `sink` as it comes (see `Pushable`). */
  [PUSH](sink: Sink<OperationRecord>): Pushing | null {
    if (this.reader !== null || this.sink !== null) return null;
    this.sink = sink;
    this.drain();
    return this;
  }

  /** The sink takes states again. */
  resume(): void {
    this.paused = false;
    this.drain();
  }

  /** Settles a waiting reader's `next` with what there is now. */
  private wake(): void {
    if (this.sink !== null) {
      this.drain();
      return;
    }
    const reader = this.reader;
    if (reader === null) return;
    this.reader = null; // a close inside `poll` finds no reader to settle twice
    let result: IteratorResult<OperationRecord> | null;
    try {
      result = this.poll();
    } catch (error) {
      reader.reject(error);
      return;
    }
    if (result === null) this.reader = reader;
    else reader.resolve(result);
  }

  /**
   * The next state: settled at once when one waits, else by the push or close that follows. Not
   * an async function: an idle reader holds one pending promise, not a suspended frame.
   */
  next(): Promise<IteratorResult<OperationRecord>> {
    let result: IteratorResult<OperationRecord> | null;
    try {
      result = this.poll();
    } catch (error) {
      return Promise.reject(error);
    }
    if (result !== null) return Promise.resolve(result);
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<OperationRecord>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
