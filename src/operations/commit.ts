import type { EventBus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { InsertResult, OperationStore } from '../store/store.js';
import type { OperationRecord } from './model.js';
import { OperationStatus } from './status.js';
import type { Outcome } from './transitions.js';

/** Decides, from the state as it stands, what a write should do. Called again after a lost race. */
export type Decide = (current: OperationRecord) => Outcome;

/** The single writer of operations: compare-and-set in the store, then publish what committed. */
export interface Committer {
  /**
   * Applies `decide` to the operation's current state and writes a `changed` outcome with a
   * compare-and-set on its revision (and on `leaseOwner`'s lease, when given). A lost race re-reads
   * and decides again. Resolves with the outcome that took effect, or null when there is no such
   * operation. `current`, when given, saves the first read.
   */
  apply(
    id: string,
    decide: Decide,
    options?: { readonly current?: OperationRecord; readonly leaseOwner?: string },
  ): Promise<Outcome | null>;
  /** Stores a new operation (idempotency as `OperationStore.insert`) and publishes it. */
  insert(record: OperationRecord, idempotencyCutoff: Date): Promise<InsertResult>;
}

const MAX_ATTEMPTS = 50;

/** The committer over one store and one bus. */
export function createCommitter(store: OperationStore, bus: EventBus, logger: Logger): Committer {
  // Writes to one operation are queued in this process, so this process publishes its own
  // revisions of an operation in order; across processes the compare-and-set decides.
  const queues = new Map<string, Promise<unknown>>();
  function serialised<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(id) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    queues.set(id, tail);
    void tail.then(() => {
      if (queues.get(id) === tail) queues.delete(id);
    });
    return run;
  }

  async function publish(previous: OperationRecord, next: OperationRecord): Promise<void> {
    try {
      await bus.publish('operation.changed', next);
      if (
        next.status === OperationStatus.Cancelling &&
        previous.status !== OperationStatus.Cancelling
      ) {
        await bus.publish('operation.cancel', { id: next.id });
      }
    } catch (error) {
      // The change is committed; subscribers and workers recover it from the store.
      logger.error('publishing a committed change failed', { id: next.id, error });
    }
  }

  return {
    apply(id, decide, options = {}) {
      return serialised(id, async () => {
        let current = options.current ?? (await store.get(id));
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          if (current === null) return null;
          const outcome = decide(current);
          if (outcome.kind !== 'changed') return outcome;
          const condition = {
            revision: current.revision,
            ...(options.leaseOwner === undefined ? {} : { leaseOwner: options.leaseOwner }),
          };
          if (await store.update(outcome.next, condition)) {
            await publish(current, outcome.next);
            return outcome;
          }
          current = await store.get(id);
        }
        throw new Error(`Operation ${id}: gave up after ${MAX_ATTEMPTS} conflicting writes.`);
      });
    },
    async insert(record, idempotencyCutoff) {
      const result = await store.insert(record, idempotencyCutoff);
      if (result.inserted) {
        try {
          await bus.publish('operation.changed', result.record);
        } catch (error) {
          logger.error('publishing a new operation failed', { id: record.id, error });
        }
      }
      return result;
    },
  };
}
