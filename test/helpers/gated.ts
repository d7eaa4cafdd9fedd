import { defineHandler, type Handler, type HandlerContext } from '../../src/handlers/handler.js';
import type { JsonValue } from '../../src/operations/model.js';
import { parseOperationId } from '../../src/schema/ids.js';
import { userClient } from './clients.js';
import { FAST, startTestServer } from './server.js';
import { within } from './wait.js';

/** What the handler does when its AbortSignal fires: nothing, reject with its reason, or resolve. */
export type OnAbort = 'ignore' | 'reject' | 'resolve';

/** A handler run the test drives: report progress through `ctx`, then finish or fail it. */
export interface GatedRun {
  readonly ctx: HandlerContext;
  finish(result?: JsonValue): void;
  fail(error: unknown): void;
}

/**
 * A kind whose handler waits for the test: `started(id)` resolves with the run once the runner
 * invokes it; input `{onAbort}` (else `options.onAbort`, else 'ignore') says what it does when its
 * AbortSignal fires (`resolve` resolves with `{finishedAnyway: true}`), any other input is taken as
 * it is, and `invocations`/`totalInvocations` count its runs.
 */
export function gatedKind(kind = 'test.gated', options: { onAbort?: OnAbort } = {}) {
  const slots = new Map<string, { run: Promise<GatedRun>; resolve: (run: GatedRun) => void }>();
  const counts = new Map<string, number>();
  const slot = (rawId: string) => {
    let entry = slots.get(rawId);
    if (!entry) {
      let resolve: (run: GatedRun) => void = () => undefined;
      const run = new Promise<GatedRun>((r) => {
        resolve = r;
      });
      entry = { run, resolve };
      slots.set(rawId, entry);
    }
    return entry;
  };
  const raw = (id: string) => parseOperationId(id) ?? id;
  const handler = defineHandler({
    kind,
    parseInput: (input) => input as { onAbort?: OnAbort } | null,
    run: (input, ctx) => {
      counts.set(ctx.operationId, (counts.get(ctx.operationId) ?? 0) + 1);
      return new Promise<JsonValue>((resolve, reject) => {
        const onAbort = input?.onAbort ?? options.onAbort ?? 'ignore';
        ctx.signal.addEventListener(
          'abort',
          () => {
            if (onAbort === 'reject') reject(ctx.signal.reason);
            if (onAbort === 'resolve') resolve({ finishedAnyway: true });
          },
          { once: true },
        );
        slot(ctx.operationId).resolve({
          ctx,
          finish: (result = null) => resolve(result),
          fail: reject,
        });
      });
    },
  });
  return {
    handler: handler as Handler,
    started: (id: string) => within(slot(raw(id)).run, `the handler of ${id} to start`),
    invocations: (id: string) => counts.get(raw(id)) ?? 0,
    totalInvocations: () => [...counts.values()].reduce((a, b) => a + b, 0),
  };
}

/** A server with the gated kind (env `FAST` plus `env`) and alice's client. */
export async function gatedServer(env: Record<string, string> = {}) {
  const gated = gatedKind();
  const server = await startTestServer({ ...FAST, ...env }, { handlers: [gated.handler] });
  const alice = userClient(server, 'alice');
  return { gated, server, alice };
}

/**
 * A gated server and alice's operation of it (`request` adds to `{kind: 'test.gated'}`), once its
 * handler runs.
 */
export async function startGated(
  request: Record<string, unknown> = {},
  env: Record<string, string> = {},
) {
  const { gated, server, alice } = await gatedServer(env);
  const op = await alice.start({ kind: 'test.gated', ...request });
  const run = await gated.started(op.id);
  return { gated, server, alice, op, run };
}

/** A server whose single run slot is held by a blocked operation, so the next ones stay PENDING. */
export async function withBlockedRunner(extraEnv: Record<string, string> = {}) {
  const { gated, server, alice } = await gatedServer({ MAX_CONCURRENT_RUNS: '1', ...extraEnv });
  const blocker = await alice.start({ kind: 'test.gated' });
  const blockerRun = await gated.started(blocker.id);
  return { gated, server, alice, blocker, blockerRun };
}
