import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../src/bus/codec.js';
import { createLogger } from '../../src/logger.js';
import { openPostgres } from '../../src/store/connect.js';
import type { Op } from '../helpers/clients.js';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import type { EventQueue } from '../helpers/queue.js';
import { sayWhySkipped } from '../helpers/services.js';
import {
  claims,
  expectIncreasing,
  expectMatchesLog,
  killNine,
  killSubscriberConnection,
  type Node,
  relay,
  startNode,
  statusRuns,
  type Transport,
  transitionLog,
  untilDone,
  untilProbe,
  untilStatus,
  watchAll,
  watchOne,
  within,
  workerOf,
} from './fixture.js';

const INTERRUPTED = {
  code: 'INTERRUPTED',
  message: 'The process running this operation stopped before it finished.',
};

/** The id inside a Relay global ID, as the database stores it. */
function rawId(id: string): string {
  return Buffer.from(id, 'base64')
    .toString('utf8')
    .replace(/^Operation:/, '');
}

/** Epoch ms of the lease on `id` as stored now (a dead worker's lease never moves again). */
async function leaseExpiry(databaseUrl: string, id: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ lease_expires_at: string | null }>(
      'select lease_expires_at from operations where id = $1',
      [rawId(id)],
    );
    return Number(rows[0]?.lease_expires_at ?? Number.NaN);
  } finally {
    await client.end();
  }
}

