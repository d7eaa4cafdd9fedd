import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.js';
import type { OperationRecord } from './model.js';
import type {
  ChangeMeta,
  ClaimShares,
  EventBus,
  InsertResult,
  OperationStore,
  StartQuota,
} from './ports.js';
import { isDone, OperationStatus } from './status.js';
import type { Outcome } from './transitions.js';

/** Decides, from the state as it stands, what a write should do. Called again after a lost race. */
export type Decide = (current: OperationRecord) => Outcome;

/** Who writes: `user:<sub>`, `worker:<id>` or `system` (recorded in the transition log). */
export type Actor = string;

/** The single writer of operations: compare-and-set in the store, then publish what committed. */
export interface Committer {
  /**
   * Applies `decide` to the operation's current state and writes a `changed` outcome with a
   * compare-and-set on its revision (and on `leaseOwner`'s lease, when given), logging it as
   * `actor`'s. A lost race re-reads and decides again. Resolves with the outcome that took
   * effect, or null when there is no such operation. `current`, when given, saves the first read.
   */
  apply(
    id: string,
    decide: Decide,
    options: {
      readonly actor: Actor;
      readonly current?: OperationRecord;
      readonly leaseOwner?: string;
    },
  ): Promise<Outcome | null>;
  /**
   * Stores a new operation (idempotency and quota as `OperationStore.insert`, which may reject with
   * `RateLimitedError`) and publishes it.
   */
  insert(
    record: OperationRecord,
    idempotencyCutoff: Date,
    actor: Actor,
    quota?: StartQuota | null,
  ): Promise<InsertResult>;
  /**
   * Claims up to `limit` PENDING operations fairly, at most `shares` per owner, with `claim`
   * deciding each (see `OperationStore.claimPending`); publishes and resolves with the claimed
   * states. `beforePublish` runs between the commit and the publish (a runner listens for the
   * cancels of what it claimed before anyone hears it is RUNNING); a failure there is logged, not
   * thrown.
   */
  claim(
    limit: number,
    claim: Decide,
    actor: Actor,
    beforePublish?: (claimed: readonly OperationRecord[]) => Promise<void>,
    shares?: ClaimShares,
  ): Promise<OperationRecord[]>;
  /**
   * The state this process last committed (or claimed) of an unfinished operation, if it still
   * remembers it. Another process may have written since: what it says of the operation's owner
   * and kind holds, and a write that starts from it is still decided by the compare-and-set.
   */
  known(id: string): OperationRecord | null;
}

/** Hears of the changes this process commits; it must return quickly and not throw. */
export interface CommitObserver {
  /** An operation went from an unfinished `previous` state to the done `next` one. */
  ended(previous: OperationRecord, next: OperationRecord): void;
}

const MAX_ATTEMPTS = 50;

/** What the log says about a change: the cancel reason or the error code of a new status. */
function changeMeta(
  actor: Actor,
  previous: OperationRecord | null,
  next: OperationRecord,
): ChangeMeta {
  if (previous !== null && previous.status === next.status) return { actor, reason: null };
  switch (next.status) {
    case OperationStatus.Cancelling:
    case OperationStatus.Cancelled:
      return { actor, reason: next.cancelReason ?? next.error?.code ?? null };
    case OperationStatus.Failed:
      return { actor, reason: next.error?.code ?? null };
    default:
      return { actor, reason: null };
  }
}

/**
 * Unfinished operations this process remembers the last committed state of, so that the next
 * write of one (a cancel after its start, the runner's last write after a cancel) does not read
 * it again first. Bounded: an operation finished elsewhere is forgotten in time.
 */
const KNOWN_STATES = 10_000;

/** The committer over one store and one bus. */
export function createCommitter(
  store: OperationStore,
  bus: EventBus,
  logger: Logger,
  observer?: CommitObserver,
): Committer {
  // Writes to one operation are queued in this process, so this process publishes its own
  // revisions of an operation in order; across processes the compare-and-set decides and the
  // transition log fills any gap a subscriber sees.
  const queues = new Map<string, Promise<unknown>>();
  const latest = new LRUCache<string, OperationRecord>({ max: KNOWN_STATES });
  function remember(record: OperationRecord): void {
    if (isDone(record.status)) latest.delete(record.id);
    else latest.set(record.id, record);
  }
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

  async function publish(previous: OperationRecord | null, next: OperationRecord): Promise<void> {
    try {
      await bus.publish('operation.changed', next);
      if (next.status === OperationStatus.Pending && previous?.status !== OperationStatus.Pending) {
        await bus.publish('operation.pending', { id: next.id });
      }
      if (
        next.status === OperationStatus.Cancelling &&
        previous?.status !== OperationStatus.Cancelling
      ) {
        await bus.publish('operation.cancel', { id: next.id });
      }
    } catch (error) {
      // The change is committed; subscribers and workers recover it from the store.
      logger.error('publishing a committed change failed', { id: next.id, error });
    }
  }

  return {
    apply(id, decide, options) {
      return serialised(id, async () => {
        // A remembered state may be stale: only a write from it is checked (compare-and-set),
        // so any other outcome is decided again on the stored state.
        let remembered = options.current === undefined ? (latest.get(id) ?? null) : null;
        let current = options.current ?? remembered ?? (await store.get(id));
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          if (current === null) return null;
          const outcome = decide(current);
          if (outcome.kind !== 'changed') {
            if (remembered === null) return outcome;
            remembered = null;
            current = await store.get(id);
            continue;
          }
          const condition = {
            revision: current.revision,
            status: current.status,
            ...(options.leaseOwner === undefined ? {} : { leaseOwner: options.leaseOwner }),
          };
          const meta = changeMeta(options.actor, current, outcome.next);
          if (await store.update(outcome.next, condition, meta)) {
            remember(outcome.next);
            if (!isDone(current.status) && isDone(outcome.next.status)) {
              observer?.ended(current, outcome.next);
            }
            await publish(current, outcome.next);
            return outcome;
          }
          remembered = null;
          current = await store.get(id);
          if (current === null) latest.delete(id);
        }
        throw new Error(`Operation ${id}: gave up after ${MAX_ATTEMPTS} conflicting writes.`);
      });
    },
    async insert(record, idempotencyCutoff, actor, quota = null) {
      const meta = changeMeta(actor, null, record);
      const result = await store.insert(record, idempotencyCutoff, meta, quota);
      if (result.inserted) {
        remember(result.record);
        await publish(null, result.record);
      }
      return result;
    },
    async claim(limit, claim, actor, beforePublish, shares) {
      const claimed = await store.claimPending(
        limit,
        (pending) => {
          const outcome = claim(pending);
          return outcome.kind === 'changed' ? outcome.next : null;
        },
        { actor, reason: null },
        shares,
      );
      if (beforePublish && claimed.length > 0) {
        await beforePublish(claimed).catch((error: unknown) =>
          logger.error('preparing to publish claimed operations failed', { error }),
        );
      }
      for (const next of claimed) remember(next);
      for (const next of claimed) await publish(null, next);
      return claimed;
    },
    known: (id) => latest.get(id) ?? null,
  };
}
