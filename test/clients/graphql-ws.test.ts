import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createRetryingClient,
  type WatchedOperation,
  watch,
} from '../../examples/graphql-ws/watch.js';
import { userClient } from '../helpers/clients.js';
import { EventQueue } from '../helpers/queue.js';
import { startTestServer, tokenFor } from '../helpers/server.js';

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A server on a fixed port and data folder, so that it can be stopped and started again. */
async function restartable() {
  const port = String(await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'longrun-restart-'));
  const env = { PORT: port, SHUTDOWN_GRACE_MS: '100' };
  return { start: () => startTestServer(env, { dataDir }) };
}

it('graphql-ws with the retrying recipe follows a watch across a server restart and resumes after the last revision', async () => {
  const instance = await restartable();
  const first = await instance.start();
  const alice = userClient(first, 'alice');
  const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });

  const client = createRetryingClient({ url: first.url, getToken: () => tokenFor('alice') });
  disposers.push(() => client.dispose());
  const states = new EventQueue<WatchedOperation>();
  void (async () => {
    for await (const state of watch(client, op.id)) states.push(state);
  })().then(
    () => states.end(),
    (error) => states.end(error),
  );
  const before = await states.until((s) => s.status === 'RUNNING', 20_000);

  // The server stops (its running operation is recorded FAILED INTERRUPTED) and stays down for
  // a while: the client meets refused connections before it comes back.
  await first.stop();
  const refused = new EventQueue<true>();
  const probe = createClient({
    url: first.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => refused.push(true),
  });
  await refused.next(10_000);
  await probe.dispose();
  await instance.start();

  const after = await states.rest(30_000);
  expect(states.error).toBeNull();
  expect(after.map((s) => s.status)).toEqual(['FAILED']);
  const revisions = [...before, ...after].map((s) => s.revision);
  expect(new Set(revisions).size).toBe(revisions.length);
  expect(after[0]?.revision).toBe((before.at(-1)?.revision ?? 0) + 1);
});

it("(control) graphql-ws's default shouldRetry ends the watch at the first refused connection", async () => {
  const instance = await restartable();
  const first = await instance.start();
  const alice = userClient(first, 'alice');
  const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
  const client = createClient({
    url: first.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${tokenFor('alice')}` },
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
  });
  disposers.push(() => client.dispose());
  const states = new EventQueue<unknown>();
  client.subscribe(
    {
      query: 'subscription($id: ID!) { operationUpdated(id: $id) { status } }',
      variables: { id: op.id },
    },
    {
      next: (r) => states.push(r),
      error: (e) => states.end(e ?? 'error'),
      complete: () => states.end(),
    },
  );
  await states.next(20_000);
  await first.stop();
  await states.waitEnd(20_000);
  expect(states.error).toMatchObject({ message: expect.stringContaining('ECONNREFUSED') });
});
