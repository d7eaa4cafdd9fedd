import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../logger.js';
import type { Committer, Decide } from '../operations/commit.js';
import type { OperationRecord } from '../operations/model.js';
import { ALL, type ClaimShares, type EventBus, type OperationStore } from '../operations/ports.js';
import { ACTIVE } from '../operations/status.js';
import * as transitions from '../operations/transitions.js';
import { Coalesced } from './coalesced.js';
import { HandlerRun, type RunEnvironment } from './handler-run.js';
import { type LeaseKeeper, startLeaseKeeper } from './leases.js';
import { periodic } from './periodic.js';

export { HandlerRun, RunAborted } from './handler-run.js';

/** Settings of the runner (see `Config`). */
export interface RunnerOptions {
  readonly workerId: string;
  readonly maxConcurrentRuns: number;
  /** Handlers of one owner this process runs at once. @default maxConcurrentRuns */
  readonly maxRunsPerOwner?: number;
  readonly leaseMs: number;
  readonly cancelGraceMs: number;
  readonly shutdownGraceMs: number;
  readonly retentionDays: number;
  /** How often to look for PENDING work besides the events that announce it. @default 1000 */
  readonly pollMs?: number;
}

/** What a runner works with. */
export interface RunnerDeps {
  readonly store: OperationStore;
  readonly bus: EventBus;
  readonly commit: Committer;
  readonly registry: HandlerRegistry;
  readonly logger: Logger;
  readonly options: RunnerOptions;
  readonly clock?: () => Date;
}

/**
 * Why a run's cancel listener stops: made once, as `abort()` without a reason builds a
 * `DOMException` (with its stack trace) for every run.
 */
const RUN_ENDED = new Error('The run ended.');

/**
 * The runner of one process: claims PENDING operations under leases, runs their handlers
 * (`HandlerRun`), honours cancels, timeouts and shutdown, and cleans up past retention.
 */
