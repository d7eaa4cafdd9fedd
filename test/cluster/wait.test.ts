import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { waitOperation } from '../helpers/wait-operation.js';
import { startNode, untilStatus, within } from './fixture.js';

/** Resolves once `count` live feeds are open on `server` (a wait holds one while it waits). */
function feeds(server: TestServer, count: number, what: string) {
  return waitFor(() => server.app.gauges().streams === count, what);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `waitOperation across instances sharing PostgreSQL and Redis${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    // A server process and five runs to start on a shared machine: room for them.
    it('answers within 100 ms (250 ms on a loaded machine) of the terminal state committed by another instance', {
      timeout: 120_000,
    }, async () => {
      // Leases and grace long enough that only the live cancel message ends the runs.
      const env = await clusterEnv({ LEASE_MS: '60000', CANCEL_GRACE_MS: '60000' });
      // A alone first, so the operations certainly run there (all five of one owner at once); B,
      // in this process, only waits.
      const a = await startNode({ ...env, MAX_RUNS_PER_OWNER: '8' });
      const ops = [];
      for (let i = 0; i < 5; i++) {
        ops.push(await a.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } }));
      }
      for (const op of ops) await untilStatus(a.alice, op.id, 'RUNNING');
      const b = await startTestServer(env);
      const alice = userClient(b, 'alice');

      const delays: number[] = [];
      for (const op of ops) {
        const answer = waitOperation(b.url, alice.token, op.id, 60_000);
        await feeds(b, 1, 'the wait on B to listen');
        const cancelled = await a.alice.cancel(op.id, 'enough');
        expect(cancelled.__typename).toBe('CancelOperationSuccess');
        const { body, at } = await within(answer, 'the wait on B to answer', 20_000);
        const final = body.data?.waitOperation;
        expect(final).toMatchObject({ id: op.id, status: 'CANCELLED', done: true });
        // updatedAt is stamped by A's runner before its commit: the delay below also counts
        // the commit, the publish, B's feed and the HTTP answer.
        delays.push(at - Date.parse(final?.updatedAt ?? ''));
        await feeds(b, 0, 'the wait on B to let go of its feed');
      }
      // The goal is 100 ms; the live path (commit on A, PUBLISH, B's subscriber, the feed, the
      // resolver, HTTP on loopback) takes a few tens of milliseconds on an idle machine. The
      // bounds leave room for a loaded two-core machine (other suites, other processes: samples
      // of 77-145 ms were seen at a load average of 19): the median of five stays within 250 ms,
      // and every sample under a second, which is below the feed's 2 s re-read of the log, so
      // each answer was woken by the live message and not by that fallback or the timeout.
      process.stdout.write(`waitOperation cross-instance delays (ms): ${delays.join(', ')}\n`);
      expect(median(delays)).toBeLessThanOrEqual(250);
      for (const delay of delays) expect(delay).toBeLessThan(1_000);
    });

    it('holds no pooled connection while it waits: more waits than the pool has connections', async () => {
      const env = await clusterEnv();
      const server = await startTestServer(env);
      const alice = userClient(server, 'alice');
      const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
      await untilStatus(alice, op.id, 'RUNNING');
      // The pool holds at most 10 connections (store/connect.ts): 15 waits holding one each
      // would leave none for anyone, and five of them would not even start.
      const waits = Array.from({ length: 15 }, () =>
        waitOperation(server.url, alice.token, op.id, 60_000),
      );
      await feeds(server, 15, 'fifteen waits to listen');
      const database = new URL(env.DATABASE_URL).pathname.slice(1);
      const admin = new pg.Client({ connectionString: env.DATABASE_URL });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ state: string | null; count: string }>(
          `select state, count(*) from pg_stat_activity
            where datname = $1 and application_name = 'longrun' and pid <> pg_backend_pid()
            group by state`,
          [database],
        );
        // Idle connections wait in the pool; none is running a query or inside a transaction.
        expect(rows.filter((row) => row.state !== 'idle')).toEqual([]);
        expect(rows.reduce((sum, row) => sum + Number(row.count), 0)).toBeLessThanOrEqual(10);
      } finally {
        await admin.end();
      }
      // Reads and writes go on meanwhile.
      expect((await within(alice.get(op.id), 'a read during the waits', 10_000))?.status).toBe(
        'RUNNING',
      );
      await alice.cancel(op.id);
      const answers = await within(Promise.all(waits), 'every wait to answer', 20_000);
      for (const { body } of answers) expect(body.data?.waitOperation?.status).toBe('CANCELLED');
      await feeds(server, 0, 'every wait to let go of its feed');
    });
  },
);
