import { describe, expect, it } from 'vitest';
import { type UserClient, userClient } from '../helpers/clients.js';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { startTestServer } from '../helpers/server.js';
import { startNode, untilStatus, watchOne } from './fixture.js';

const RETRY = `mutation($id: ID!) { retryOperation(input: { id: $id }) {
  __typename
  ... on RetryOperationSuccess { operation { id status ownerId input retryOf { id status } } }
  ... on RateLimitedError { retryAfterMs }
  ... on Error { message } } }`;

interface Retried {
  __typename: string;
  operation?: {
    id: string;
    status: string;
    ownerId: string;
    input: unknown;
    retryOf: { id: string; status: string } | null;
  };
  retryAfterMs?: number;
  message?: string;
}

async function retry(client: UserClient, id: string): Promise<Retried> {
  const r = await client.gql<{ retryOperation: Retried }>(RETRY, { id });
  if (!r.body.data) throw new Error(`retryOperation failed: ${JSON.stringify(r.body)}`);
  return r.body.data.retryOperation;
}

async function retryOf(client: UserClient, id: string) {
  const r = await client.gql<{ operation: { retryOf: { id: string } | null } | null }>(
    'query($id: ID!) { operation(id: $id) { retryOf { id } } }',
    { id },
  );
  return r.body.data?.operation?.retryOf ?? null;
}

describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `retryOperation across instances sharing PostgreSQL and Redis${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('retries on one instance what ran on another; both read retryOf; the start quota counts the retries of every instance', {
      timeout: 120_000,
    }, async () => {
      const env = await clusterEnv({ START_RATE_PER_MINUTE: '3' });
      const a = await startNode(env);
      const input = { ms: 0, steps: 1, ignoreCancel: false, fail: 'flaky upstream' };
      const failed = await a.alice.start({ kind: 'demo.sleep', input });
      await untilStatus(a.alice, failed.id, 'FAILED');
      const b = await startTestServer(env);
      const alice = userClient(b, 'alice');

      const onB = await retry(alice, failed.id);
      expect(onB.operation).toMatchObject({
        status: 'PENDING',
        ownerId: 'alice',
        input,
        retryOf: { id: failed.id, status: 'FAILED' },
      });
      const newId = onB.operation?.id ?? '';
      // A sees it, follows it to its end, and links it back to the first run.
      const ops = await watchOne(a, 'ws', newId);
      const states = await ops.rest();
      expect(states.at(-1)).toMatchObject({ id: newId, status: 'FAILED' });
      expect(await retryOf(a.alice, newId)).toEqual({ id: failed.id });
      expect(await retryOf(alice, newId)).toEqual({ id: failed.id });

      // Three starts in the minute across both instances: the start on A, the retry on B, and a
      // retry on A. The next retry, on B, is refused and stores nothing.
      const onA = await retry(a.alice, newId);
      expect(onA.operation?.retryOf).toMatchObject({ id: newId });
      const refused = await retry(alice, failed.id);
      expect(refused.__typename).toBe('RateLimitedError');
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      const total = await a.admin.gql<{ operations: { totalCount: number } }>(
        '{ operations { totalCount } }',
      );
      expect(total.body.data?.operations.totalCount).toBe(3);
    });
  },
);