sayWhySkipped(CLUSTER_SKIP_REASON, 'instance and Redis faults');
describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `instance and Redis faults${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('kill -9 of the instance running operations: the others take them back after the lease and run its queued PENDING work, nothing twice', async () => {
      const env = await clusterEnv({ LEASE_MS: '1500', CANCEL_GRACE_MS: '60000' });
      const victim = await startNode({ ...env, MAX_CONCURRENT_RUNS: '2', MAX_RUNS_PER_OWNER: '2' });
      const running = await victim.alice.start({
        kind: 'demo.sleep',
        input: { ms: 600_000, steps: 1 },
      });
      const stubborn = await victim.alice.start({
        kind: 'demo.sleep',
        input: { ms: 600_000, steps: 1, ignoreCancel: true },
      });
      await untilStatus(victim.alice, running.id, 'RUNNING');
      await untilStatus(victim.alice, stubborn.id, 'RUNNING');

      // The survivors each take one blocker, so every slot of the cluster is busy.
      const survivors = await Promise.all(
        [0, 1].map(() => startNode({ ...env, MAX_CONCURRENT_RUNS: '1' })),
      );
      const [s1, s2] = survivors as [Node, Node];
      const blockers = await Promise.all(
        survivors.map((node) =>
          node.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } }),
        ),
      );
      for (const blocker of blockers) await untilStatus(s1.alice, blocker.id, 'RUNNING');
      expect(await victim.alice.cancel(stubborn.id, 'too slow')).toMatchObject({
        operation: { status: 'CANCELLING', revision: 3 },
      });
      const queued = await Promise.all(
        [0, 1, 2].map(() =>
          victim.alice.start({ kind: 'demo.sleep', input: { ms: 100, steps: 2 } }),
        ),
      );
      for (const op of queued) {
        expect(await s2.alice.get(op.id)).toMatchObject({ status: 'PENDING', revision: 1 });
      }
      const feeds = await Promise.all([running, stubborn].map((op) => watchOne(s1, 'ws', op.id)));
      for (const feed of feeds) await feed.next();

      const leases = await Promise.all(
        [running, stubborn].map((op) => leaseExpiry(env.DATABASE_URL, op.id)),
      );
      const killedAt = Date.now();
      await killNine(victim);
      // Free the survivors' slots: the queued work is theirs to run.
      for (const blocker of blockers) await s1.alice.cancel(blocker.id);

      const [interrupted, cancelled] = await Promise.all(
        feeds.map(async (feed) => (await within(feed.rest(), 'the takeover', 15_000)).at(-1)),
      );
      const takeoverMs = Date.now() - killedAt;
      expect(interrupted).toMatchObject({ status: 'FAILED', revision: 3, error: INTERRUPTED });
      expect(cancelled).toMatchObject({
        status: 'CANCELLED',
        revision: 4,
        cancelledBy: 'alice',
        error: { code: 'CANCELLED', message: 'too slow' },
      });
      // Not taken back before the dead worker's lease ran out.
      expect(Date.parse(interrupted?.finishedAt ?? '')).toBeGreaterThanOrEqual(leases[0] ?? 0);
      expect(Date.parse(cancelled?.finishedAt ?? '')).toBeGreaterThanOrEqual(leases[1] ?? 0);

      const victimWorker = workerOf(victim);
      const survivorWorker = (actor: string) =>
        survivors.some((node) => workerOf(node).test(actor));
      const runningLog = await transitionLog(s1, running.id);
      expect(runningLog.map((e) => [e.status, e.reason])).toEqual([
        ['PENDING', null],
        ['RUNNING', null],
        ['FAILED', 'INTERRUPTED'],
      ]);
      expect(runningLog[1]?.actor).toMatch(victimWorker);
      expect(runningLog[2]?.actor).toBe('system');
      const stubbornLog = await transitionLog(s2, stubborn.id);
      expect(stubbornLog.map((e) => [e.status, e.actor])).toEqual([
        ['PENDING', 'user:alice'],
        ['RUNNING', expect.stringMatching(victimWorker)],
        ['CANCELLING', 'user:alice'],
        ['CANCELLED', 'system'],
      ]);

      for (const op of queued) {
        expect(await untilDone(s1.alice, op.id)).toMatchObject({
          status: 'SUCCEEDED',
          revision: 5,
          result: { slept: 100 },
        });
        const log = await transitionLog(s2, op.id);
        // Its two progress reports may share one log entry (LOG_PROGRESS_INTERVAL_MS).
        expect(statusRuns(log)).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED']);
        expect(log.map((e) => e.revision)).toEqual(
          log.length === 5 ? [1, 2, 3, 4, 5] : [1, 2, 4, 5],
        );
        expect(survivorWorker(log[1]?.actor ?? '')).toBe(true);
      }
      for (const op of [running, stubborn, ...queued, ...blockers]) {
        expect(claims(await transitionLog(s1, op.id))).toBe(1);
      }
      console.info(`kill -9 → RUNNING taken back (FAILED INTERRUPTED) after ${takeoverMs} ms`);
    });

    it('stale, duplicate and malformed bus messages injected into the channel: subscribers still see each revision once, in order', async () => {
      const env = await clusterEnv({ LEASE_MS: '3000' });
      const [a, b] = await Promise.all([startNode(env), startNode(env)]);
      if (!a || !b) throw new Error('unreachable');
      const op = await a.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 3000 } });
      const feeds = await Promise.all([
        watchOne(b, 'ws', op.id),
        watchOne(b, 'sse', op.id),
        watchOne(a, 'ws', op.id),
      ]);
      const dashboard = await watchAll(b, 'ws');
      const seen: Op[][] = feeds.map(() => []);
      for (const [i, feed] of feeds.entries()) {
        seen[i]?.push(...(await feed.until((s) => s.revision >= 5)));
      }

      // Every state so far, as the transition log holds it, sent again newest first, twice.
      const { store } = await openPostgres(
        env.DATABASE_URL,
        createLogger('error', () => {}),
      );
      const redis = new Redis(env.REDIS_URL);
      // The operation's channel (b's two feeds), alice's (b's dashboard) and the global one.
      const global = `${env.REDIS_PREFIX}operation.changed`;
      const channels = [`${global}:operation:${rawId(op.id)}`, `${global}:owner:alice`, global];
      const inject = async () => {
        const states = (await store.events(rawId(op.id), 0, 10_000)).map((e) => e.state);
        for (const state of [...states].reverse().concat(states)) {
          for (const channel of channels) {
            await redis.publish(channel, encodeEvent('operation.changed', state));
          }
        }
        await redis.publish(`${global}:owner:alice`, '{"id": 1, "status": "SUCCEEDED"}');
        await redis.publish(`${global}:owner:alice`, 'not json');
      };
      try {
        await inject();
        await b.alice.cancel(op.id, 'enough');
        for (const [i, feed] of feeds.entries()) {
          seen[i]?.push(...(await within(feed.rest(), 'the end of the feed', 10_000)));
        }
        // After the end, the whole history once more; then a marker operation on the same channel.
        await inject();
        const marker = await a.alice.start({ kind: 'demo.sleep', input: { ms: 10, steps: 1 } });
        const tail = await dashboard.until((s) => s.id === marker.id && s.done, 10_000);
        const log = await transitionLog(a, op.id);
        for (const states of seen) {
          expect(statusRuns(states)).toEqual(
            ['PENDING', 'RUNNING', 'CANCELLING', 'CANCELLED'].slice(
              states[0]?.status === 'PENDING' ? 0 : 1,
            ),
          );
          expectMatchesLog(states, log, { after: (states[0]?.revision ?? 1) - 1 });
        }
        const ofOp = tail.filter((s) => s.id === op.id);
        expectIncreasing(ofOp);
        expect(ofOp.filter((s) => s.done).map((s) => s.revision)).toEqual([log.at(-1)?.revision]);
        expect(ofOp.at(-1)?.status).toBe('CANCELLED');
        expect(b.lines.filter((l) => l.includes('dropped a malformed bus message'))).toHaveLength(
          4,
        );
      } finally {
        redis.disconnect();
        await store.close();
      }
    });

    it('Redis connections killed during a stream of changes: every subscriber on the other instances gets every status change, in order, once, and the terminal state', async () => {
      const env = await clusterEnv({ LEASE_MS: '3000', CANCEL_GRACE_MS: '60000' });
      // R alone claims every operation (all six of one owner at once); A and B, started later,
      // only watch.
      const runner = await startNode({ ...env, MAX_RUNS_PER_OWNER: '8' });
      const ops = await Promise.all(
        Array.from({ length: 6 }, () =>
          runner.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 3000 } }),
        ),
      );
      for (const op of ops) await untilStatus(runner.alice, op.id, 'RUNNING');
      const [relayA, relayB] = await Promise.all([relay(env.REDIS_URL), relay(env.REDIS_URL)]);
      const [a, b] = await Promise.all([
        startNode({ ...env, REDIS_URL: relayA.url }),
        startNode({ ...env, REDIS_URL: relayB.url }),
      ]);
      if (!a || !b) throw new Error('unreachable');

      interface Watcher {
        readonly what: string;
        readonly feed: EventQueue<Op>;
        readonly seen: Op[];
      }
      const watchers: Watcher[] = [];
      const all: Watcher[] = [];
      for (const node of [a, b]) {
        for (const transport of ['ws', 'sse'] satisfies Transport[]) {
          const name = node === a ? 'A' : 'B';
          for (const op of ops) {
            const feed = await watchOne(node, transport, op.id);
            watchers.push({ what: `${name} ${transport} ${op.id}`, feed, seen: [] });
          }
          all.push({
            what: `${name} ${transport} all`,
            feed: await watchAll(node, transport),
            seen: [],
          });
        }
      }
      // Live: the current state arrived, and the dashboards saw some progress.
      for (const w of [...watchers, ...all]) w.seen.push(await w.feed.next());
      const reading = watchers.map(async (w) => {
        try {
          while (!w.feed.isEnded) w.seen.push(await w.feed.next(15_000));
        } catch (error) {
          if (w.feed.isEnded && w.feed.error === null) return;
          const seen = w.seen.map((s) => `${s.revision}:${s.status}`).join(' ');
          throw new Error(`${w.what} after ${seen}: ${String(error)}`);
        }
      });
      const [first, second, third, fourth, fifth, sixth] = ops;
      if (!first || !second || !third || !fourth || !fifth || !sixth) throw new Error('6 ops');
      await runner.alice.cancel(first.id, 'before the breaks');

      // A's subscriber connection is killed by Redis while cancels are sent through A itself.
      const restoredOnA = a.output.until((line) => line.includes('Redis subscriptions restored'));
      const killed = await killSubscriberConnection(relayA.upstreamAddresses());
      await Promise.all([a.alice.cancel(second.id, 'during the kill'), a.alice.cancel(third.id)]);
      await within(restoredOnA, "A's resubscription");

      // B is cut off while two operations end: their changes are published into B's gap.
      const restoredOnB = b.output.until((line) => line.includes('Redis subscriptions restored'));
      relayB.cut();
      await Promise.all([runner.alice.cancel(fourth.id), runner.alice.cancel(fifth.id)]);
      await untilStatus(runner.alice, fourth.id, 'CANCELLED');
      await untilStatus(runner.alice, fifth.id, 'CANCELLED');
      relayB.restore();
      await within(restoredOnB, "B's resubscription");
      await untilProbe(b, '/readyz', 200);
      await b.alice.cancel(sixth.id, 'after the breaks');
      const outcomes = await Promise.allSettled(reading);
      const stuck = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
      if (stuck.length > 0) {
        const logs = await Promise.all(
          ops.map(async (op) => {
            const log = await transitionLog(runner, op.id);
            return `${op.id}: ${log
              .map((e) => `${e.revision}:${e.status}@${e.time}`)
              .slice(-3)
              .join(' ')}`;
          }),
        );
        const warnings = [a, b].flatMap((node, i) =>
          node.lines.filter((l) => /"level":"(warn|error)"/.test(l)).map((l) => `${'AB'[i]} ${l}`),
        );
        throw new Error([...stuck, ...logs, ...warnings].join('\n'));
      }

      for (const w of watchers) {
        const id = w.seen[0]?.id ?? '';
        expect(statusRuns(w.seen), w.what).toEqual(['RUNNING', 'CANCELLING', 'CANCELLED']);
        expectMatchesLog(w.seen, await transitionLog(runner, id), { after: w.seen[0]?.revision });
      }
      // The dashboards: per operation, revisions only go up, every status change, then the end.
      const finals = new Set(ops.map((op) => op.id));
      for (const w of all) {
        await within(
          w.feed.until((op) => {
            w.seen.push(op);
            return (
              op.status === 'CANCELLED' &&
              finals.size ===
                new Set(w.seen.filter((s) => s.status === 'CANCELLED').map((s) => s.id)).size
            );
          }, 20_000),
          w.what,
          20_000,
        );
        for (const op of ops) {
          const seen = w.seen.filter((s) => s.id === op.id);
          expectIncreasing(seen);
          expect(statusRuns(seen).slice(-2), w.what).toEqual(['CANCELLING', 'CANCELLED']);
          expectMatchesLog(seen, await transitionLog(runner, op.id), {
            after: seen[0]?.revision,
          });
        }
      }
      console.info(`killed A's subscriber connection ${killed}; cut B's relay during two cancels`);
    });
  },
);
