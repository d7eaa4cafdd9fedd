import type { Handler } from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../logger.js';
import type { Committer, Decide } from '../operations/commit.js';
import type { JsonValue, OperationRecord } from '../operations/model.js';
import type { EventBus, OperationStore } from '../operations/ports.js';
import { ACTIVE, OperationStatus } from '../operations/status.js';
import * as transitions from '../operations/transitions.js';
import { startLeaseKeeper } from './leases.js';
import { periodic } from './periodic.js';

/** Why a handler's AbortSignal fired; it is the signal's `reason`. */
export class RunAborted extends Error {
  override readonly name = 'AbortError';
  constructor(readonly why: 'cancel' | 'timeout' | 'shutdown' | 'lease-lost') {
    super(
      {
        cancel: 'The operation was cancelled.',
        timeout: 'The operation ran past its timeoutMs.',
        shutdown: 'The server is shutting down.',
        'lease-lost': 'This worker lost its lease on the operation.',
      }[why],
    );
  }
}

/** Settings of the runner (see `Config`). */
export interface RunnerOptions {
  readonly workerId: string;
  readonly maxConcurrentRuns: number;
  readonly leaseMs: number;
  readonly cancelGraceMs: number;
  readonly shutdownGraceMs: number;
  readonly retentionDays: number;
  /** How often to look for PENDING work besides the events that announce it. @default 1000 */
  readonly pollMs?: number;
}

/** Runs handlers for PENDING operations under leases, honouring cancels, timeouts and shutdown. */
export interface Runner {
  /** Starts claiming work, the lease heartbeat, crash recovery and retention clean-up. */
  start(): Promise<void>;
  /**
   * Stops claiming, gives running handlers `shutdownGraceMs` to finish, then aborts the rest and
   * records them FAILED with INTERRUPTED. PENDING operations stay PENDING.
   */
  stop(): Promise<void>;
  /** How many handlers this process is running. */
  active(): number;
}

/** One handler run in this process. */
export interface Run {
  readonly id: string;
  readonly controller: AbortController;
  /** Set once the signal fired. */
  stopping: RunAborted['why'] | null;
  /** Whatever the handler does from now on is discarded (forced, lost or shut down). */
  discarded: boolean;
  readonly timers: NodeJS.Timeout[];
  settled: Promise<void>;
}

