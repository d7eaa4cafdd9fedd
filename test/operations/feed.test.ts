import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Viewer } from '../../src/auth/viewer.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createLogger } from '../../src/logger.js';
import { createFeed } from '../../src/operations/feed.js';
import type { OperationRecord } from '../../src/operations/model.js';
import { newOperationId } from '../../src/operations/new-id.js';
import * as t from '../../src/operations/transitions.js';
import { openSqlite } from '../../src/store/connect.js';

// A live message lost on the bus (Redis drops them across reconnects) must not cost a subscriber a
// status change: the feed fills the gap from the transition log. Here the bus is the in-process one
// and the loss is made by committing without publishing; the store is a real SQLite file.

const quiet = createLogger('error', () => {});
const alice: Viewer = { id: 'alice', isAdmin: false, expiresAt: new Date(Date.now() + 3_600_000) };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp() {
  const dir = await mkdtemp(join(tmpdir(), 'longrun-feed-'));
  const { store } = await openSqlite(join(dir, 'longrun.sqlite'), quiet);
  const bus = createMemoryBus(() => undefined);
  const feed = createFeed(store, bus, quiet);
  await feed.start();
  cleanups.push(async () => {
    feed.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  let current = t.create(
    {
      id: newOperationId(),
      kind: 'k',
      ownerId: 'alice',
      input: null,
      idempotencyKey: null,
      timeoutMs: null,
      retryOf: null,
    },
    new Date(),
  );
  await store.insert(current, new Date(0), { actor: 'user:alice', reason: null });
  /** Commits one change; `publish: false` loses its live message. */
  const step = async (decide: (op: OperationRecord) => t.Outcome, publish: boolean) => {
    const outcome = decide(current);
    if (outcome.kind !== 'changed') throw new Error('no change');
    expect(
      await store.update(
        outcome.next,
        { revision: current.revision },
        { actor: 'system', reason: null },
      ),
    ).toBe(true);
    current = outcome.next;
    if (publish) await bus.publish('operation.changed', current);
    return current;
  };
  return { store, bus, feed, step, id: () => current.id };
}

async function readAll(stream: AsyncIterableIterator<OperationRecord>): Promise<OperationRecord[]> {
  const seen: OperationRecord[] = [];
  for await (const record of stream) seen.push(record);
  return seen;
}

const lease = { owner: 'w', expiresAt: new Date(Date.now() + 60_000) };

describe('the feed over a lossy bus', () => {
  it('replays lost revisions from the log when a later one arrives', async () => {
    const { feed, step, id } = await setUp();
    const stream = await feed.watchOne(alice, id(), id(), new AbortController().signal);
    const reading = readAll(stream);
    await step((op) => t.claim(op, lease, new Date()), true); // 2 RUNNING
    await step((op) => t.cancel(op, 'alice', 'stop', new Date()), false); // 3 CANCELLING: lost
    await step((op) => t.progress(op, 0.5, 'half', new Date()), false); // 4: lost
    await step((op) => t.handlerStopped(op, { cause: 'error', message: 'x' }, new Date()), true); // 5
    const seen = await reading;
    expect(seen.map((op) => [op.revision, op.status])).toEqual([
      [1, 'PENDING'],
      [2, 'RUNNING'],
      [3, 'CANCELLING'],
      [4, 'CANCELLING'],
      [5, 'CANCELLED'],
    ]);
  });

  it('resumes after a revision from the log (afterRevision), status changes all there', async () => {
    const { feed, step, id } = await setUp();
    await step((op) => t.claim(op, lease, new Date()), false);
    await step((op) => t.progress(op, 0.2, null, new Date()), false);
    await step((op) => t.progress(op, 0.4, null, new Date()), false);
    const stream = await feed.watchOne(alice, id(), id(), new AbortController().signal, 1);
    const reading = readAll(stream);
    await step((op) => t.succeed(op, { ok: 1 }, new Date()), true);
    // The two reports came within a second: the log kept the later one only.
    expect((await reading).map((op) => [op.revision, op.status, op.progress])).toEqual([
      [2, 'RUNNING', null],
      [4, 'RUNNING', 0.4],
      [5, 'SUCCEEDED', 0.4],
    ]);
  });

  it('completes at once when resuming past the final revision of a done operation', async () => {
    const { feed, step, id } = await setUp();
    await step((op) => t.cancel(op, 'alice', null, new Date()), false);
    const stream = await feed.watchOne(alice, id(), id(), new AbortController().signal, 2);
    expect(await readAll(stream)).toEqual([]);
  });

  it('fills the gap of a dashboard feed from the log too', async () => {
    const { feed, step, id } = await setUp();
    const stream = await feed.watchAll(alice, {}, new AbortController().signal);
    await step((op) => t.claim(op, lease, new Date()), true);
    const first = await stream.next();
    expect(first.value).toMatchObject({ id: id(), revision: 2 });
    // Lost: the feed learns of it through the gap the next message opens.
    await step((op) => t.cancel(op, 'alice', null, new Date()), false);
    await step((op) => t.handlerStopped(op, { cause: 'error', message: 'x' }, new Date()), true);
    expect((await stream.next()).value).toMatchObject({ revision: 3, status: 'CANCELLING' });
    expect((await stream.next()).value).toMatchObject({ revision: 4, status: 'CANCELLED' });
    await stream.return?.();
  });
});
