import { describe, expect, it } from 'vitest';
import { userClient, wsClient } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';
import { watchTokenFor } from '../helpers/watch.js';

const WATCH = `subscription($id: ID!) { operationUpdated(id: $id) { id status revision retryOf { id } } }`;

type Event = { id: string; status: string; revision: number; retryOf: { id: string } | null };

describe('subscriptions sharing one execution per event', () => {
  it('give every subscriber every event in order, each with what its own viewer may see', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    // Cancelled, then retried: the retry runs as long and is watched until it is cancelled too.
    const first = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
    await alice.cancel(first.id);
    await doneState(alice, first.id);
    const retried = await alice.gql<{
      retryOperation: { operation: { id: string } };
    }>(
      `mutation($id: ID!) { retryOperation(input: { id: $id }) {
        ... on RetryOperationSuccess { operation { id } } } }`,
      { id: first.id },
    );
    const id = retried.body.data?.retryOperation.operation.id ?? '';
    expect(id).not.toBe('');
    // A watch token reads this operation only: the one it retries looks missing to it.
    const watcher = await watchTokenFor(server.url, alice.token, id);

    const owners = Array.from({ length: 4 }, () => wsClient(server.wsUrl, alice.token));
    const watching = wsClient(server.wsUrl, watcher);
    const ownerStreams = owners.map((client) => client.subscribe(WATCH, { id }));
    const watcherStream = watching.subscribe(WATCH, { id });
    for (const stream of [...ownerStreams, watcherStream]) await stream.results.next();

    const cancelled = await alice.cancel(id);
    expect(cancelled.__typename).toBe('CancelOperationSuccess');
    const ownerEvents = await Promise.all(ownerStreams.map((stream) => stream.results.rest()));
    const watcherEvents = await watcherStream.results.rest();

    const updated = (event: { data?: Record<string, unknown> | null }): Event => {
      const state = event.data?.operationUpdated as Event | undefined;
      if (state === undefined)
        throw new Error(`an event without operationUpdated: ${JSON.stringify(event)}`);
      return state;
    };
    const statuses = (events: { data?: Record<string, unknown> | null }[]) =>
      events.map((event) => updated(event).status);
    const expected = statuses(ownerEvents[0] ?? []);
    expect(expected.at(-1)).toBe('CANCELLED');
    expect(expected).toContain('CANCELLING');
    for (const events of [...ownerEvents, watcherEvents]) {
      expect(events.every((event) => event.errors === undefined)).toBe(true);
      expect(statuses(events)).toEqual(expected);
      const revisions = events.map((event) => updated(event).revision);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    }
    for (const events of ownerEvents) {
      for (const event of events) {
        expect(updated(event).retryOf).toEqual({ id: first.id });
      }
    }
    for (const event of watcherEvents) {
      expect(updated(event).retryOf).toBeNull();
    }
    await Promise.all([...owners, watching].map((client) => client.dispose()));
    await server.stop();
  });
});
