import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientErrorCode,
  createOperationsClient,
  type OperationsClient,
  OperationsClientError,
} from '../../src/client/node.js';
import { gatedServer } from '../helpers/gated.js';
import { spawnServer } from '../helpers/process.js';
import { tokenFor } from '../helpers/server.js';
import { waitFor, within } from '../helpers/wait.js';

const clients = new Set<OperationsClient>();
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
});

function clientFor(url: string, sub: string): OperationsClient {
  const client = createOperationsClient({
    url,
    token: tokenFor(sub),
    retry: { initialDelayMs: 100, maxDelayMs: 400 },
  });
  clients.add(client);
  return client;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('client.wait', () => {
  it('resolves with the final state, or the current one at its timeout, or null', async () => {
    const { server, alice: aliceHttp, gated } = await gatedServer();
    const alice = clientFor(server.url, 'alice');
    const op = await aliceHttp.start({ kind: 'test.gated' });
    const run = await gated.started(op.id);

    const early = await alice.wait(op.id, { timeoutMs: 200 });
    expect(early).toMatchObject({ id: op.id, status: 'RUNNING', done: false });

    const waiting = alice.wait(op.id);
    await waitFor(() => server.app.gauges().streams === 1, 'the wait to reach the server');
    run.finish({ n: 1 });
    expect(await within(waiting, 'the wait to end')).toMatchObject({
      status: 'SUCCEEDED',
      result: { n: 1 },
    });
    expect(await clientFor(server.url, 'bob').wait(op.id)).toBeNull();
  });

  it('stops with ABORTED when its signal fires, and the server lets go of the wait', async () => {
    const { server, alice: aliceHttp, gated } = await gatedServer();
    const alice = clientFor(server.url, 'alice');
    const op = await aliceHttp.start({ kind: 'test.gated' });
    await gated.started(op.id);
    const stop = new AbortController();
    const waiting = alice.wait(op.id, { signal: stop.signal }).catch((error: unknown) => error);
    await waitFor(() => server.app.gauges().streams === 1, 'the wait to reach the server');
    stop.abort();
    const error = await within(waiting, 'the wait to stop');
    expect(error).toBeInstanceOf(OperationsClientError);
    expect((error as OperationsClientError).code).toBe(ClientErrorCode.Aborted);
    await waitFor(() => server.app.gauges().streams === 0, 'the server to let go');
  });

  // Two server processes start in turn on a shared machine: room for them.
  it('asks again across a server restart until the operation is done', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const env = { LEASE_MS: '1500', SHUTDOWN_GRACE_MS: '100', PORT: String(port) };
    const first = spawnServer(env);
    const url = await first.listening;
    const alice = clientFor(url, 'alice');
    const started = await alice.start('demo.sleep', { ms: 600_000, steps: 1 });
    if (started.__typename !== 'StartOperationSuccess') throw new Error(started.message);
    const { id } = started.operation;
    await waitFor(async () => (await alice.get(id))?.status === 'RUNNING', 'the run to start');

    const waiting = alice.wait(id);
    waiting.catch(() => undefined); // awaited below; this only keeps a teardown rejection quiet
    // The request in flight breaks with the process; the client asks again until it is back.
    first.child.kill('SIGKILL');
    await first.exited;
    const again = spawnServer(env, first.dataDir);
    await again.listening;
    // The dead worker's lease runs out: the restarted server records it INTERRUPTED.
    const final = await within(waiting, 'the wait to end after the restart', 60_000);
    expect(final).toMatchObject({ id, status: 'FAILED', error: { code: 'INTERRUPTED' } });
  });
});