function toJson(value: unknown): JsonValue | null {
  const text = JSON.stringify(value ?? null);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** The runner of one process. */
export function createRunner(deps: {
  store: OperationStore;
  bus: EventBus;
  commit: Committer;
  registry: HandlerRegistry;
  logger: Logger;
  options: RunnerOptions;
  clock?: () => Date;
}): Runner {
  const { store, bus, commit, registry, logger, options } = deps;
  const { workerId } = options;
  const clock = deps.clock ?? (() => new Date());
  const actor = `worker:${workerId}`;
  const runs = new Map<string, Run>();
  const subscriptions = new AbortController();
  const timers: Array<() => void> = [];
  let stopping = false;
  let ticking = false;
  let tickAgain = false;

  const ours = (op: OperationRecord) => op.lease?.owner === workerId && ACTIVE.has(op.status);
  const fenced =
    (decide: Decide): Decide =>
    (op) =>
      ours(op) ? decide(op) : { kind: 'unchanged', current: op };

  /** Writes for a run under our lease; false when the lease is no longer ours. */
  async function write(run: Run, decide: Decide): Promise<boolean> {
    try {
      const outcome = await commit.apply(run.id, fenced(decide), { actor, leaseOwner: workerId });
      if (outcome?.kind === 'changed') return true;
      const current = outcome?.kind === 'unchanged' ? outcome.current : null;
      return current !== null && ours(current);
    } catch (error) {
      logger.error('writing an operation failed', { id: run.id, error });
      return true;
    }
  }

  function finishRun(run: Run): void {
    for (const timer of run.timers) clearTimeout(timer);
    if (runs.get(run.id) === run) runs.delete(run.id);
    void tick();
  }

  function discard(run: Run, why: RunAborted['why']): void {
    run.discarded = true;
    if (run.stopping === null) {
      run.stopping = why;
      run.controller.abort(new RunAborted(why));
    }
    finishRun(run);
  }

  function requestStop(run: Run, why: 'cancel' | 'timeout'): void {
    if (run.stopping !== null) return;
    run.stopping = why;
    run.controller.abort(new RunAborted(why));
    const grace = setTimeout(() => {
      if (run.discarded || runs.get(run.id) !== run) return;
      logger.warn('handler ignored its AbortSignal past the grace period', { id: run.id, why });
      run.discarded = true;
      finishRun(run);
      void write(run, (op) => transitions.forceStop(op, clock()));
    }, options.cancelGraceMs);
    grace.unref();
    run.timers.push(grace);
  }

  async function settle(
    run: Run,
    result: { ok: true; value: unknown } | { ok: false; error: unknown },
  ) {
    if (run.discarded) {
      logger.debug('discarded the late outcome of a handler', { id: run.id });
      return;
    }
    // The handler has stopped: its grace and deadline no longer apply, even if the write below
    // waits on a busy database longer than the grace.
    for (const timer of run.timers) clearTimeout(timer);
    let decide: Decide;
    if (run.stopping === 'timeout') {
      // Past its deadline the run ends TIMEOUT, even if the handler still produced a result.
      decide = (op) => transitions.handlerStopped(op, { cause: 'timeout' }, clock());
    } else if (result.ok) {
      let value: JsonValue | null;
      try {
        value = toJson(result.value);
      } catch (error) {
        const message = `The handler's result is not JSON: ${messageOf(error)}`;
        decide = (op) => transitions.handlerStopped(op, { cause: 'error', message }, clock());
        await write(run, decide);
        return finishRun(run);
      }
      decide = (op) => transitions.succeed(op, value, clock());
    } else {
      const message = messageOf(result.error);
      decide = (op) => transitions.handlerStopped(op, { cause: 'error', message }, clock());
    }
    await write(run, decide);
    finishRun(run);
  }

  function launch(op: OperationRecord): void {
    const run: Run = {
      id: op.id,
      controller: new AbortController(),
      stopping: null,
      discarded: false,
      timers: [],
      settled: Promise.resolve(),
    };
    runs.set(op.id, run);
    const handler: Handler | undefined = registry.get(op.kind);
    let input: unknown;
    try {
      if (!handler) throw new Error(`No handler is registered for kind "${op.kind}".`);
      input = handler.parseInput(op.input);
    } catch (error) {
      run.settled = settle(run, { ok: false, error });
      return;
    }
    if (op.timeoutMs !== null && op.startedAt !== null) {
      const due = op.startedAt.getTime() + op.timeoutMs - clock().getTime();
      const timer = setTimeout(() => requestStop(run, 'timeout'), Math.max(0, due));
      timer.unref();
      run.timers.push(timer);
    }
    const context = {
      signal: run.controller.signal,
      operationId: op.id,
      ownerId: op.ownerId,
      progress: async (value: number | null, message?: string | null) => {
        if (run.discarded) return;
        const held = await write(run, (current) =>
          transitions.progress(current, value, message, clock()),
        );
        if (!held && !run.discarded) discard(run, 'lease-lost');
      },
    };
    run.settled = (async () => {
      let result: { ok: true; value: unknown } | { ok: false; error: unknown };
      try {
        result = { ok: true, value: await handler.run(input, context) };
      } catch (error) {
        result = { ok: false, error };
      }
      await settle(run, result);
    })();
  }

  async function claimSome(): Promise<void> {
    while (!stopping && runs.size < options.maxConcurrentRuns) {
      const free = options.maxConcurrentRuns - runs.size;
      const now = clock();
      const lease = { owner: workerId, expiresAt: new Date(now.getTime() + options.leaseMs) };
      const claimed = await commit.claim(free, (op) => transitions.claim(op, lease, now), actor);
      for (const op of claimed) launch(op);
      if (claimed.length < free) return;
    }
  }

  async function tick(): Promise<void> {
    if (ticking) {
      tickAgain = true;
      return;
    }
    ticking = true;
    try {
      do {
        tickAgain = false;
        await claimSome();
      } while (tickAgain && !stopping);
    } catch (error) {
      logger.error('claiming pending operations failed', { error });
    } finally {
      ticking = false;
    }
  }

  function every(ms: number, task: () => Promise<unknown>): void {
    timers.push(
      periodic(ms, task, (error) => logger.error('a periodic runner task failed', { error })),
    );
  }

  async function removeExpired(): Promise<void> {
    const cutoff = new Date(clock().getTime() - options.retentionDays * 86_400_000);
    const deleted = await store.deleteFinishedBefore(cutoff);
    if (deleted > 0) logger.info('deleted operations past their retention', { deleted });
  }

  const leases = startLeaseKeeper({
    store,
    commit,
    logger,
    clock,
    workerId,
    leaseMs: options.leaseMs,
    runs,
    onCancelRequested: (run) => requestStop(run, 'cancel'),
    onLeaseLost: (run) => {
      logger.warn('lost the lease on a running operation; its handler is aborted', { id: run.id });
      discard(run, 'lease-lost');
    },
  });

  return {
    async start() {
      await bus.subscribe(
        'operation.changed',
        (op) => {
          if (op.status === OperationStatus.Pending) void tick();
        },
        subscriptions.signal,
      );
      await bus.subscribe(
        'operation.cancel',
        ({ id }) => {
          const run = runs.get(id);
          if (run) requestStop(run, 'cancel');
        },
        subscriptions.signal,
      );
      leases.start();
      await leases.recoverExpired();
      await removeExpired().catch((error) => logger.error('retention clean-up failed', { error }));
      every(options.pollMs ?? 1000, tick);
      every(60 * 60 * 1000, removeExpired);
      void tick();
    },

    async stop() {
      stopping = true;
      subscriptions.abort();
      for (const stopTimer of timers) stopTimer();
      const running = [...runs.values()];
      if (running.length > 0) {
        let graceTimer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(running.map((run) => run.settled)),
          new Promise<void>((resolve) => {
            graceTimer = setTimeout(resolve, options.shutdownGraceMs);
          }),
        ]);
        clearTimeout(graceTimer);
      }
      await Promise.all(
        [...runs.values()].map(async (run) => {
          discard(run, 'shutdown');
          await write(run, (op) => transitions.interrupt(op, clock(), false));
        }),
      );
      leases.stop();
    },

    active: () => runs.size,
  };
}
