import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientErrorCode,
  createOperationsClient,
  type Operation,
  type OperationsClient,
  OperationsClientError,
} from '../../src/client/node.js';
import { startControlled } from '../helpers/controlled.js';
import { tokenFor } from '../helpers/server.js';
import { waitFor, within } from '../helpers/wait.js';

const clients = new Set<OperationsClient>();
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
});

function clientWith(url: string, token: string): OperationsClient {
  const client = createOperationsClient({ url, token });
  clients.add(client);
  return client;
}

async function refusal(promise: Promise<unknown>): Promise<OperationsClientError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OperationsClientError);
  return error as OperationsClientError;
}

describe('the typed client and watch tokens', () => {
  it('createWatchToken returns each member of CreateWatchTokenResult', async () => {
    const { server, op } = await startControlled();
    const alice = clientWith(server.url, tokenFor('alice'));
    const granted = await alice.createWatchToken(op.id, { ttlSeconds: 600 });
    if (granted.__typename !== 'CreateWatchTokenSuccess') throw new Error(granted.message);
    expect(granted.operation).toMatchObject({ id: op.id, status: 'RUNNING' });
    expect(granted.watchUrl).toBe(`${server.origin}/watch#token=${granted.token}`);
    expect(Date.parse(granted.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);

    expect(await alice.createWatchToken(op.id, { ttlSeconds: 86_401 })).toEqual({
      __typename: 'ValidationError',
      message: 'ttlSeconds: must be a whole number from 1 to 86400.',
      field: 'ttlSeconds',
    });
    const bob = clientWith(server.url, tokenFor('bob'));
    expect(await bob.createWatchToken(op.id)).toEqual({
      __typename: 'NotFoundError',
      message: 'No such operation.',
      id: op.id,
    });
  });

  it('built with a watch token, reads and watches that operation and nothing else', async () => {
    const { server, op, run } = await startControlled();
    const alice = clientWith(server.url, tokenFor('alice'));
    const other = await alice.start('demo.sleep', { ms: 0, steps: 1 });
    if (other.__typename !== 'StartOperationSuccess') throw new Error(other.message);
    const granted = await alice.createWatchToken(op.id);
    if (granted.__typename !== 'CreateWatchTokenSuccess') throw new Error(granted.message);
    const watcher = clientWith(server.url, granted.token);

    expect(await watcher.viewer()).toEqual({ id: 'alice', isAdmin: false });
    expect((await watcher.get(op.id))?.status).toBe('RUNNING');
    expect(await watcher.get(other.operation.id)).toBeNull();
    expect(await watcher.listPage()).toMatchObject({ operations: [], totalCount: 0 });
    const events = [];
    for await (const event of watcher.events(op.id)) events.push(event.status);
    expect(events).toEqual(['PENDING', 'RUNNING']);

    const seen: Operation[] = [];
    const watching = (async () => {
      for await (const state of watcher.watch(op.id)) seen.push(state);
    })();
    await waitFor(() => seen.length > 0, 'the first state');
    await run.context.progress(0.5, 'half way');
    await waitFor(() => seen.at(-1)?.message === 'half way', 'the progress');
    // One at a time: a refusal made meanwhile must not wait unhandled for its turn.
    for (const attempt of [
      () => watcher.start('demo.sleep'),
      () => watcher.cancel(op.id),
      () => watcher.createWatchToken(op.id, { ttlSeconds: 86_400 }),
    ]) {
      const error = await refusal(attempt());
      expect(error.code).toBe(ClientErrorCode.Forbidden);
      expect(error.status).toBe(403);
    }
    expect((await watcher.get(op.id))?.status).toBe('RUNNING');
    await alice.cancel(op.id, 'done watching');
    await within(watching, 'the watch to end');
    expect(seen.map((state) => state.status)).toEqual([
      'RUNNING',
      'RUNNING',
      'CANCELLING',
      'CANCELLED',
    ]);
    expect(seen[1]).toMatchObject({ progress: 0.5, message: 'half way' });
  });
});
