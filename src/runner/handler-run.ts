import type { Handler } from '../handlers/handler.js';
import type { Logger } from '../logger.js';
import type { Decide } from '../operations/commit.js';
import type { JsonValue, OperationRecord } from '../operations/model.js';
import { LIMITS } from '../operations/service.js';
import * as transitions from '../operations/transitions.js';

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

/** Why a run was told to stop. */
export type StopReason = RunAborted['why'];

/**
 * One reason per cause, shared by every run: an error's stack trace is the costly part of making
 * it, and this one would only ever point here.
 */
const ABORTED: Readonly<Record<StopReason, RunAborted>> = {
  cancel: new RunAborted('cancel'),
  timeout: new RunAborted('timeout'),
  shutdown: new RunAborted('shutdown'),
  'lease-lost': new RunAborted('lease-lost'),
};

/** What a run needs from the runner that owns it. */
export interface RunEnvironment {
  readonly clock: () => Date;
  readonly logger: Logger;
  /** How long a handler may ignore a cancel or timeout before its run is declared stopped. */
  readonly cancelGraceMs: number;
  /** Writes under this worker's lease; resolves false when the lease is no longer ours. */
  write(id: string, decide: Decide): Promise<boolean>;
  /** The run no longer holds its operation: its outcome is written or it was discarded. */
  finished(run: HandlerRun): void;
}

type HandlerResult = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The result as stored, or why it cannot be. */
function toJson(
  value: unknown,
): { ok: true; value: JsonValue | null } | { ok: false; message: string } {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (error) {
    return { ok: false, message: `The handler's result is not JSON: ${messageOf(error)}` };
  }
  if (text === undefined) return { ok: true, value: null };
  // Every read of the operation parses and serializes its result on the event loop.
  if (Buffer.byteLength(text, 'utf8') > LIMITS.maxResultBytes) {
    const message = `The handler's result is larger than ${LIMITS.maxResultBytes} bytes as JSON.`;
    return { ok: false, message };
  }
  return { ok: true, value: JSON.parse(text) as JsonValue };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * One handler run in this process: its AbortSignal, its timeout and cancel-grace timers, its
 * progress reports, and the transition its outcome writes.
 */
export class HandlerRun {
  readonly id: string;
  readonly ownerId: string;
  /** Settles once the handler returned or threw and its outcome was dealt with. */
  settled: Promise<void> = Promise.resolve();
  readonly #record: OperationRecord;
  readonly #env: RunEnvironment;
  readonly #controller = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  #stopping: StopReason | null = null;
  #discarded = false;

  constructor(record: OperationRecord, env: RunEnvironment) {
    this.id = record.id;
    this.ownerId = record.ownerId;
    this.#record = record;
    this.#env = env;
  }

  /** Whatever the handler does from now on is ignored (forced, lease lost or shut down). */
  get discarded(): boolean {
    return this.#discarded;
  }

  /** Validates the input and runs `handler` (a missing one fails the run). */
  start(handler: Handler | undefined): void {
    const op = this.#record;
    let input: unknown;
    try {
      if (!handler) throw new Error(`No handler is registered for kind "${op.kind}".`);
      input = handler.parseInput(op.input);
    } catch (error) {
      this.settled = this.#settle({ ok: false, error });
      return;
    }
    if (op.timeoutMs !== null && op.startedAt !== null) {
      const due = op.startedAt.getTime() + op.timeoutMs - this.#env.clock().getTime();
      this.#addTimer(() => this.requestStop('timeout'), Math.max(0, due));
    }
    const context = {
      signal: this.#controller.signal,
      operationId: op.id,
      ownerId: op.ownerId,
      progress: (value: number | null, message?: string | null) => this.#progress(value, message),
    };
    this.settled = (async () => {
      let result: HandlerResult;
      try {
        result = { ok: true, value: await handler.run(input, context) };
      } catch (error) {
        result = { ok: false, error };
      }
      await this.#settle(result);
    })();
  }

  /**
   * Fires the handler's signal. A handler still running `cancelGraceMs` later is declared stopped
   * (`forceStop`) and discarded.
   */
  requestStop(why: 'cancel' | 'timeout'): void {
    if (this.#stopping !== null) return;
    this.#abort(why);
    this.#addTimer(() => {
      if (this.#discarded) return;
      this.#env.logger.warn('handler ignored its AbortSignal past the grace period', {
        id: this.id,
        why,
      });
      this.#discarded = true;
      this.#release();
      void this.#env.write(this.id, (op) => transitions.forceStop(op, this.#env.clock()));
    }, this.#env.cancelGraceMs);
  }

  /** Aborts the handler (if not already) and ignores whatever it does from now on. */
  discard(why: StopReason): void {
    this.#discarded = true;
    if (this.#stopping === null) this.#abort(why);
    this.#release();
  }

  #abort(why: StopReason): void {
    this.#stopping = why;
    this.#controller.abort(ABORTED[why]);
  }

  #addTimer(task: () => void, ms: number): void {
    const timer = setTimeout(task, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #release(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#env.finished(this);
  }

  async #progress(value: number | null, message?: string | null): Promise<void> {
    if (this.#discarded) return;
    const held = await this.#env.write(this.id, (current) =>
      transitions.progress(current, value, message, this.#env.clock()),
    );
    if (!held && !this.#discarded) this.discard('lease-lost');
  }

  async #settle(result: HandlerResult): Promise<void> {
    if (this.#discarded) {
      this.#env.logger.debug('discarded the late outcome of a handler', { id: this.id });
      return;
    }
    // The handler has stopped: its grace and deadline no longer apply, even if the write below
    // waits on a busy database longer than the grace.
    for (const timer of this.#timers) clearTimeout(timer);
    await this.#env.write(this.id, this.#outcome(result));
    this.#release();
  }

  /** The transition the handler's outcome asks for. */
  #outcome(result: HandlerResult): Decide {
    const now = () => this.#env.clock();
    // Past its deadline the run ends TIMEOUT, even if the handler still produced a result.
    if (this.#stopping === 'timeout') {
      return (op) => transitions.handlerStopped(op, { cause: 'timeout' }, now());
    }
    if (!result.ok) {
      const message = messageOf(result.error);
      return (op) => transitions.handlerStopped(op, { cause: 'error', message }, now());
    }
    const stored = toJson(result.value);
    if (!stored.ok) {
      const { message } = stored;
      return (op) => transitions.handlerStopped(op, { cause: 'error', message }, now());
    }
    return (op) => transitions.succeed(op, stored.value, now());
  }
}
