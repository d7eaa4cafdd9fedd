import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createUrql,
  type UrqlOperation,
  type UrqlTransport,
  watchStates,
} from '../../examples/urql/client.js';
import { userClient } from '../helpers/clients.js';
import { startTestServer, type TestServer, tokenFor } from '../helpers/server.js';

const disposers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(disposers.splice(0).map((dispose) => dispose()));
});

function wsClient(server: TestServer, token: string) {
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  disposers.push(() => client.dispose());
  return client;
}

describe('urql recipe', () => {
  it.each(['graphql-ws', 'graphql-sse', 'fetch'] as const)(
    'watches an operation to its end over %s, each revision once, the terminal state once',
    async (kind) => {
      const server = await startTestServer();
      const token = tokenFor('alice');
      const transport: UrqlTransport =
        kind === 'graphql-ws' ? { kind, client: wsClient(server, token) } : { kind };
      const client = createUrql({ url: server.url, getToken: () => token, transport });
      const op = await userClient(server, 'alice').start({
        kind: 'demo.sleep',
        input: { ms: 300, steps: 3 },
      });
      const states: UrqlOperation[] = [];
      await watchStates(client, op.id, (state) => states.push(state));
      const revisions = states.map((s) => s.revision);
      expect(revisions).toEqual([...new Set(revisions)].sort((a, b) => a - b));
      expect(states.filter((s) => s.done)).toEqual([
        expect.objectContaining({ status: 'SUCCEEDED', done: true }),
      ]);
      expect(states.at(-1)?.status).toBe('SUCCEEDED');
    },
  );

  it('shows a refused WebSocket as the close code and reason, not "[Network] undefined"', async () => {
    const server = await startTestServer();
    const op = await userClient(server, 'alice').start({ kind: 'demo.sleep' });
    const client = createUrql({
      url: server.url,
      getToken: () => tokenFor('alice'),
      transport: { kind: 'graphql-ws', client: wsClient(server, 'not-a-token') },
    });
    const failure = await watchStates(client, op.id, () => undefined).then(
      () => null,
      (error: Error) => error,
    );
    expect(failure?.message).toBe(
      '[Network] The WebSocket closed with 4403: The authorization value is not "Bearer <token>"',
    );
  });
});
