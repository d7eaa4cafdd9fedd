import type { OperationRecord } from './model.js';
import { isDone } from './status.js';

// How many done operations a long-lived feed remembers, to drop late duplicates of their states.
const REMEMBERED_DONE = 10_000;

interface Item {
  record: OperationRecord;
  /** Same status as the revision queued before it for that operation. */
  readonly progressOnly: boolean;
}

/**
 * A subscriber's queue of operation states, bounded without losing what matters: revisions at or
 * below the last one queued are dropped, every status change is kept, and a progress-only revision
 * still waiting for a slow reader is replaced by the next one of the same status (latest wins).
 * At most one waiting progress revision per operation and status run: memory stays bounded
 * however slowly the reader reads.
 */
export class UpdateQueue implements AsyncIterableIterator<OperationRecord> {
  private readonly items: Item[] = [];
  private readonly waitingByOperation = new Map<string, Item>();
  private readonly lastRevision = new Map<string, number>();
  private readonly lastStatus = new Map<string, OperationRecord['status']>();
  /** Final revisions of done operations already read, oldest first (bounded). */
  private readonly doneRevision = new Map<string, number>();
  private wake: (() => void) | null = null;
  private closed = false;
  private completeAfterDrain = false;

  /**
   * @param completeOnTerminal end the stream right after a terminal state is read (single-operation
   *   feeds); otherwise it runs until closed.
   * @param onClose called once when the stream ends for any reason.
   */
  constructor(
    private readonly completeOnTerminal: boolean,
    private readonly onClose: () => void,
  ) {}

  /** Queues a state; ignored once closed or when not newer than what was queued before. */
  push(record: OperationRecord): void {
    if (this.closed || this.completeAfterDrain) return;
    const { id } = record;
    const last = this.lastRevision.get(id) ?? this.doneRevision.get(id) ?? 0;
    if (record.revision <= last) return;
    const progressOnly = this.lastStatus.get(id) === record.status;
    const waiting = this.waitingByOperation.get(id);
    if (progressOnly && waiting?.progressOnly) {
      waiting.record = record;
    } else {
      const item: Item = { record, progressOnly };
      this.items.push(item);
      this.waitingByOperation.set(id, item);
    }
    this.lastRevision.set(id, record.revision);
    this.lastStatus.set(id, record.status);
    if (this.completeOnTerminal && isDone(record.status)) this.completeAfterDrain = true;
    this.wake?.();
  }

  /**
   * Stops tracking a done operation (read, or ended outside the subscriber's filter) so that
   * long-lived feeds stay small; its final revision is remembered for a while, so a late
   * duplicate is not delivered.
   */
  forget(record: OperationRecord): void {
    this.lastRevision.delete(record.id);
    this.lastStatus.delete(record.id);
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
    this.items.length = 0;
    this.waitingByOperation.clear();
    this.wake?.();
    this.onClose();
  }

  /** How many states wait for the reader. */
  get size(): number {
    return this.items.length;
  }

  async next(): Promise<IteratorResult<OperationRecord>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      const item = this.items.shift();
      if (item) {
        const { id } = item.record;
        if (this.waitingByOperation.get(id) === item) this.waitingByOperation.delete(id);
        if (isDone(item.record.status) && !this.completeOnTerminal) {
          this.forget(item.record);
        }
        return { done: false, value: item.record };
      }
      if (this.completeAfterDrain) {
        this.close();
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<OperationRecord>> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
