import { expect } from 'vitest';
import { defineHandler, type HandlerContext } from '../../src/handlers/handler.js';
import type { JsonValue } from '../../src/operations/model.js';
import { parseOperationId } from '../../src/schema/ids.js';
import { type Op, userClient } from './clients.js';
import type { EventQueue } from './queue.js';
import { NO_SHUTDOWN_GRACE, startTestServer } from './server.js';
import { waitFor } from './wait.js';

/** A handler run the test drives: report progress through `context`, then finish or fail it. */
export interface ControlledRun {
  readonly context: HandlerContext;
  finish(result: JsonValue): void;
  fail(error: Error): void;
}

/**
 * A kind whose runs wait for the test: with `rejectOnAbort` (the default) a run rejects as soon as
 * its AbortSignal fires, like `signal.throwIfAborted()`, otherwise the test decides when.
 */
export function controlledKind(kind: string, options: { rejectOnAbort?: boolean } = {}) {
  const runs = new Map<string, ControlledRun>();
  const handler = defineHandler({
    kind,
    parseInput: (raw) => raw,
    run: (_input, context) =>
      new Promise<JsonValue>((resolve, reject) => {
        if (options.rejectOnAbort ?? true) {
          context.signal.addEventListener('abort', () => reject(context.signal.reason), {
            once: true,
          });
        }
        runs.set(context.operationId, { context, finish: resolve, fail: reject });
      }),
  });
  return {
    handler,
    /** The run of an operation (global or raw id), once the runner invoked its handler. */
    run: (id: string) =>
      waitFor(() => runs.get(parseOperationId(id) ?? ''), `the handler of ${id} to start`),
  };
}

/**
 * Env of a server whose runs the test alone ends: teardown stops them at once, and the cancel
 * grace is an hour, so a cancelled run stays CANCELLING for as long as the test drives it however
 * slow the machine is (with the usual 2 s it could end CANCEL_FORCED mid-test).
 */
const CONTROLLED_ENV = { ...NO_SHUTDOWN_GRACE, CANCEL_GRACE_MS: '3600000' };

/**
 * A server with one controlled kind (`env` added to its settings) and alice's operation of it,
 * once its handler runs.
 */
export async function startControlled(
  kind = 'test.controlled',
  options: { rejectOnAbort?: boolean; input?: JsonValue; env?: Record<string, string> } = {},
) {
  const ctl = controlledKind(kind, { rejectOnAbort: options.rejectOnAbort });
  const server = await startTestServer(
    { ...CONTROLLED_ENV, ...options.env },
    { handlers: [ctl.handler] },
  );
  const alice = userClient(server, 'alice');
  const op = await alice.start(
    options.input === undefined ? { kind } : { kind, input: options.input },
  );
  const run = await ctl.run(op.id);
  return { ctl, server, alice, op, run };
}

/**
 * Drives a RUNNING `run` (at revision 2) through `running` progress reports, `cancel`, `stopping`
 * reports while CANCELLING and a failure, checking that `fast` shows each change as the next
 * revision, and returns the last revision.
 */
export async function floodThroughCancel(
  run: ControlledRun,
  cancel: () => Promise<unknown>,
  fast: EventQueue<Op>,
  { running, stopping }: { running: number; stopping: number },
): Promise<number> {
  let revision = 2;
  const expectNext = async (status: string) => {
    revision++;
    const next = await fast.next();
    if (next.revision !== revision || next.status !== status) {
      expect({ revision: next.revision, status: next.status }).toEqual({ revision, status });
    }
  };
  for (let i = 1; i <= running; i++) {
    await run.context.progress(i / running, `step ${i}`);
    await expectNext('RUNNING');
  }
  await cancel();
  await expectNext('CANCELLING');
  for (let i = 1; i <= stopping; i++) {
    await run.context.progress(null, `stopping ${i}`);
    await expectNext('CANCELLING');
  }
  run.fail(new Error('stopped'));
  await expectNext('CANCELLED');
  return revision;
}

/**
 * What a slow reader of the run `floodThroughCancel` drove must have received: revisions in
 * order, far fewer states than revisions (coalesced), yet every status change, the terminal
 * state, and the last state of each status run.
 */
export function expectCoalescedFlood(
  states: readonly Op[],
  {
    finalRevision,
    running,
    stopping,
  }: { finalRevision: number; running: number; stopping: number },
): void {
  const revisions = states.map((s) => s.revision);
  for (let i = 1; i < revisions.length; i++) {
    expect(revisions[i]).toBeGreaterThan(revisions[i - 1] as number);
  }
  expect(states.length).toBeLessThan(finalRevision - 1);
  const statuses = states.map((s) => s.status).filter((s, i, all) => s !== all[i - 1]);
  expect(statuses).toEqual(['RUNNING', 'CANCELLING', 'CANCELLED']);
  expect(states.at(-1)).toMatchObject({ revision: finalRevision, status: 'CANCELLED' });
  expect(states.findLast((s) => s.status === 'RUNNING')).toMatchObject({
    revision: 2 + running,
    progress: 1,
    message: `step ${running}`,
  });
  expect(states.findLast((s) => s.status === 'CANCELLING')).toMatchObject({
    revision: finalRevision - 1,
    message: `stopping ${stopping}`,
  });
}
