import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { sayWhySkipped } from '../helpers/services.js';
import { type Node, startNode, untilStatus } from './fixture.js';

const START = `mutation($input: StartOperationInput!) { startOperation(input: $input) {
  __typename ... on RateLimitedError { retryAfterMs } ... on Error { message } } }`;

/** `count` concurrent starts of `input`, alternating between the nodes; their result types. */
async function startsAcross(
  nodes: readonly Node[],
  count: number,
  input: Record<string, unknown>,
): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const node = nodes[i % nodes.length];
      if (!node) throw new Error('unreachable');
      const r = await node.alice.gql<{ startOperation: { __typename: string } }>(START, { input });
      if (!r.body.data) throw new Error(`start failed: ${JSON.stringify(r.body)}`);
      return r.body.data.startOperation.__typename;
    }),
  );
}

async function totalOf(node: Node): Promise<number> {
  const r = await node.alice.gql<{ operations: { totalCount: number } }>(
    'query { operations(first: 0) { totalCount } }',
  );
  if (!r.body.data) throw new Error(`list failed: ${JSON.stringify(r.body)}`);
  return r.body.data.operations.totalCount;
}

function tally(types: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of types) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

sayWhySkipped(CLUSTER_SKIP_REASON, 'quotas across server processes sharing one PostgreSQL');
describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `quotas across server processes sharing one PostgreSQL${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('MAX_ACTIVE_PER_OWNER holds under concurrent starts sent to two instances', async () => {
      const env = await clusterEnv({ MAX_ACTIVE_PER_OWNER: '5', START_RATE_PER_MINUTE: '0' });
      const nodes = await Promise.all([startNode(env), startNode(env)]);
      const types = await startsAcross(nodes, 40, {
        kind: 'demo.sleep',
        input: { ms: 600_000, steps: 1 },
      });
      expect(tally(types)).toEqual({ StartOperationSuccess: 5, RateLimitedError: 35 });
      for (const node of nodes) expect(await totalOf(node)).toBe(5);
    });

    it('START_RATE_PER_MINUTE holds under concurrent starts sent to two instances', async () => {
      const env = await clusterEnv({ MAX_ACTIVE_PER_OWNER: '0', START_RATE_PER_MINUTE: '7' });
      const nodes = await Promise.all([startNode(env), startNode(env)]);
      const types = await startsAcross(nodes, 40, {
        kind: 'demo.sleep',
        input: { ms: 1, steps: 1 },
      });
      expect(tally(types)).toEqual({ StartOperationSuccess: 7, RateLimitedError: 33 });
      for (const node of nodes) expect(await totalOf(node)).toBe(7);
    });

    it("two instances run another owner's operation while one owner's long queue waits", async () => {
      // Two slots per instance, one per owner: Ada's queue can take one slot on each.
      const env = await clusterEnv({ MAX_CONCURRENT_RUNS: '2' });
      const nodes = await Promise.all([startNode(env), startNode(env)]);
      const [one, two] = nodes as [Node, Node];
      const long = { kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } };
      const adas = [];
      for (let i = 0; i < 10; i++) adas.push(await (i % 2 ? two : one).alice.start(long));
      await untilStatus(one.alice, adas[0]?.id ?? '', 'RUNNING');
      await untilStatus(one.alice, adas[1]?.id ?? '', 'RUNNING');
      const bob = userClient(two, 'bob');
      const bobs = await bob.start(long);
      // Bob's runs although Ada queued ten before it; Ada still holds one slot per instance.
      await untilStatus(bob, bobs.id, 'RUNNING');
      const states = await Promise.all(adas.map((op) => one.alice.get(op.id)));
      expect(states.filter((op) => op?.status === 'RUNNING')).toHaveLength(2);
    });
  },
);
