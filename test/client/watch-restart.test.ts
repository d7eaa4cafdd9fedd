import { createServer } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import {
  type ConnectionState,
  createOperationsClient,
  type Operation,
  type OperationsClient,
} from '../../src/client/node.js';
import { spawnServer } from '../helpers/process.js';
import { tokenFor } from '../helpers/server.js';
import { waitFor, within } from '../helpers/wait.js';

const clients = new Set<OperationsClient>();
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// Long enough that the dead worker still holds its lease when the cancel arrives.
const ENV = { LEASE_MS: '4000', SHUTDOWN_GRACE_MS: '100' };

it('watch survives a server restart mid-stream without losing a status change', async () => {
  const port = await freePort();
  const first = spawnServer({ ...ENV, PORT: String(port) });
  const url = await first.listening;

  let tokens = 0;
  const alice = createOperationsClient({
    url,
    getToken: () => {
      tokens += 1;
      return tokenFor('alice');
    },
    retry: { initialDelayMs: 100, maxDelayMs: 400 },
  });
  clients.add(alice);
  const states: ConnectionState[] = [];
  alice.onConnectionChange((state) => states.push(state));

  const started = await alice.start('demo.sleep', { ms: 600_000, steps: 6_000 });
  if (started.__typename !== 'StartOperationSuccess') throw new Error(started.message);
  const { id } = started.operation;

  const seen: Operation[] = [];
  const watching = (async () => {
    for await (const op of alice.watch(id)) seen.push(op);
  })();
  await waitFor(() => seen.some((op) => op.progress !== null), 'progress before the crash');

  // A second instance on the same database, up before the first one dies.
  const other = spawnServer({ ...ENV }, first.dataDir);
  const otherClient = createOperationsClient({
    url: await other.listening,
    token: tokenFor('bob', { admin: true }),
  });
  clients.add(otherClient);

  // The server dies mid-stream, and while it is down the other instance cancels the operation:
  // RUNNING → CANCELLING, then (once the dead worker's lease expires) CANCELLED.
  first.child.kill('SIGKILL');
  await first.exited;
  await waitFor(() => states.at(-1) === 'reconnecting', 'the client to notice');
  const seenBeforeRestart = seen.length;
  const tokensBeforeRestart = tokens;
  const cancelled = await otherClient.cancel(id, 'cancelled while the server was down');
  expect(cancelled).toMatchObject({ operation: { status: 'CANCELLING' } });
  await waitFor(
    async () => (await otherClient.get(id))?.status === 'CANCELLED',
    'the lease to expire and the cancel to complete',
    15_000,
  );
  expect(seen.length).toBe(seenBeforeRestart);

  // The first server comes back on the same port; the stream resumes where it was.
  const again = spawnServer({ ...ENV, PORT: String(port) }, first.dataDir);
  await again.listening;
  await within(watching, 'the watch to resume and end', 15_000);
  expect(tokens).toBeGreaterThan(tokensBeforeRestart);

  const log: { revision: number; status: string }[] = [];
  for await (const event of otherClient.events(id)) log.push(event);
  const statusChanges = (entries: { revision: number; status: string }[]) =>
    entries.filter((entry, i) => i === 0 || entries[i - 1]?.status !== entry.status);

  const revisions = seen.map((op) => op.revision);
  expect(new Set(revisions).size).toBe(revisions.length);
  expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  // Every status change of the log reached the watcher, at the revision it happened.
  const fromLog = statusChanges(log).filter((entry) => entry.revision >= (revisions[0] ?? 0));
  expect(statusChanges(seen).map(({ revision, status }) => ({ revision, status }))).toEqual(
    fromLog.map(({ revision, status }) => ({ revision, status })),
  );
  expect(seen.slice(seenBeforeRestart).map((op) => op.status)).toEqual(['CANCELLING', 'CANCELLED']);
  expect(seen.at(-1)).toMatchObject({
    status: 'CANCELLED',
    done: true,
    cancelReason: 'cancelled while the server was down',
  });
  // With no stream left, the lazy socket closes.
  await waitFor(() => states.at(-1) === 'idle', 'the socket to close');
});
