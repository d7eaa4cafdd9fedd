import type { Logger } from '../logger.js';
import type { Committer } from '../operations/commit.js';
import type { OperationStore } from '../operations/ports.js';
import { ACTIVE, OperationStatus } from '../operations/status.js';
import * as transitions from '../operations/transitions.js';
import type { HandlerRun as Run } from './handler-run.js';
import { periodic } from './periodic.js';

/** Keeps this worker's leases alive and takes back the expired leases of dead workers. */
export interface LeaseKeeper {
  /** Starts the heartbeat and the sweep of expired leases. */
  start(): void;
  /** Stops both; leases left are taken back by another process once they expire. */
  stop(): void;
  /** Records every operation whose lease ran out as INTERRUPTED (CANCELLED if one was asked). */
  recoverExpired(): Promise<void>;
}

const SWEEP_BATCH = 100;

/**
 * The heartbeat renews every lease this worker holds three times per `leaseMs`. Its answer also
 * carries cancel requests, so a cancel whose live message was lost still reaches the handler, and
 * a lease that is no longer ours (taken back after a stall) aborts the handler at once.
 */
export function startLeaseKeeper(deps: {
  store: OperationStore;
  commit: Committer;
  logger: Logger;
  clock: () => Date;
  workerId: string;
  leaseMs: number;
  runs: ReadonlyMap<string, Run>;
  onCancelRequested(run: Run): void;
  onLeaseLost(run: Run): void;
}): LeaseKeeper {
  const { store, commit, logger, clock, workerId, leaseMs, runs } = deps;
  const timers: Array<() => void> = [];
  let lastRenewal = clock().getTime();

  async function heartbeat(): Promise<void> {
    const held = [...runs.values()].filter((run) => !run.discarded);
    if (held.length === 0) {
      lastRenewal = clock().getTime();
      return;
    }
    const startedAt = clock().getTime();
    let rows: Awaited<ReturnType<OperationStore['renewLeases']>>;
    try {
      rows = await store.renewLeases(
        workerId,
        held.map((run) => run.id),
        new Date(startedAt + leaseMs),
      );
    } catch (error) {
      logger.error('renewing leases failed', { error });
      // Past the lease we may no longer write: another process may already have taken them.
      if (clock().getTime() - lastRenewal >= leaseMs) for (const run of held) deps.onLeaseLost(run);
      return;
    }
    lastRenewal = startedAt;
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const run of held) {
      const row = byId.get(run.id);
      if (runs.get(run.id) !== run || run.discarded) continue;
      if (!row) deps.onLeaseLost(run);
      else if (row.status === OperationStatus.Cancelling) deps.onCancelRequested(run);
    }
  }

  async function recoverExpired(): Promise<void> {
    for (;;) {
      const expired = await store.expiredLeases(clock(), SWEEP_BATCH);
      for (const op of expired) {
        const outcome = await commit.apply(
          op.id,
          (current) => {
            const now = clock();
            const lapsed =
              ACTIVE.has(current.status) &&
              current.lease !== null &&
              current.lease.expiresAt.getTime() <= now.getTime();
            return lapsed
              ? transitions.interrupt(current, now, true)
              : { kind: 'unchanged', current };
          },
          { actor: 'system', current: op },
        );
        if (outcome?.kind === 'changed') {
          logger.warn('took back an operation whose worker stopped renewing its lease', {
            id: op.id,
            worker: op.lease?.owner,
            status: outcome.next.status,
          });
        }
      }
      if (expired.length < SWEEP_BATCH) return;
    }
  }

  function every(ms: number, task: () => Promise<void>): void {
    timers.push(periodic(ms, task, (error) => logger.error('a lease task failed', { error })));
  }

  return {
    start() {
      every(Math.max(50, Math.floor(leaseMs / 3)), heartbeat);
      every(Math.max(50, Math.floor(leaseMs / 2)), recoverExpired);
    },
    stop() {
      for (const stopTimer of timers) stopTimer();
    },
    recoverExpired,
  };
}
