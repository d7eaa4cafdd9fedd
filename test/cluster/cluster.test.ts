import { describe, expect, it } from 'vitest';
import type { Op } from '../helpers/clients.js';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { sayWhySkipped } from '../helpers/services.js';
import {
  claims,
  expectMatchesLog,
  type LogEntry,
  type Node,
  startNode,
  transitionLog,
  untilDone,
  untilStatus,
  watchOne,
  within,
  workerOf,
} from './fixture.js';

sayWhySkipped(CLUSTER_SKIP_REASON, 'server processes sharing one PostgreSQL and one Redis');
describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `server processes sharing one PostgreSQL and one Redis${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('a subscriber on A sees a cancel sent to B of an operation running on C, and C aborts its handler', async () => {
      // Leases renewed every 20 s: within this test only the live cancel message can reach C.
      const env = await clusterEnv({ LEASE_MS: '60000', CANCEL_GRACE_MS: '60000' });
      // C starts alone, so the operation is certainly C's before A and B exist.
      const c = await startNode(env);
      const op = await c.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
      const running = await untilStatus(c.alice, op.id, 'RUNNING');
      const [a, b] = await Promise.all([startNode(env), startNode(env)]);
      if (!a || !b) throw new Error('unreachable');

      const ws = a.alice.watchWs(op.id);
      const stream = await a.alice.watchSse(op.id);
      expect(stream.status).toBe(200);
      for (const feed of [ws.ops, stream.ops]) {
        expect(await feed.next()).toMatchObject({ status: 'RUNNING', revision: running.revision });
      }

      const sentAt = Date.now();
      const cancel = await b.alice.cancel(op.id, 'moved to another region');
      expect(cancel).toMatchObject({
        __typename: 'CancelOperationSuccess',
        operation: { status: 'CANCELLING', revision: 3, cancelledBy: 'alice' },
      });
      const [viaWs, viaSse] = await Promise.all([
        within(ws.ops.rest(), 'the rest of the WebSocket feed', 10_000),
        within(stream.ops.rest(), 'the rest of the SSE feed', 10_000),
      ]);
      const latencyMs = Date.now() - sentAt;
      const expected = {
        status: 'CANCELLED',
        revision: 4,
        done: true,
        cancelledBy: 'alice',
        cancelReason: 'moved to another region',
        error: { code: 'CANCELLED', message: 'moved to another region' },
        result: null,
      };
      for (const seen of [viaWs, viaSse]) {
        expect(seen.map((s) => [s.revision, s.status])).toEqual([
          [3, 'CANCELLING'],
          [4, 'CANCELLED'],
        ]);
        expect(seen[1]).toMatchObject(expected);
      }
      expect(await b.alice.get(op.id)).toMatchObject(expected);
      // B wrote CANCELLING and C the end: cancelled again through B, it answers the stored state,
      // not the one B wrote last.
      expect(await b.alice.cancel(op.id, 'again')).toMatchObject({
        __typename: 'CancelOperationSuccess',
        operation: { status: 'CANCELLED', revision: 4, cancelReason: 'moved to another region' },
      });

      const log = await transitionLog(a, op.id, 2);
      expect(log.map(({ revision, status, reason }) => ({ revision, status, reason }))).toEqual([
        { revision: 1, status: 'PENDING', reason: null },
        { revision: 2, status: 'RUNNING', reason: null },
        { revision: 3, status: 'CANCELLING', reason: 'moved to another region' },
        { revision: 4, status: 'CANCELLED', reason: 'moved to another region' },
      ]);
      expect(log[0]?.actor).toBe('user:alice');
      expect(log[1]?.actor).toMatch(workerOf(c));
      expect(log[2]?.actor).toBe('user:alice');
      // C's handler rejected on its AbortSignal and C's worker recorded the end: not CANCEL_FORCED.
      expect(log[3]?.actor).toBe(log[1]?.actor);
      expect(claims(log)).toBe(1);
      expectMatchesLog(viaWs, log, { after: 2 });
      console.info(`cross-instance cancel → CANCELLED on A's feeds: ${latencyMs} ms`);
    });

    it('a client resumes on another instance with afterRevision and gets exactly what it missed; Operation.events pages the same log', async () => {
      // Every progress report logged, so the replay and the log are exact.
      const env = { ...(await clusterEnv()), LOG_PROGRESS_INTERVAL_MS: '0' };
      const [a, b] = await Promise.all([startNode(env), startNode(env)]);
      if (!a || !b) throw new Error('unreachable');

      // Only status changes: nothing may be coalesced, so the replay is exact.
      const op = await a.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
      const first = await watchOne(a, 'ws', op.id);
      const before = await first.until((s) => s.status === 'RUNNING');
      expect(before.at(-1)?.revision).toBe(2);
      expect(before.map((s) => s.status)).toEqual(
        before[0]?.revision === 1 ? ['PENDING', 'RUNNING'] : ['RUNNING'],
      );
      expect(await b.alice.cancel(op.id, 'resume test')).toMatchObject({
        operation: { status: 'CANCELLING', revision: 3 },
      });
      await untilDone(b.alice, op.id);
      for (const transport of ['ws', 'sse'] as const) {
        const resumed = await (await watchOne(b, transport, op.id, 2)).rest();
        expect(
          resumed.map((s) => [s.revision, s.status]),
          transport,
        ).toEqual([
          [3, 'CANCELLING'],
          [4, 'CANCELLED'],
        ]);
        expect(resumed[1]).toMatchObject({ cancelledBy: 'alice', error: { code: 'CANCELLED' } });
        // From the start, and from the end of a done operation (nothing left: it just completes).
        const all = await (await watchOne(a, transport, op.id, 0)).rest();
        expect(
          all.map((s) => s.status),
          transport,
        ).toEqual(['PENDING', 'RUNNING', 'CANCELLING', 'CANCELLED']);
        expect(await (await watchOne(b, transport, op.id, 4)).rest(), transport).toEqual([]);
      }

      // A live one with progress: leave after a few revisions, resume on the other instance.
      const live = await a.alice.start({ kind: 'demo.sleep', input: { ms: 3000, steps: 15 } });
      const early = await watchOne(a, 'ws', live.id);
      const seenOnA = await early.until((s) => s.revision >= 4);
      const k = seenOnA.at(-1)?.revision ?? 0;
      const resumed = await Promise.all(
        (['ws', 'sse'] as const).map(async (transport) =>
          (await watchOne(b, transport, live.id, k)).rest(),
        ),
      );
      const log = await transitionLog(b, live.id);
      const paged = await transitionLog(a, live.id, 3);
      expect(paged).toEqual(log);
      // PENDING, RUNNING, 15 progress revisions, SUCCEEDED: one entry per revision, in order.
      expect(log.map((entry) => entry.revision)).toEqual(
        Array.from({ length: 18 }, (_, i) => i + 1),
      );
      expect(log.map((entry) => entry.status)).toEqual([
        'PENDING',
        ...Array<string>(16).fill('RUNNING'),
        'SUCCEEDED',
      ]);
      const worker = log[1]?.actor ?? '';
      expect(worker).toMatch(/^worker:[0-9a-f]{12}$/);
      expect(log.slice(2)).toEqual(
        log.slice(2).map(
          (entry, i): LogEntry => ({
            revision: i + 3,
            status: i < 15 ? 'RUNNING' : 'SUCCEEDED',
            progress: i < 15 ? (i + 1) / 15 : 1,
            actor: worker,
            reason: null,
            time: entry.time,
          }),
        ),
      );
      expect(log.map((entry) => Date.parse(entry.time))).toEqual(
        log.map((entry) => Date.parse(entry.time)).sort((x, y) => x - y),
      );
      expectMatchesLog(seenOnA, log, { after: (seenOnA[0]?.revision ?? 1) - 1, complete: false });
      for (const seen of resumed) {
        expect(seen[0]?.revision).toBe(k + 1);
        expect(seen.at(-1)).toMatchObject({
          status: 'SUCCEEDED',
          revision: 18,
          result: { slept: 3000 },
        });
        expectMatchesLog(seen, log, { after: k });
      }
    });

    it('two instances started together on an empty database both serve (one migrates), a reply from one is at once visible on the other, and 50 concurrent cancels over both make one transition', async () => {
      const env = await clusterEnv();
      const nodes = await Promise.all([startNode(env), startNode(env)]);
      const migrated = nodes.map(
        (node) => node.lines.filter((line) => line.includes('Applied database migration.')).length,
      );
      expect(migrated.filter((count) => count > 0)).toHaveLength(1);
      expect(migrated.filter((count) => count === 0)).toHaveLength(1);

      for (let i = 0; i < 20; i++) {
        const [writer, reader] = i % 2 === 0 ? nodes : [...nodes].reverse();
        if (!writer || !reader) throw new Error('unreachable');
        const op = await writer.alice.start({
          kind: 'demo.sleep',
          input: { ms: 600_000, steps: 1 },
        });
        expect((await reader.alice.get(op.id))?.revision).toBeGreaterThanOrEqual(op.revision);
        const cancel = await writer.alice.cancel(op.id);
        const after = cancel.operation;
        if (!after) throw new Error(JSON.stringify(cancel));
        expect(['CANCELLING', 'CANCELLED']).toContain(after.status);
        const read = await reader.alice.get(op.id);
        expect(read?.revision).toBeGreaterThanOrEqual(after.revision);
        expect(read?.cancelledBy).toBe('alice');
      }

      // 50 concurrent cancels of one RUNNING operation over both instances, by two users.
      const [one, two] = nodes as [Node, Node];
      const target = await one.alice.start({
        kind: 'demo.sleep',
        input: { ms: 600_000, steps: 1 },
      });
      await untilStatus(two.alice, target.id, 'RUNNING');
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const node = i % 2 === 0 ? one : two;
          return (i % 4 < 2 ? node.alice : node.admin).cancel(target.id, `cancel ${i}`);
        }),
      );
      const winners = new Set(
        replies.map(
          (r) => `${r.__typename} ${r.operation?.cancelledBy} ${r.operation?.cancelReason}`,
        ),
      );
      expect(winners.size).toBe(1);
      expect([...winners][0]).toMatch(/^CancelOperationSuccess (alice|root) cancel \d+$/);
      await untilStatus(two.alice, target.id, 'CANCELLED');
      const log = await transitionLog(one, target.id);
      expect(log.map((e) => [e.revision, e.status])).toEqual([
        [1, 'PENDING'],
        [2, 'RUNNING'],
        [3, 'CANCELLING'],
        [4, 'CANCELLED'],
      ]);
      expect(`CancelOperationSuccess ${log[2]?.actor.replace('user:', '')} ${log[2]?.reason}`).toBe(
        [...winners][0],
      );
    });

    it('two instances × MAX_CONCURRENT_RUNS=4 run each of 100 quick operations exactly once', async () => {
      const env = await clusterEnv({ MAX_CONCURRENT_RUNS: '4', MAX_RUNS_PER_OWNER: '4' });
      const nodes = await Promise.all([startNode(env), startNode(env)]);
      const [one, two] = nodes as [Node, Node];
      const started: Op[] = [];
      for (let batch = 0; batch < 5; batch++) {
        started.push(
          ...(await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              (i % 2 === 0 ? one : two).alice.start({
                kind: 'demo.sleep',
                input: { ms: 20, steps: 1 },
              }),
            ),
          )),
        );
      }
      expect(started.every((op) => op.status === 'PENDING' && op.revision === 1)).toBe(true);
      for (const op of started) await untilDone(one.alice, op.id);

      // Two pages of 50: a page of 100 with ten log entries each costs more than MAX_QUERY_COST.
      type Listed = {
        totalCount: number;
        pageInfo: { endCursor: string | null };
        edges: Array<{
          node: {
            id: string;
            status: string;
            revision: number;
            events: { edges: Array<{ node: LogEntry }> };
          };
        }>;
      };
      const pages: Listed[] = [];
      for (let after: string | null = null, i = 0; i < 2; i++) {
        const r: { body: { data?: { operations: Listed } | null; errors?: unknown } } =
          await two.alice.gql<{ operations: Listed }>(
            `query ($after: String) { operations(first: 50, after: $after) {
              totalCount pageInfo { endCursor } edges { node { id status revision
              events(first: 10) { edges { node { revision status progress actor reason time } } } } } } }`,
            { after },
          );
        expect(r.body.errors).toBeUndefined();
        const page = r.body.data?.operations;
        if (page === undefined) throw new Error('no page of operations');
        pages.push(page);
        after = page.pageInfo.endCursor;
      }
      const listed = { totalCount: pages[0]?.totalCount, edges: pages.flatMap((p) => p.edges) };
      expect(listed.totalCount).toBe(100);
      expect(new Set(listed.edges.map(({ node }) => node.id)).size).toBe(100);
      const runners = new Map<string, number>();
      for (const { node } of listed.edges) {
        const log = node.events.edges.map((edge) => edge.node);
        expect({ status: node.status, revision: node.revision }).toEqual({
          status: 'SUCCEEDED',
          revision: 4,
        });
        expect(log.map((entry) => entry.status)).toEqual([
          'PENDING',
          'RUNNING',
          'RUNNING',
          'SUCCEEDED',
        ]);
        expect(claims(log)).toBe(1);
        const actor = log[1]?.actor ?? '';
        expect(log.slice(2).map((entry) => entry.actor)).toEqual([actor, actor]);
        runners.set(actor, (runners.get(actor) ?? 0) + 1);
      }
      const byNode = nodes.map((node) =>
        [...runners]
          .filter(([actor]) => workerOf(node).test(actor))
          .reduce((sum, [, n]) => sum + n, 0),
      );
      expect((byNode[0] ?? 0) + (byNode[1] ?? 0)).toBe(100);
      expect(byNode.every((count) => count > 0)).toBe(true);
      console.info(`100 operations over two instances × 4 runs: ${byNode.join(' + ')}`);
    });
  },
);
