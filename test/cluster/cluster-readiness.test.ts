import { describe, expect, it } from 'vitest';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { sayWhySkipped } from '../helpers/services.js';
import {
  expectMatchesLog,
  probe,
  relay,
  startNode,
  statusRuns,
  transitionLog,
  untilDone,
  untilProbe,
  untilStatus,
  viaRelay,
  watchOne,
  within,
  workerOf,
} from './fixture.js';

const OPERATION = `query($id: ID!) { operation(id: $id) { id status revision } }`;
const START = `mutation { startOperation(input: { kind: "demo.sleep", input: { ms: 50, steps: 1 } }) {
  __typename ... on StartOperationSuccess { operation { id status revision } } } }`;

const UNAVAILABLE = {
  message: 'The service is temporarily unavailable; try again shortly.',
  extensions: { code: 'SERVICE_UNAVAILABLE' },
} as const;

sayWhySkipped(CLUSTER_SKIP_REASON, 'readiness and recovery');
describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `readiness and recovery${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('PostgreSQL unreachable: /readyz 503 while /healthz 200, SERVICE_UNAVAILABLE at once instead of a hang, and recovery by itself', async () => {
      const env = await clusterEnv();
      const pgRelay = await relay(env.DATABASE_URL);
      const node = await startNode({ ...env, DATABASE_URL: viaRelay(env.DATABASE_URL, pgRelay) });
      const before = await node.alice.start({ kind: 'demo.sleep', input: { ms: 50, steps: 1 } });
      expect(await untilDone(node.alice, before.id)).toMatchObject({ status: 'SUCCEEDED' });
      expect(await probe(node, '/readyz')).toBe(200);

      pgRelay.cut();
      await untilProbe(node, '/readyz', 503);
      expect(await probe(node, '/healthz')).toBe(200);
      const askedAt = Date.now();
      const [read, write] = await within(
        Promise.all([node.alice.gql(OPERATION, { id: before.id }), node.alice.gql(START)]),
        'answers while PostgreSQL is away',
        8_000,
      );
      const answeredMs = Date.now() - askedAt;
      expect(read.body.data).toEqual({ operation: null });
      expect(write.body.data).toBeNull();
      for (const [response, field] of [
        [read, 'operation'],
        [write, 'startOperation'],
      ] as const) {
        expect(response.status).toBe(503);
        expect(response.body.errors).toEqual([
          expect.objectContaining({
            ...UNAVAILABLE,
            path: [field],
            extensions: { ...UNAVAILABLE.extensions, requestId: expect.any(String) },
          }),
        ]);
      }

      pgRelay.restore();
      await untilProbe(node, '/readyz', 200);
      expect(await node.alice.get(before.id)).toMatchObject({ status: 'SUCCEEDED', revision: 4 });
      const after = await node.alice.start({ kind: 'demo.sleep', input: { ms: 50, steps: 1 } });
      expect(await untilDone(node.alice, after.id)).toMatchObject({ status: 'SUCCEEDED' });
      expect(node.child.exitCode).toBeNull();
      console.info(`PostgreSQL away: SERVICE_UNAVAILABLE answered in ${answeredMs} ms`);
    });

    it('Redis unreachable: /readyz 503, mutations still succeed, a cancel still stops the remote handler, and after it returns /readyz 200 and subscribers converge', async () => {
      // Leases renewed every 500 ms: the renewal is how the cancel reaches the runner meanwhile.
      const env = await clusterEnv({ LEASE_MS: '1500', CANCEL_GRACE_MS: '60000' });
      const [relayR, relayZ] = await Promise.all([relay(env.REDIS_URL), relay(env.REDIS_URL)]);
      const runner = await startNode({ ...env, REDIS_URL: relayR.url });
      const op = await runner.alice.start({
        kind: 'demo.sleep',
        input: { ms: 600_000, steps: 1 },
      });
      await untilStatus(runner.alice, op.id, 'RUNNING');
      const other = await startNode({ ...env, REDIS_URL: relayZ.url });
      const feeds = await Promise.all([
        watchOne(other, 'ws', op.id),
        watchOne(other, 'sse', op.id),
        watchOne(runner, 'ws', op.id),
      ]);
      for (const feed of feeds) expect(await feed.next()).toMatchObject({ status: 'RUNNING' });
      const restored = [runner, other].map((node) =>
        node.output.until((line) => line.includes('Redis subscriptions restored'), 30_000),
      );

      relayR.cut();
      relayZ.cut();
      for (const node of [runner, other]) {
        await untilProbe(node, '/readyz', 503);
        expect(await probe(node, '/healthz')).toBe(200);
      }
      const started = await other.alice.start({
        kind: 'demo.sleep',
        input: { ms: 50, steps: 1 },
      });
      expect(started).toMatchObject({ status: 'PENDING', revision: 1 });
      expect(await other.alice.cancel(op.id, 'during the outage')).toMatchObject({
        __typename: 'CancelOperationSuccess',
        operation: { status: 'CANCELLING', revision: 3 },
      });
      // The runner hears of it from its lease renewal, aborts the handler and records the end.
      const cancelled = await untilStatus(other.alice, op.id, 'CANCELLED');
      expect(cancelled).toMatchObject({
        revision: 4,
        error: { code: 'CANCELLED', message: 'during the outage' },
      });
      const log = await transitionLog(other, op.id);
      expect(log[3]?.actor).toMatch(workerOf(runner));
      expect(await untilDone(other.alice, started.id)).toMatchObject({ status: 'SUCCEEDED' });
      for (const node of [runner, other]) expect(await probe(node, '/readyz')).toBe(503);

      relayR.restore();
      relayZ.restore();
      await within(Promise.all(restored), 'both instances to resubscribe', 30_000);
      for (const node of [runner, other]) await untilProbe(node, '/readyz', 200);
      for (const feed of feeds) {
        const seen = await within(feed.rest(), 'the feed to converge', 10_000);
        expect(statusRuns(seen)).toEqual(['CANCELLING', 'CANCELLED']);
        expectMatchesLog(seen, log, { after: 2 });
      }
      // Live again across instances: a change made on one reaches a subscriber on the other.
      const next = await runner.alice.start({
        kind: 'demo.sleep',
        input: { ms: 600_000, steps: 1 },
      });
      const watched = await watchOne(other, 'ws', next.id);
      await watched.until((s) => s.status === 'RUNNING');
      await runner.alice.cancel(next.id);
      const tail = await within(watched.rest(), 'the cancel of a new operation', 10_000);
      expect(statusRuns(tail)).toEqual(['CANCELLING', 'CANCELLED']);
    });
  },
);