export class Runner {
  readonly #deps: RunnerDeps;
  readonly #options: RunnerOptions;
  readonly #clock: () => Date;
  readonly #actor: string;
  /** The runs that hold their operation (its lease), by operation id. */
  readonly #runs = new Map<string, HandlerRun>();
  /** Per operation run here, the subscription to its cancel requests. */
  readonly #cancelListeners = new Map<string, AbortController>();
  /**
   * The runs whose handler has not returned yet: the slots `maxConcurrentRuns` bounds. A run
   * discarded while its handler ignores the signal (CANCEL_FORCED) leaves `#runs` but stays here
   * until the handler really stops.
   */
  readonly #busy = new Set<HandlerRun>();
  readonly #subscriptions = new AbortController();
  readonly #timers: Array<() => void> = [];
  readonly #claiming: Coalesced;
  readonly #leases: LeaseKeeper;
  readonly #env: RunEnvironment;
  #stopping = false;

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
    this.#options = deps.options;
    this.#clock = deps.clock ?? (() => new Date());
    this.#actor = `worker:${deps.options.workerId}`;
    this.#claiming = new Coalesced(
      () => this.#claimSome(),
      (error) => deps.logger.error('claiming pending operations failed', { error }),
      () => this.#stopping,
    );
    this.#env = {
      clock: this.#clock,
      logger: deps.logger,
      cancelGraceMs: deps.options.cancelGraceMs,
      write: (id, decide) => this.#write(id, decide),
      // No claim here: the slot frees only when the handler has returned (`#launch`).
      finished: (run) => {
        if (this.#runs.get(run.id) === run) {
          this.#runs.delete(run.id);
          this.#cancelListeners.get(run.id)?.abort(RUN_ENDED);
          this.#cancelListeners.delete(run.id);
        }
      },
    };
    this.#leases = startLeaseKeeper({
      store: deps.store,
      commit: deps.commit,
      logger: deps.logger,
      clock: this.#clock,
      workerId: deps.options.workerId,
      leaseMs: deps.options.leaseMs,
      runs: this.#runs,
      onCancelRequested: (run) => run.requestStop('cancel'),
      onLeaseLost: (run) => {
        deps.logger.warn('lost the lease on a running operation; its handler is aborted', {
          id: run.id,
        });
        run.discard('lease-lost');
      },
    });
  }

  /** Starts claiming work, the lease heartbeat, crash recovery and retention clean-up. */
  async start(): Promise<void> {
    const { bus, logger } = this.#deps;
    const { signal } = this.#subscriptions;
    await bus.subscribe('operation.pending', ALL, () => void this.#claiming.run(), signal);
    this.#leases.start();
    await this.#leases.recoverExpired();
    await this.#removeExpired().catch((error) =>
      logger.error('retention clean-up failed', { error }),
    );
    this.#every(this.#options.pollMs ?? 1000, () => this.#claiming.run());
    this.#every(60 * 60 * 1000, () => this.#removeExpired());
    void this.#claiming.run();
  }

  /**
   * Stops claiming, gives running handlers `shutdownGraceMs` to finish, then aborts the rest and
   * records them FAILED with INTERRUPTED. PENDING operations stay PENDING.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#subscriptions.abort();
    for (const listening of this.#cancelListeners.values()) listening.abort(RUN_ENDED);
    this.#cancelListeners.clear();
    for (const stopTimer of this.#timers) stopTimer();
    const running = [...this.#runs.values()];
    if (running.length > 0) {
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((run) => run.settled)),
        new Promise<void>((resolve) => {
          graceTimer = setTimeout(resolve, this.#options.shutdownGraceMs);
        }),
      ]);
      clearTimeout(graceTimer);
    }
    await Promise.all(
      [...this.#runs.values()].map(async (run) => {
        run.discard('shutdown');
        await this.#write(run.id, (op) => transitions.interrupt(op, this.#clock(), false));
      }),
    );
    this.#leases.stop();
  }

  /** How many handlers this process is running (force-cancelled ones still going included). */
  active(): number {
    return this.#busy.size;
  }

  /** Writes for a run under our lease; false when the lease is no longer ours. */
  async #write(id: string, decide: Decide): Promise<boolean> {
    const { workerId } = this.#options;
    const ours = (op: OperationRecord) => op.lease?.owner === workerId && ACTIVE.has(op.status);
    try {
      const outcome = await this.#deps.commit.apply(
        id,
        (op) => (ours(op) ? decide(op) : { kind: 'unchanged', current: op }),
        { actor: this.#actor, leaseOwner: workerId },
      );
      if (outcome?.kind === 'changed') return true;
      const current = outcome?.kind === 'unchanged' ? outcome.current : null;
      return current !== null && ours(current);
    } catch (error) {
      this.#deps.logger.error('writing an operation failed', { id, error });
      return true;
    }
  }

  async #claimSome(): Promise<void> {
    const { maxConcurrentRuns, leaseMs, workerId } = this.#options;
    const maxRunsPerOwner = this.#options.maxRunsPerOwner ?? maxConcurrentRuns;
    while (!this.#stopping && this.#busy.size < maxConcurrentRuns) {
      const free = maxConcurrentRuns - this.#busy.size;
      const now = this.#clock();
      const lease = { owner: workerId, expiresAt: new Date(now.getTime() + leaseMs) };
      const claimed = await this.#deps.commit.claim(
        free,
        (op) => transitions.claim(op, lease, now),
        this.#actor,
        (ops) => this.#listenForCancels(ops),
        this.#shares(maxRunsPerOwner),
      );
      for (const op of claimed) this.#launch(op);
      if (claimed.length < free) return;
    }
  }

  /**
   * Subscribes to the cancel requests of operations just claimed, before their RUNNING state is
   * published. Only this instance hears them; while the bus is away, the lease heartbeat reads a
   * cancel from the store instead.
   */
  async #listenForCancels(ops: readonly OperationRecord[]): Promise<void> {
    const { bus, logger } = this.#deps;
    await Promise.all(
      ops.map(async ({ id }) => {
        const listening = new AbortController();
        this.#cancelListeners.get(id)?.abort(RUN_ENDED);
        this.#cancelListeners.set(id, listening);
        try {
          await bus.subscribe(
            'operation.cancel',
            { operation: id },
            () => this.#runs.get(id)?.requestStop('cancel'),
            listening.signal,
          );
        } catch (error) {
          logger.debug('listening for the cancels of a claimed operation failed', { id, error });
        }
      }),
    );
  }

  /** What each owner may still start here: `perOwner` less the handlers of theirs running. */
  #shares(perOwner: number): ClaimShares {
    const running = new Map<string, number>();
    for (const run of this.#busy) running.set(run.ownerId, (running.get(run.ownerId) ?? 0) + 1);
    const byOwner = new Map<string, number>();
    for (const [owner, count] of running) byOwner.set(owner, Math.max(0, perOwner - count));
    return { perOwner, byOwner };
  }

  #launch(op: OperationRecord): void {
    const run = new HandlerRun(op, this.#env);
    this.#runs.set(op.id, run);
    this.#busy.add(run);
    run.start(this.#deps.registry.get(op.kind));
    // The slot frees when the handler has returned (and its outcome is dealt with), not when the
    // run was declared stopped: a handler ignoring its signal still runs.
    const release = () => {
      this.#busy.delete(run);
      void this.#claiming.run();
    };
    run.settled.then(release, release);
  }

  #every(ms: number, task: () => Promise<unknown>): void {
    this.#timers.push(
      periodic(ms, task, (error) =>
        this.#deps.logger.error('a periodic runner task failed', { error }),
      ),
    );
  }

  async #removeExpired(): Promise<void> {
    const cutoff = new Date(this.#clock().getTime() - this.#options.retentionDays * 86_400_000);
    const deleted = await this.#deps.store.deleteFinishedBefore(cutoff);
    if (deleted > 0) this.#deps.logger.info('deleted operations past their retention', { deleted });
  }
}

/** The runner of one process (see `Runner`). */
export function createRunner(deps: RunnerDeps): Runner {
  return new Runner(deps);
}
