import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OperationRecord } from '../../src/operations/model.js';
import type { OperationFilter, OperationStore, PageKey } from '../../src/operations/ports.js';
import { OperationErrorCode, OperationStatus } from '../../src/operations/status.js';
import {
  cancel,
  claim,
  handlerStopped,
  progress,
  succeed,
} from '../../src/operations/transitions.js';
import { describeLogAndClaims } from './log.suite.js';
import {
  at,
  byId,
  changed,
  DAY,
  ids,
  META,
  newestFirst,
  op,
  type Step,
  type StoreFixture,
} from './store-fixture.js';

export type { StoreFixture } from './store-fixture.js';

/** Runs the `OperationStore` contract against stores made by `makeStore`, one per test. */
export function describeStoreSuite(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(name, () => {
    let store: OperationStore;
    let fixture: StoreFixture;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    async function put(record: OperationRecord, ...steps: Step[]): Promise<OperationRecord> {
      const result = await store.insert(record, at(-DAY), META);
      if (!result.inserted) throw new Error('Expected an insert');
      let current = record;
      for (const step of steps) {
        const next = changed(step(current));
        const written = await store.update(next, { revision: current.revision }, META);
        if (!written) throw new Error(`Lost the compare-and-set at revision ${current.revision}`);
        current = next;
      }
      return current;
    }

    describeLogAndClaims({
      store: () => store,
      put,
      otherConnection: (owners) => fixture.otherConnection(owners),
    });

    const run = (owner: string, expiresAt: Date) => (o: OperationRecord) =>
      claim(o, { owner, expiresAt }, at(1));

    describe('insert and get', () => {
      it('round-trips every field, set or null', async () => {
        const bare = op({ ownerId: 'bob' }, at(123));
        const full: OperationRecord = {
          ...op({ input: { list: [1, 'two', null, true], nested: { text: 'ünïcode' } } }),
          status: OperationStatus.Cancelling,
          progress: 0.25,
          message: 'a quarter',
          result: ['any', { json: 1.5 }],
          error: { code: OperationErrorCode.Timeout, message: 'too slow' },
          idempotencyKey: 'key-1',
          timeoutMs: 60_000,
          retryOf: randomUUID(),
          createdAt: at(1),
          updatedAt: at(5),
          startedAt: at(2),
          finishedAt: at(4),
          cancelRequestedAt: at(3),
          cancelledBy: 'carol',
          cancelReason: 'no longer needed',
          revision: 7,
          lease: { owner: 'worker-1', expiresAt: at(30_000) },
        };
        const scalar = { ...op({ input: 'just text' }), result: 0 };
        for (const record of [bare, full, scalar]) {
          expect(await store.insert(record, at(-DAY), META)).toEqual({ inserted: true, record });
          expect(await store.get(record.id)).toEqual(record);
        }
        const stored = await store.get(full.id);
        expect(stored?.createdAt).toBeInstanceOf(Date);
        expect(stored?.lease?.expiresAt).toBeInstanceOf(Date);
      });

      it('reads several operations by id at once, leaving out the missing', async () => {
        const records = [op(), op({ ownerId: 'bob' }), op({ retryOf: randomUUID() })];
        for (const record of records) await put(record);
        await put(op());
        const got = await store.getMany([...records.map((r) => r.id), randomUUID()]);
        expect(got.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
          [...records].sort((x, y) => x.id.localeCompare(y.id)),
        );
        expect(await store.getMany([])).toEqual([]);
        expect(await store.getMany([randomUUID()])).toEqual([]);
      });

      it('answers null for a missing id', async () => {
        await put(op());
        expect(await store.get(randomUUID())).toBeNull();
      });
    });

    describe('update (compare-and-set)', () => {
      it('keeps a lease renewed after the writer read the row', async () => {
        const running = await put(op(), run('w1', at(30_000)));
        await store.renewLeases('w1', [running.id], at(90_000));
        const moved = changed(progress(running, 0.5, 'half', at(2)));
        expect(await store.update(moved, { revision: 2, leaseOwner: 'w1' }, META)).toBe(true);
        expect((await store.get(running.id))?.lease?.expiresAt).toEqual(at(90_000));
      });

      it('succeeds once per revision; a stale writer fails and changes nothing', async () => {
        const pending = await put(op());
        const running = changed(run('w1', at(30_000))(pending));
        expect(await store.update(running, { revision: 1 }, META)).toBe(true);
        const stale = changed(cancel(pending, 'bob', null, at(2)));
        expect(await store.update(stale, { revision: 1 }, META)).toBe(false);
        expect(await store.update(running, { revision: 1 }, META)).toBe(false);
        expect(await store.get(pending.id)).toEqual(running);
      });

      it('fails for a missing id', async () => {
        expect(await store.update(op(), { revision: 1 }, META)).toBe(false);
      });

      it('is fenced by the lease owner when one is given', async () => {
        const running = await put(op(), run('w1', at(30_000)));
        const moved = changed(progress(running, 0.5, 'half', at(2)));
        expect(await store.update(moved, { revision: 2, leaseOwner: 'w2' }, META)).toBe(false);
        expect(await store.get(running.id)).toEqual(running);
        expect(await store.update(moved, { revision: 2, leaseOwner: 'w1' }, META)).toBe(true);
        expect(await store.get(running.id)).toEqual(moved);
      });

      it('writes the terminal state and clears the lease', async () => {
        const running = await put(op(), run('w1', at(30_000)));
        const done = changed(succeed(running, { ok: true }, at(3)));
        expect(await store.update(done, { revision: 2, leaseOwner: 'w1' }, META)).toBe(true);
        const stored = await store.get(running.id);
        expect(stored).toEqual(done);
        expect(stored?.lease).toBeNull();
      });
    });

    describe('insert with an idempotency key', () => {
      const keyed = (ownerId: string, createdAt: Date) =>
        op({ ownerId, idempotencyKey: 'same-key' }, createdAt);

      it('returns the operation of the same owner and key instead of inserting', async () => {
        const first = await put(keyed('alice', at(0)));
        const again = keyed('alice', at(1000));
        expect(await store.insert(again, at(-DAY), META)).toEqual({
          inserted: false,
          existing: first,
        });
        expect(await store.get(again.id)).toBeNull();
        expect(await store.count({ ownerId: 'alice' })).toBe(1);
      });

      it('counts a key created exactly at the cutoff as recent', async () => {
        const first = await put(keyed('alice', at(0)));
        const result = await store.insert(keyed('alice', at(DAY)), at(0), META);
        expect(result).toEqual({ inserted: false, existing: first });
      });

      it('keeps keys apart per owner', async () => {
        await put(keyed('alice', at(0)));
        const bobs = keyed('bob', at(1));
        expect(await store.insert(bobs, at(-DAY), META)).toEqual({ inserted: true, record: bobs });
      });

      it('inserts anew once the earlier use of the key is older than the cutoff', async () => {
        const old = await put(keyed('alice', at(0)));
        const fresh = keyed('alice', at(DAY + 1));
        expect(await store.insert(fresh, at(1), META)).toEqual({ inserted: true, record: fresh });
        expect(await store.get(old.id)).toEqual({ ...old, idempotencyKey: null });
        expect(await store.get(fresh.id)).toEqual(fresh);
        const third = keyed('alice', at(DAY + 2));
        expect(await store.insert(third, at(1), META)).toEqual({
          inserted: false,
          existing: fresh,
        });
      });

      it('never lets update restore a key that insert released', async () => {
        const old = await put(keyed('alice', at(0)), run('w1', at(30_000)));
        await store.insert(keyed('alice', at(DAY + 1)), at(1), META);
        const later = changed(progress(old, 0.5, null, at(DAY + 2)));
        expect(await store.update(later, { revision: old.revision }, META)).toBe(true);
        expect((await store.get(old.id))?.idempotencyKey).toBeNull();
      });

      it('creates exactly one operation from 20 concurrent inserts', async () => {
        const attempts = Array.from({ length: 20 }, (_, i) => keyed('alice', at(i)));
        const results = await Promise.all(attempts.map((a) => store.insert(a, at(-DAY), META)));
        const winners = results.filter((result) => result.inserted);
        expect(winners).toHaveLength(1);
        const chosen = results.map((r) => (r.inserted ? r.record.id : r.existing.id));
        expect(new Set(chosen)).toEqual(new Set([winners[0]?.record.id]));
        expect(await store.count({ ownerId: 'alice' })).toBe(1);
      });

      it('never deduplicates operations without a key', async () => {
        await put(op());
        await put(op());
        expect(await store.count({})).toBe(2);
      });
    });

    describe('list and count', () => {
      let all: OperationRecord[];

      beforeEach(async () => {
        // Two pairs share a createdAt, so the id decides their order.
        const specs: [string, string, number][] = [
          ['alice', 'a.kind', 0],
          ['bob', 'b.kind', 10],
          ['alice', 'a.kind', 20],
          ['alice', 'b.kind', 20],
          ['bob', 'a.kind', 30],
          ['alice', 'a.kind', 40],
          ['alice', 'a.kind', 40],
          ['bob', 'b.kind', 50],
          ['alice', 'b.kind', 60],
        ];
        all = [];
        for (const [ownerId, kind, ms] of specs) all.push(await put(op({ ownerId, kind }, at(ms))));
        all.push(await put(op({ ownerId: 'alice' }, at(70)), run('w1', at(30_000))));
        all.sort(newestFirst);
      });

      it('pages older from the newest end, newest first', async () => {
        const pages: OperationRecord[][] = [];
        let key: PageKey | null = null;
        for (;;) {
          const page = await store.list({ direction: 'older', key, limit: 4 });
          if (page.length === 0) break;
          pages.push(page);
          const last = page[page.length - 1] as OperationRecord;
          key = { createdAt: last.createdAt, id: last.id };
        }
        expect(pages.map((p) => p.length)).toEqual([4, 4, 2]);
        expect(pages.flat()).toEqual(all);
      });

      it('pages newer from the oldest end, each page newest first', async () => {
        const pages: OperationRecord[][] = [];
        let key: PageKey | null = null;
        for (;;) {
          const page = await store.list({ direction: 'newer', key, limit: 4 });
          if (page.length === 0) break;
          expect([...page].sort(newestFirst)).toEqual(page);
          pages.unshift(page);
          const first = page[0] as OperationRecord;
          key = { createdAt: first.createdAt, id: first.id };
        }
        expect(pages.map((p) => p.length)).toEqual([2, 4, 4]);
        expect(pages.flat()).toEqual(all);
      });

      it('keeps a page where it was when newer operations arrive', async () => {
        const first = await store.list({ direction: 'older', key: null, limit: 3 });
        const last = first[2] as OperationRecord;
        for (const ms of [80, 90]) await put(op({}, at(ms)));
        const key = { createdAt: last.createdAt, id: last.id };
        const second = await store.list({ direction: 'older', key, limit: 3 });
        expect(ids(second)).toEqual(ids(all.slice(3, 6)));
        const top = second[0] as OperationRecord;
        const backKey = { createdAt: top.createdAt, id: top.id };
        const back = await store.list({ direction: 'newer', key: backKey, limit: 3 });
        expect(ids(back)).toEqual(ids(all.slice(0, 3)));
      });

      it('filters by owner, statuses and kind, together or apart', async () => {
        const cases: OperationFilter[] = [
          { ownerId: 'bob' },
          { kind: 'b.kind' },
          { statuses: [OperationStatus.Running, OperationStatus.Cancelled] },
          { statuses: [OperationStatus.Pending] },
          { ownerId: 'alice', kind: 'a.kind', statuses: [OperationStatus.Pending] },
          { ownerId: null, kind: null, statuses: null },
          { ownerId: 'nobody' },
          { statuses: [] },
        ];
        for (const filter of cases) {
          const expected = all.filter(
            (o) =>
              (filter.ownerId == null || o.ownerId === filter.ownerId) &&
              (filter.kind == null || o.kind === filter.kind) &&
              (filter.statuses == null || filter.statuses.includes(o.status)),
          );
          const page = await store.list({ ...filter, direction: 'older', key: null, limit: 100 });
          expect(ids(page), JSON.stringify(filter)).toEqual(ids(expected));
          expect(await store.count(filter), JSON.stringify(filter)).toBe(expected.length);
        }
      });

      it('counts unfinished operations by status, each up to the cap', async () => {
        // Eight PENDING and one RUNNING from above; one more RUNNING, cancelled, and a done one.
        await put(op({}, at(80)), run('w2', at(30_000)), (o) => cancel(o, 'user:x', null, at(90)));
        await put(op({}, at(95)), run('w3', at(30_000)), (o) => succeed(o, null, at(100)));
        expect(await store.countUnfinished(100)).toEqual({ PENDING: 9, RUNNING: 1, CANCELLING: 1 });
        expect(await store.countUnfinished(4)).toEqual({ PENDING: 4, RUNNING: 1, CANCELLING: 1 });
      });

      it('pages within a filter', async () => {
        const alices = all.filter((o) => o.ownerId === 'alice');
        const first = await store.list({
          ownerId: 'alice',
          direction: 'older',
          key: null,
          limit: 2,
        });
        const last = first[1] as OperationRecord;
        const key = { createdAt: last.createdAt, id: last.id };
        const second = await store.list({ ownerId: 'alice', direction: 'older', key, limit: 2 });
        expect(ids([...first, ...second])).toEqual(ids(alices.slice(0, 4)));
      });

      it('pages through several statuses, named twice or not, in both directions', async () => {
        const statuses: OperationStatus[] = [
          OperationStatus.Pending,
          OperationStatus.Running,
          OperationStatus.Pending,
        ];
        const expected = all.filter((o) => statuses.includes(o.status));
        const older: OperationRecord[] = [];
        let key: PageKey | null = null;
        for (;;) {
          const page = await store.list({ statuses, direction: 'older', key, limit: 3 });
          if (page.length === 0) break;
          older.push(...page);
          const last = page.at(-1) as OperationRecord;
          key = { createdAt: last.createdAt, id: last.id };
        }
        expect(ids(older)).toEqual(ids(expected));
        const newer: OperationRecord[] = [];
        key = null;
        for (;;) {
          const page = await store.list({ statuses, direction: 'newer', key, limit: 3 });
          if (page.length === 0) break;
          expect([...page].sort(newestFirst)).toEqual(page);
          newer.unshift(...page);
          const first = page[0] as OperationRecord;
          key = { createdAt: first.createdAt, id: first.id };
        }
        expect(ids(newer)).toEqual(ids(expected));
        const sizes = await store.listSizes({ statuses, direction: 'older', key: null, limit: 4 });
        expect(sizes.map((sized) => sized.id)).toEqual(ids(expected.slice(0, 4)));
      });

      it('re-reads the log with the whole states of operations holding large inputs and results', async () => {
        const text = 'é'.repeat(50_000); // 100 KB as UTF-8: a few operations per statement
        const done: OperationRecord[] = [];
        for (let i = 0; i < 5; i++) {
          done.push(
            await put(
              op({ ownerId: 'dora', input: { i, text } }, at(100 + i)),
              run('w1', at(30_000)),
              (o) => succeed(o, { i, text }, at(200 + i)),
            ),
          );
        }
        const finals = (await store.eventsSince(at(200), 100)).map((event) => event.state);
        expect(finals).toEqual(done);
      });

      it('gives the keys of a page with the UTF-8 bytes of input and result, reading neither', async () => {
        const input = { text: 'é'.repeat(1_000) };
        const sized = await put(
          op({ ownerId: 'carol', input }, at(80)),
          run('w1', at(30_000)),
          (o) => succeed(o, ['ü'], at(90)),
        );
        const bare = await put(op({ ownerId: 'carol' }, at(85)));
        const query = { ownerId: 'carol', key: null, limit: 10 } as const;
        for (const direction of ['older', 'newer'] as const) {
          const sizes = await store.listSizes({ ...query, direction });
          const page = await store.list({ ...query, direction });
          expect(sizes.map((s) => s.id)).toEqual(ids(page));
          expect(sizes.map((s) => s.createdAt)).toEqual(page.map((o) => o.createdAt));
        }
        const [newest, oldest] = await store.listSizes({ ...query, direction: 'older' });
        expect(newest).toMatchObject({ id: bare.id, bytes: 0 });
        expect(oldest).toMatchObject({
          id: sized.id,
          bytes:
            Buffer.byteLength(JSON.stringify(input)) + Buffer.byteLength(JSON.stringify(['ü'])),
        });
      });
    });

    describe('leases', () => {
      it('renews only the active operations this worker holds and returns them', async () => {
        const mine = await put(op(), run('w1', at(30_000)));
        const cancelling = await put(op(), run('w1', at(30_000)), (o) =>
          cancel(o, 'bob', 'stop', at(2)),
        );
        const theirs = await put(op(), run('w2', at(30_000)));
        const waiting = await put(op());
        const finished = await put(op(), run('w1', at(30_000)), (o) => succeed(o, null, at(3)));
        const asked = [mine, cancelling, theirs, waiting, finished].map((o) => o.id);
        const renewed = await store.renewLeases('w1', [...asked, randomUUID()], at(60_000));
        const lease = { owner: 'w1', expiresAt: at(60_000) };
        expect([...renewed].sort(byId)).toEqual(
          [
            { ...mine, lease },
            { ...cancelling, lease },
          ].sort(byId),
        );
        expect(renewed.find((o) => o.id === cancelling.id)?.status).toBe(
          OperationStatus.Cancelling,
        );
        expect(await store.get(mine.id)).toEqual({ ...mine, lease });
        for (const other of [theirs, waiting, finished]) {
          expect(await store.get(other.id)).toEqual(other);
        }
        expect(await store.renewLeases('w1', [], at(90_000))).toEqual([]);
      });

      it('finds active operations whose lease ran out before now', async () => {
        const expired = await put(op({}, at(1)), run('w1', at(100)));
        const cancelling = await put(op({}, at(2)), run('w2', at(50)), (o) =>
          cancel(o, 'bob', null, at(3)),
        );
        await put(op(), run('w1', at(200))); // expires exactly at `now`: not yet
        await put(op(), run('w1', at(300)));
        await put(op(), run('w1', at(10)), (o) =>
          handlerStopped(o, { cause: 'error', message: 'boom' }, at(4)),
        );
        await put(op());
        const found = await store.expiredLeases(at(200), 10);
        expect(ids(found)).toEqual(ids([cancelling, expired]));
        expect(await store.expiredLeases(at(200), 1)).toEqual([cancelling]);
      });
    });

    it('deletes done operations that finished before the cutoff', async () => {
      const done = (ms: number) => (o: OperationRecord) => succeed(o, null, at(ms));
      const old = await put(op(), run('w1', at(30_000)), done(10));
      const oldFailed = await put(op(), run('w1', at(30_000)), (o) =>
        handlerStopped(o, { cause: 'timeout' }, at(20)),
      );
      const oldCancelled = await put(op(), (o) => cancel(o, 'alice', null, at(30)));
      const atCutoff = await put(op(), run('w1', at(30_000)), done(100));
      const recent = await put(op(), run('w1', at(30_000)), done(200));
      const running = await put(op(), run('w1', at(30_000)));
      const pending = await put(op());
      expect(await store.deleteFinishedBefore(at(100))).toBe(3);
      for (const gone of [old, oldFailed, oldCancelled]) {
        expect(await store.get(gone.id)).toBeNull();
        expect(await store.events(gone.id, 0, 100)).toEqual([]);
      }
      for (const kept of [atCutoff, recent, running, pending]) {
        expect(await store.get(kept.id)).toEqual(kept);
        expect(await store.events(kept.id, 0, 100)).toHaveLength(kept.revision);
      }
      expect(await store.deleteFinishedBefore(at(100))).toBe(0);
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
