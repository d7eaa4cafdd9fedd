import { defineHandler, type Handler } from '../../src/handlers/handler.js';
import { userClient } from './clients.js';
import { EventQueue } from './queue.js';
import { NO_SHUTDOWN_GRACE, startTestServer } from './server.js';

/**
 * A `test.block` kind that runs until aborted, so an operation stays RUNNING at revision 2;
 * `started` yields the raw id of each run.
 */
export function blockingHandler() {
  const started = new EventQueue<string>();
  const handler = defineHandler({
    kind: 'test.block',
    parseInput: () => null,
    run: (_input, { signal, operationId }) =>
      new Promise<undefined>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        started.push(operationId);
      }),
  });
  return { handler, started };
}

/** A server with the blocking kind (and `extra` handlers), stopping at once, and alice's client. */
export async function startBlocking(extra: Handler[] = []) {
  const { handler, started } = blockingHandler();
  const server = await startTestServer(NO_SHUTDOWN_GRACE, { handlers: [handler, ...extra] });
  return { server, started, alice: userClient(server, 'alice') };
}

/**
 * A kind that reports progress every 20 ms until aborted (a busy feed); with `stallAcrossMs` it
 * also blocks the event loop from just before that instant to just after it and then reports at
 * once, as a busy server would, so a timer due then fires late, after that report. A function is
 * asked at each report (null: not known yet).
 */
export function tickingKind(
  kind: string,
  stallAcrossMs: number | null | (() => number | null) = null,
): Handler {
  return defineHandler({
    kind,
    parseInput: () => null,
    async run(_input, { signal, progress }) {
      let stalled = false;
      for (let i = 1; ; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        signal.throwIfAborted();
        const stallAt = typeof stallAcrossMs === 'function' ? stallAcrossMs() : stallAcrossMs;
        if (!stalled && stallAt !== null && Date.now() >= stallAt - 25) {
          stalled = true;
          while (Date.now() < stallAt + 25) {
            // Busy: no timer can fire meanwhile.
          }
        }
        await progress((i % 100) / 100, `tick ${i}`);
      }
    },
  });
}
