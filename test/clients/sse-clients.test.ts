import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-sse';
import { afterEach, expect, it } from 'vitest';
import { watchWithEventSource } from '../../examples/eventsource/watch.js';
import { createSseClient, WATCH } from '../../examples/graphql-sse/watch.js';
import { userClient } from '../helpers/clients.js';
import { EventQueue } from '../helpers/queue.js';
import { startTestServer, tokenFor } from '../helpers/server.js';

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
});

async function freePort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return String(address.port);
}

async function restartable() {
  const env = { PORT: await freePort(), SHUTDOWN_GRACE_MS: '100' };
  const dataDir = mkdtempSync(join(tmpdir(), 'longrun-restart-'));
  return () => startTestServer(env, { dataDir });
}

type State = { status: string; revision: number };

it('EventSource reconnects after the server restarts, sends Last-Event-ID, and resumes where it was', async () => {
  const start = await restartable();
  const first = await start();
  const op = await userClient(first, 'alice').start({
    kind: 'demo.sleep',
    input: { ms: 600_000, steps: 1 },
  });
  const states = new EventQueue<State>();
  const errors: string[] = [];
  const watch = watchWithEventSource(
    { url: first.url, getToken: () => tokenFor('alice'), id: op.id },
    {
      onState: (state) => states.push(state),
      onError: (e) => errors.push(e.extensions?.code ?? ''),
    },
  );
  disposers.push(watch.close);
  const before = await states.until((s) => s.status === 'RUNNING', 20_000);
  await first.stop(); // the running operation is recorded FAILED INTERRUPTED meanwhile
  await start();
  await watch.done;
  const after = states.drain();
  expect(errors).toEqual(['SERVICE_UNAVAILABLE']);
  expect(after).toEqual([expect.objectContaining({ status: 'FAILED' })]);
  expect(after[0]?.revision).toBe((before.at(-1)?.revision ?? 0) + 1);
});

it('graphql-sse retries a stream cut off at token expiry with the renewed token, and the watch goes on to its end', async () => {
  const server = await startTestServer();
  const alice = userClient(server, 'alice');
  const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
  // The first token lives 5 s; every later one an hour.
  let tokens = 0;
  const client = createSseClient({
    url: server.url,
    getToken: () => tokenFor('alice', { ttlSec: tokens++ === 0 ? 5 : 3600 }),
    retryDelayMs: () => 50,
  });
  disposers.push(() => client.dispose());
  const results = new EventQueue<{
    data?: { operationUpdated: State };
    errors?: Array<{ extensions?: { code?: string } }>;
  }>();
  client.subscribe(
    { query: WATCH, variables: { id: op.id } },
    {
      next: (result) => results.push(result as never),
      error: (error) => results.end(error),
      complete: () => results.end(),
    },
  );
  expect((await results.next(20_000)).data?.operationUpdated.status).toBe('RUNNING');
  // The stream is cut off at exp with an error, not a complete...
  expect((await results.next(20_000)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  // ...so graphql-sse reconnects with a fresh token and the subscription goes on.
  expect((await results.next(20_000)).data?.operationUpdated.status).toBe('RUNNING');
  expect(tokens).toBe(2);
  await alice.cancel(op.id, 'done watching');
  const rest = await results.rest(20_000);
  expect(results.error).toBeNull();
  expect(rest.map((r) => r.data?.operationUpdated.status)).toEqual(['CANCELLING', 'CANCELLED']);
});

it("graphql-sse's single connection mode is refused at its first request (PUT: 405), as docs/clients.md says", async () => {
  const server = await startTestServer();
  const client = createClient({
    url: server.url,
    singleConnection: true,
    retryAttempts: 0,
    headers: () => ({ authorization: `Bearer ${tokenFor('alice')}` }),
  });
  disposers.push(() => client.dispose());
  const failure = await new Promise<unknown>((resolve) => {
    client.subscribe(
      { query: '{ viewer { id } }' },
      { next: () => undefined, error: resolve, complete: () => resolve(null) },
    );
  });
  expect(failure).toMatchObject({ response: { status: 405 } });
});
