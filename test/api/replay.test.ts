import { describe, expect, it } from 'vitest';
import { mapOps, OPERATION_SELECTION, sse, userClient, wsClient } from '../helpers/clients.js';
import { startBlocking } from '../helpers/handlers.js';
import { doneState, waitFor } from '../helpers/wait.js';

const RESUME = `subscription($id: ID!, $after: Int) {
  operationUpdated(id: $id, afterRevision: $after) { ${OPERATION_SELECTION} } }`;

/** How a refused subscription ended: the errors of its only result, on WS and on SSE. */
async function refusals(
  server: { url: string; wsUrl: string },
  token: string,
  variables: Record<string, unknown>,
) {
  const ws = wsClient(server.wsUrl, token).subscribe(RESUME, variables);
  const viaSse = await sse(server.url, token, RESUME, variables);
  const ended = [];
  for (const results of [ws.results, viaSse.results]) {
    const all = await results.rest();
    expect(all).toHaveLength(1);
    expect(all[0]?.data ?? null).toBeNull();
    ended.push(all[0]?.errors);
  }
  return ended;
}

describe('operationUpdated(afterRevision) beyond the current revision', () => {
  it('is BAD_USER_INPUT at once, for a running and for a done operation, on WS and SSE', async () => {
    const { server, alice, started } = await startBlocking();
    const running = await alice.start({ kind: 'test.block' });
    await started.next();
    const done = await alice.start({ kind: 'demo.sleep', input: { ms: 1, steps: 1 } });
    const final = await doneState(alice, done.id);

    for (const [id, current] of [
      [running.id, 2],
      [done.id, final.revision],
    ] as const) {
      for (const errors of await refusals(server, alice.token, { id, after: current + 1 })) {
        expect(errors).toEqual([
          expect.objectContaining({
            message: `afterRevision ${current + 1} is beyond the operation's current revision ${current}.`,
            extensions: { code: 'BAD_USER_INPUT', field: 'afterRevision' },
          }),
        ]);
      }
    }
    // Resuming exactly at the current revision is fine: nothing yet, then what comes.
    const resumed = wsClient(server.wsUrl, alice.token).subscribe(RESUME, {
      id: running.id,
      after: 2,
    });
    await alice.cancel(running.id, 'enough');
    const seen = await mapOps(resumed.results, 'operationUpdated').rest();
    expect(seen.map((op) => [op.revision, op.status])).toEqual([
      [3, 'CANCELLING'],
      [4, 'CANCELLED'],
    ]);
    await waitFor(() => server.app.gauges().streams === 0, 'every stream to close');
  });

  it('is NOT_FOUND for another user, whatever afterRevision says', async () => {
    const { server, alice, started } = await startBlocking();
    const op = await alice.start({ kind: 'test.block' });
    await started.next();
    const bob = userClient(server, 'bob');
    for (const after of [0, 2, 3, 1_000]) {
      for (const errors of await refusals(server, bob.token, { id: op.id, after })) {
        expect(errors).toEqual([
          expect.objectContaining({ extensions: { code: 'NOT_FOUND', id: op.id } }),
        ]);
      }
    }
    await waitFor(() => server.app.gauges().streams === 0, 'every stream to close');
  });
});
