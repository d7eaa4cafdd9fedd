import { describe, expect, it } from 'vitest';
import type { Op } from '../helpers/clients.js';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { sayWhySkipped } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import {
  expectIncreasing,
  type Node,
  startNode,
  statusRuns,
  transitionLog,
  untilDone,
  untilStatus,
  watchAll,
  watchOne,
  within,
} from './fixture.js';

/** What `/readyz` says the instance's event bus received. */
interface BusCounts {
  received: {
    'operation.changed': number;
    'operation.cancel': number;
    'operation.pending': number;
  };
  malformed: number;
}

/** What `/readyz` says of the feed's log re-reads. */
interface LogRereads {
  reads: number;
  entries: number;
}

async function readyz(node: Node): Promise<{ bus: BusCounts; log: LogRereads }> {
  const response = await fetch(`${node.origin}/readyz`);
  return (await response.json()) as { bus: BusCounts; log: LogRereads };
}

async function busCounts(node: Node): Promise<BusCounts> {
  return (await readyz(node)).bus;
}

async function logRereads(node: Node): Promise<LogRereads> {
  return (await readyz(node)).log;
}

/** Resolves once `node` has made `more` log re-reads (2 s apart) since `from`. */
async function rereadsPast(node: Node, from: LogRereads, more: number): Promise<LogRereads> {
  return waitFor(async () => {
    const now = await logRereads(node);
    return now.reads >= from.reads + more ? now : null;
  }, `${more} more log re-reads`);
}

const WATCHED = 8;
const UNWATCHED = 8;

sayWhySkipped(CLUSTER_SKIP_REASON, 'bus traffic of a three-instance cluster');
describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `bus traffic of a three-instance cluster${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('with every subscriber on one instance, the other two receive none of the changes, only the cancels of what they run and one announcement per new operation; the watching one sees every status change and re-reads from the log only what it watches', {
      timeout: 180_000,
    }, async () => {
      const env = await clusterEnv({ LEASE_MS: '3000', CANCEL_GRACE_MS: '60000' });
      const nodes = [await startNode(env), await startNode(env), await startNode(env)];
      const [watching, b, c] = nodes as [Node, Node, Node];
      const others = [b, c];

      // alice's dashboard on the watching instance; a first operation shows it is live.
      const dashboard = await watchAll(watching, 'ws');
      const marker = await watching.alice.start({
        kind: 'demo.sleep',
        input: { ms: 10, steps: 1 },
      });
      await dashboard.until((s) => s.id === marker.id && s.done, 20_000);

      // alice's operations, started over the other two instances and watched one by one on the
      // watching instance; root's run to the end there with nobody watching.
      const watched: Op[] = [];
      for (let i = 0; i < WATCHED; i++) {
        const via = others[i % 2] as Node;
        watched.push(
          await via.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } }),
        );
      }
      const feeds = await Promise.all(watched.map((op) => watchOne(watching, 'ws', op.id)));
      const unwatched: Op[] = [];
      for (let i = 0; i < UNWATCHED; i++) {
        const via = others[i % 2] as Node;
        unwatched.push(await via.admin.start({ kind: 'demo.sleep', input: { ms: 20, steps: 1 } }));
      }
      for (const [i, op] of watched.entries()) {
        await untilStatus(watching.alice, op.id, 'RUNNING');
        await feeds[i]?.until((s) => s.status === 'RUNNING', 20_000);
      }
      // Cancelled over the instance that did not start it: whoever runs it hears the cancel.
      for (const [i, op] of watched.entries()) {
        const via = others[(i + 1) % 2] as Node;
        expect(await via.alice.cancel(op.id, 'scale-out')).toMatchObject({
          __typename: 'CancelOperationSuccess',
        });
      }
      for (const [i, feed] of feeds.entries()) {
        const seen = await within(feed.rest(), 'the feed of a cancelled operation', 30_000);
        expect(statusRuns(seen)).toEqual(['CANCELLING', 'CANCELLED']);
        expect(seen.at(-1)?.revision).toBe(4);
        expect(watched[i]).toBeDefined();
      }
      for (const op of unwatched) await untilDone(b.admin, op.id);
      const last = watched.at(-1) as Op;
      const tail = await dashboard.until((s) => s.id === last.id && s.done, 20_000);
      for (const op of watched) {
        const states = tail.filter((s) => s.id === op.id);
        expectIncreasing(states);
        expect(statusRuns(states)).toEqual(['PENDING', 'RUNNING', 'CANCELLING', 'CANCELLED']);
      }
      expect(tail.some((s) => unwatched.some((op) => op.id === s.id))).toBe(false);
      // The handlers were aborted by whoever ran them (the cancel reached that instance).
      for (const op of watched) {
        const log = await transitionLog(watching, op.id);
        expect(log.at(-1)).toMatchObject({ status: 'CANCELLED', revision: 4 });
        expect(log[3]?.actor).toBe(log[1]?.actor);
      }

      const [mine, ...theirs] = await Promise.all(nodes.map(busCounts));
      const created = 1 + WATCHED + UNWATCHED;
      // Every change of alice's operations arrived once on her channel and, once watched, on the
      // operation's own: never more than twice each. root's never arrived.
      const aliceChanges = 4 * (1 + WATCHED);
      const changed = mine?.received['operation.changed'] ?? 0;
      expect(changed).toBeGreaterThanOrEqual(aliceChanges);
      expect(changed).toBeLessThanOrEqual(2 * aliceChanges);
      for (const counts of theirs) expect(counts.received['operation.changed']).toBe(0);
      // Each cancel went to the one instance running the operation, and no other.
      const cancels = [mine, ...theirs].map((counts) => counts?.received['operation.cancel'] ?? 0);
      expect(cancels.reduce((sum, n) => sum + n, 0)).toBe(WATCHED);
      // Every runner hears once of each new operation, whatever its size: that is all it needs.
      for (const counts of [mine, ...theirs]) {
        expect(counts?.received['operation.pending']).toBe(created);
        expect(counts?.malformed).toBe(0);
      }

      // The log re-reads (every 2 s, about the last 6 s) ask only for what an instance's streams
      // watch: alice's dashboard is still open on the watching instance, so it keeps re-reading,
      // but root's changes made once alice's are out of its window add no entry to its reads.
      // The other two, with no stream, never re-read.
      const quiet = await rereadsPast(watching, await logRereads(watching), 4);
      const rootOps: Op[] = [];
      for (let i = 0; i < UNWATCHED; i++) {
        rootOps.push(await b.admin.start({ kind: 'demo.sleep', input: { ms: 20, steps: 1 } }));
      }
      for (const op of rootOps) await untilDone(b.admin, op.id);
      const after = await rereadsPast(watching, await logRereads(watching), 3);
      expect(after.entries).toBe(quiet.entries);
      for (const node of others) expect(await logRereads(node)).toEqual({ reads: 0, entries: 0 });
      console.info(
        `bus messages received (changed/cancel/pending): ${[mine, ...theirs]
          .map((n) => Object.values(n?.received ?? {}).join('/'))
          .join(', ')} for ${4 * created} changes`,
      );
    });
  },
);
