import { afterEach, describe, expect, it } from 'vitest';
import {
  CANCEL,
  cachedOperation,
  createApollo,
  NODE,
  START,
  WATCH,
} from '../../examples/apollo/client.js';
import { EventQueue } from '../helpers/queue.js';
import { startTestServer, type TestServer, tokenFor } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
});

function apollo(server: TestServer, options: { plainCache?: boolean; fetch?: typeof fetch } = {}) {
  const token = tokenFor('alice');
  const handle = createApollo({ url: server.url, getToken: () => token, ...options });
  disposers.push(handle.dispose);
  return handle.client;
}

type Started = { startOperation: { operation?: { id: string }; message?: string } };

describe('Apollo Client recipe: possibleTypes', () => {
  it('keeps "... on Error { message }" and "... on Node { id }" with the generated possibleTypes, which a plain cache drops', async () => {
    const server = await startTestServer();
    const results = [];
    for (const plainCache of [true, false]) {
      const client = apollo(server, { plainCache });
      const refused = await client.mutate<Started>({
        mutation: START,
        variables: { input: { kind: 'no.such.kind' } },
      });
      const started = await client.mutate<Started>({
        mutation: START,
        variables: { input: { kind: 'demo.sleep', input: { ms: 1, steps: 1 } } },
      });
      const id = started.data?.startOperation.operation?.id as string;
      const node = await client.query<{ node: Record<string, unknown> | null }>({
        query: NODE,
        variables: { id },
      });
      results.push({
        message: refused.data?.startOperation.message,
        nodeId: node.data?.node?.id,
        id,
      });
    }
    const [plain, generated] = results;
    expect(plain?.message).toBeUndefined();
    expect(plain?.nodeId).toBeUndefined();
    expect(generated?.message).toMatch(/"no\.such\.kind"/);
    expect(generated?.nodeId).toBe(generated?.id);
  });
});

describe('Apollo Client recipe: one cache that watches and cancels', () => {
  /**
   * Starts a long operation, watches it, and cancels it with the cancel's answer (CANCELLING)
   * held back until the subscription has delivered CANCELLED: the order that made rows stick
   * at CANCELLING. Returns the status the cache holds once both have landed.
   */
  async function watchThenLateCancel(server: TestServer, plainCache: boolean): Promise<string> {
    const cancelledSeen = new EventQueue<true>();
    const client = apollo(server, {
      plainCache,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (String(init?.body).includes('cancelOperation')) await cancelledSeen.next(20_000);
        return response;
      },
    });
    const started = await client.mutate<Started>({
      mutation: START,
      variables: { input: { kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } } },
    });
    const id = started.data?.startOperation.operation?.id as string;
    const states = new EventQueue<string>();
    const subscription = client
      .subscribe<{ operationUpdated: { status: string } }>({ query: WATCH, variables: { id } })
      .subscribe({
        next: ({ data }) => {
          if (!data) return;
          states.push(data.operationUpdated.status);
          if (data.operationUpdated.status === 'CANCELLED') cancelledSeen.push(true);
        },
        error: (error) => states.end(error),
        complete: () => states.end(),
      });
    await states.until((status) => status === 'RUNNING', 20_000);
    // The answer itself said CANCELLING (revision 3); with the policy, what the mutation's
    // caller reads back from the cache is the newer CANCELLED.
    const cancelled = await client.mutate<{ cancelOperation: { operation?: { status: string } } }>({
      mutation: CANCEL,
      variables: { id, reason: 'race' },
    });
    expect(cancelled.data?.cancelOperation.operation?.status).toBe(
      plainCache ? 'CANCELLING' : 'CANCELLED',
    );
    expect(await states.rest(20_000)).toEqual(['CANCELLING', 'CANCELLED']);
    subscription.unsubscribe();
    return cachedOperation(client, id)?.status ?? 'missing';
  }

  it('ends CANCELLED in 20 runs out of 20 when the cancel answers after the subscription', async () => {
    const server = await startTestServer();
    const outcomes: string[] = [];
    for (let run = 0; run < 20; run++) outcomes.push(await watchThenLateCancel(server, false));
    expect(outcomes).toEqual(Array(20).fill('CANCELLED'));
  }, 120_000);

  it('(control) without the revision policy the late answer overwrites CANCELLED with CANCELLING', async () => {
    const server = await startTestServer();
    expect(await watchThenLateCancel(server, true)).toBe('CANCELLING');
    await waitFor(() => server.app.gauges().streams === 0, 'the stream to close');
  });
});
