import { describe, expect, it } from 'vitest';
import { gql, mapOps, sseGet, wsClient } from '../helpers/clients.js';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { waitOperation } from '../helpers/wait-operation.js';
import { createWatchToken, watchTokenFor } from '../helpers/watch.js';
import { startNode, untilStatus } from './fixture.js';

const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';
const RENEW = `mutation($token: String!) { renewSession(token: $token) { __typename } }`;

describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `watch links across instances sharing PostgreSQL and Redis${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('a link made on one instance works on another (SSE with access_token, WebSocket with renewal, waitOperation), reads nothing else there, and follows a cancel made on the first', {
      timeout: 120_000,
    }, async () => {
      const env = await clusterEnv();
      const a = await startNode(env);
      const b = await startTestServer(env);
      const op = await a.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 600 } });
      const other = await a.alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
      await untilStatus(a.alice, op.id, 'RUNNING');
      const granted = await createWatchToken(a.url, a.alice.token, op.id);
      const token = granted.token ?? '';
      expect(granted.watchUrl).toBe(`${a.origin}/watch#token=${token}`);

      // On B: the one operation, and nothing else.
      const read = await gql(b.url, token, 'query($id: ID!) { operation(id: $id) { id } }', {
        id: other.id,
      });
      expect(read.body).toEqual({ data: { operation: null } });
      const list = await gql(b.url, token, '{ operations { totalCount } }');
      expect(list.body).toEqual({ data: { operations: { totalCount: 0 } } });
      const cancel = await gql(
        b.url,
        token,
        'mutation($id: ID!) { cancelOperation(input: { id: $id }) { __typename } }',
        { id: op.id },
      );
      expect(cancel.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

      const overSse = await sseGet(b.url, WATCH, { id: op.id }, { access_token: token });
      expect(overSse.status).toBe(200);
      const sseOps = mapOps(overSse.results, 'operationUpdated');
      const ws = wsClient(b.wsUrl, token);
      const wsOps = mapOps(ws.subscribe(WATCH, { id: op.id }).results, 'operationUpdated');
      for (const ops of [sseOps, wsOps]) {
        await ops.until((state) => state.status === 'RUNNING', 30_000);
      }
      const waiting = waitOperation(b.url, token, op.id, 60_000);
      await waitFor(() => b.app.gauges().streams >= 3, 'the wait to hold a feed on B');
      // The socket on B renews with a fresh link made on A.
      const fresh = await watchTokenFor(a.url, a.alice.token, op.id, 7_200);
      const renewed = ws.subscribe(RENEW, { token: fresh }).results;
      expect((await renewed.next()).data).toEqual({
        renewSession: { __typename: 'RenewSessionSuccess' },
      });

      // Cancelled on A: B's streams and its wait follow, to the end.
      await a.alice.cancel(op.id, 'from A');
      for (const ops of [sseOps, wsOps]) {
        const states = await ops.until((state) => state.status === 'CANCELLED', 30_000);
        expect(states.map((state) => state.status)).toContain('CANCELLING');
      }
      const answer = await waiting;
      expect(answer.body.data?.waitOperation).toMatchObject({ id: op.id, status: 'CANCELLED' });

      // An instance with another WATCH_TOKEN_SECRET does not take the link: the key is shared.
      const stranger = await startTestServer({
        ...env,
        WATCH_TOKEN_SECRET: 'another-watch-secret-0123456789-abcdefghijklmn',
      });
      expect((await gql(stranger.url, token, '{ operations { totalCount } }')).status).toBe(401);
    });
  },
);
