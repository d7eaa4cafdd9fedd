import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OperationEvent, OperationRecord } from '../../src/operations/model.js';
import type { ChangeMeta } from '../../src/operations/ports.js';
import { OperationErrorCode, OperationStatus } from '../../src/operations/status.js';
import {
  cancel,
  claim,
  handlerStopped,
  progress,
  succeed,
} from '../../src/operations/transitions.js';
import {
  at,
  byId,
  changed,
  claimFor,
  claimUntilNone,
  DAY,
  ids,
  lease,
  META,
  op,
  type Step,
  type SuiteContext,
  worker,
} from './store-fixture.js';

const running =
  (owner: string, now = at(1)) =>
  (o: OperationRecord) =>
    claim(o, lease(owner), now);
/** What identifies a log entry, for order checks. */
const keys = (events: readonly OperationEvent[]) =>
  events.map((event) => `${event.operationId}@${event.revision}`);

/** The transition log and `claimPending`, against the store of `ctx`. */
export function describeLogAndClaims(ctx: SuiteContext): void {
  describe('transition log', () => {
    it('logs every committed revision with its actor, reason and whole state', async () => {
      const store = ctx.store();
      const first: OperationRecord = {
        ...op({ input: { nested: ['ünïcode', 1.5, null] }, idempotencyKey: 'k' }),
        timeoutMs: 5_000,
        retryOf: randomUUID(),
      };
      await store.insert(first, at(-DAY), { actor: 'user:alice', reason: null });
      const second = changed(running('w1')(first));
      expect(await store.update(second, { revision: 1 }, worker('w1'))).toBe(true);
      const third = changed(cancel(second, 'bob', 'stop', at(2)));
      const stop = { actor: 'user:bob', reason: 'stop' };
      expect(await store.update(third, { revision: 2 }, stop)).toBe(true);
      const fourth = changed(progress(third, 0.25, 'a quarter', at(3)));
      expect(await store.update(fourth, { revision: 3, leaseOwner: 'w1' }, worker('w1'))).toBe(
        true,
      );
      const entry = (state: OperationRecord, meta: ChangeMeta): OperationEvent => ({
        operationId: first.id,
        revision: state.revision,
        status: state.status,
        progress: state.progress,
        actor: meta.actor,
        reason: meta.reason,
        at: state.updatedAt,
        state,
      });
      expect(await store.events(first.id, 0, 100)).toEqual([
        entry(first, { actor: 'user:alice', reason: null }),
        entry(second, worker('w1')),
        entry(third, stop),
        entry(fourth, worker('w1')),
      ]);
      const done = changed(succeed(fourth, { ok: [1, 'two'] }, at(4)));
      expect(await store.update(done, { revision: 4 }, worker('w1'))).toBe(true);
      const [last] = await store.events(first.id, 4, 100);
      expect(last?.state).toEqual(done);
      expect(last?.state.finishedAt).toBeInstanceOf(Date);
    });

    it('keeps every status change and one progress entry a second, and rebuilds each state', async () => {
      const store = ctx.store();
      const first = op({ input: { big: 'x'.repeat(1000) } });
      await store.insert(first, at(-DAY), META);
      const states = new Map<number, OperationRecord>([[1, first]]);
      let current = first;
      const write = async (next: OperationRecord) => {
        const written = await store.update(next, { revision: current.revision }, META);
        expect(written).toBe(true);
        states.set(next.revision, next);
        current = next;
      };
      await write(changed(running('w1', at(0))(first)));
      // Reports every 100 ms from 100 to 2,500 (revisions 3 to 27).
      for (let ms = 100; ms <= 2_500; ms += 100) {
        await write(changed(progress(current, ms / 10_000, `at ${ms}`, at(ms))));
      }
      await write(changed(cancel(current, 'bob', 'stop', at(2_600)))); // 28
      await write(changed(progress(current, 0.5, 'winding down', at(2_700)))); // 29
      await write(changed(progress(current, 0.6, 'nearly', at(2_800)))); // 30
      await write(changed(handlerStopped(current, { cause: 'error', message: 'x' }, at(2_900))));
      const events = await store.events(first.id, 0, 100);
      // A progress entry replaces the one before it while the entry before that is less than a
      // second older: 3 is replaced up to 11 (1,000 ms after revision 2), then 12..20, 21..27.
      expect(events.map((event) => event.revision)).toEqual([1, 2, 11, 20, 27, 28, 30, 31]);
      // The lease is the current one (none, once done): it is in no answer.
      const unleased = ({ lease: _lease, ...rest }: OperationRecord) => rest;
      for (const event of events) {
        const state = states.get(event.revision) as OperationRecord;
        expect(unleased(event.state)).toEqual(unleased(state));
        expect(event).toMatchObject({ status: state.status, progress: state.progress });
      }
      expect(events.at(-1)?.state).toEqual(current);
      expect((await store.eventsSince(at(0), 100)).map((event) => event.state)).toEqual(
        events.map((event) => event.state),
      );
    });

    it('writes no log entry when the compare-and-set fails', async () => {
      const store = ctx.store();
      const pending = await ctx.put(op());
      const stale = changed(cancel(pending, 'bob', null, at(2)));
      await ctx.put(op());
      expect(await store.update(changed(running('w1')(pending)), { revision: 1 }, META)).toBe(true);
      expect(await store.update(stale, { revision: 1 }, META)).toBe(false);
      const fenced = changed(progress(changed(running('w1')(pending)), 0.5, null, at(3)));
      expect(await store.update(fenced, { revision: 2, leaseOwner: 'w2' }, META)).toBe(false);
      expect((await store.events(pending.id, 0, 100)).map((e) => e.revision)).toEqual([1, 2]);
      const missing = op();
      expect(await store.update(missing, { revision: 1 }, META)).toBe(false);
      expect(await store.events(missing.id, 0, 100)).toEqual([]);
    });

    it('undoes the row write when its revision is already logged (one transaction)', async () => {
      const store = ctx.store();
      const pending = await ctx.put(op());
      // The row matches revision 1, but the log already holds revision 1: a lost race.
      const clash = { ...changed(running('w1')(pending)), revision: 1 };
      expect(await store.update(clash, { revision: 1 }, META)).toBe(false);
      expect(await store.get(pending.id)).toEqual(pending);
      expect(await store.events(pending.id, 0, 100)).toHaveLength(1);
    });

    it('logs an insert only when it really inserted', async () => {
      const store = ctx.store();
      const keyed = (ms: number) => op({ idempotencyKey: 'same' }, at(ms));
      const first = await ctx.put(keyed(0));
      const again = keyed(10);
      expect(await store.insert(again, at(-DAY), META)).toEqual({
        inserted: false,
        existing: first,
      });
      expect(await store.events(again.id, 0, 100)).toEqual([]);
      const fresh = keyed(DAY + 1);
      expect((await store.insert(fresh, at(1), META)).inserted).toBe(true);
      expect(keys(await store.events(fresh.id, 0, 100))).toEqual([`${fresh.id}@1`]);
      expect(keys(await store.events(first.id, 0, 100))).toEqual([`${first.id}@1`]);
    });

    it("pages one operation's log by revision", async () => {
      const store = ctx.store();
      const record = await ctx.put(
        op(),
        running('w1'),
        (o) => progress(o, 0.5, null, at(2)),
        (o) => succeed(o, null, at(3)),
      );
      await ctx.put(op(), running('w2'));
      const revisions = async (after: number, limit: number) =>
        (await store.events(record.id, after, limit)).map((event) => event.revision);
      expect(await revisions(0, 100)).toEqual([1, 2, 3, 4]);
      expect(await revisions(1, 2)).toEqual([2, 3]);
      expect(await revisions(3, 2)).toEqual([4]);
      expect(await revisions(4, 2)).toEqual([]);
    });

    it("reads several operations' log pages at once, each as events() pages it, without states", async () => {
      const store = ctx.store();
      const a = await ctx.put(
        op({ input: { big: 'x'.repeat(1000) } }),
        running('w1'),
        (o) => progress(o, 0.5, 'half', at(2)),
        (o) => succeed(o, null, at(3)),
      );
      const b = await ctx.put(op(), running('w2'));
      const queries = [
        { operationId: a.id, afterRevision: 0, limit: 2 },
        { operationId: b.id, afterRevision: 0, limit: 100 },
        { operationId: a.id, afterRevision: 2, limit: 100 },
        { operationId: 'no-such-operation', afterRevision: 0, limit: 100 },
        { operationId: a.id, afterRevision: 0, limit: 2 },
        { operationId: b.id, afterRevision: 2, limit: 100 },
      ];
      const pages = await store.logPages(queries);
      const expected = await Promise.all(
        queries.map(async (q) =>
          (await store.events(q.operationId, q.afterRevision, q.limit)).map(
            ({ state: _state, ...entry }) => entry,
          ),
        ),
      );
      expect(pages).toEqual(expected);
      expect(pages.map((page) => page.map((entry) => entry.revision))).toEqual([
        [1, 2],
        [1, 2],
        [3, 4],
        [],
        [1, 2],
        [],
      ]);
      expect(pages[2]?.[0]).toEqual({
        operationId: a.id,
        revision: 3,
        status: 'RUNNING',
        progress: 0.5,
        actor: META.actor,
        reason: null,
        at: at(2),
      });
      expect(await store.logPages([])).toEqual([]);
    });

    it('reads the log of every operation by time, then operation id, then revision', async () => {
      const store = ctx.store();
      // Ties in `at` everywhere: the order must still be total.
      const states: OperationRecord[] = [];
      const record = async (o: OperationRecord, ...steps: Step[]) => {
        await store.insert(o, at(-DAY), META);
        states.push(o);
        let current = o;
        for (const step of steps) {
          const next = changed(step(current));
          expect(await store.update(next, { revision: current.revision }, META)).toBe(true);
          states.push(next);
          current = next;
        }
      };
      await record(op({}, at(10)), running('w1', at(20)), (o) => progress(o, 0.5, null, at(20)));
      await record(op({}, at(10)), running('w1', at(20)));
      await record(op({}, at(5)), (o) => cancel(o, 'alice', null, at(20)));
      await record(op({}, at(30)));
      const expected = states
        .map((s) => ({ at: s.updatedAt.getTime(), id: s.id, revision: s.revision }))
        .sort((a, b) => a.at - b.at || byId(a, b) || a.revision - b.revision)
        .map((e) => `${e.id}@${e.revision}`);
      expect(keys(await store.eventsSince(at(0), 100))).toEqual(expected);
      expect(keys(await store.eventsSince(at(0), 3))).toEqual(expected.slice(0, 3));
      // `since` is inclusive: everything at 20 and later.
      expect(keys(await store.eventsSince(at(20), 100))).toEqual(expected.slice(3));
      expect(await store.eventsSince(at(31), 100)).toEqual([]);
      const [event] = await store.eventsSince(at(30), 1);
      expect(event?.state).toEqual(states.at(-1));
    });

    it('eventsSince with a scope reads only the entries of its operations and of its owners', async () => {
      const store = ctx.store();
      const entries = new Map<string, string[]>();
      const record = async (o: OperationRecord) => {
        await store.insert(o, at(-DAY), META);
        const next = changed(running('w1', at(20))(o));
        expect(await store.update(next, { revision: o.revision }, META)).toBe(true);
        entries.set(o.id, [`${o.id}@${o.revision}`, `${o.id}@${next.revision}`]);
        return o.id;
      };
      const alice = await record(op({ ownerId: 'alice' }, at(10)));
      const bob = await record(op({ ownerId: 'bob' }, at(10)));
      const bob2 = await record(op({ ownerId: 'bob' }, at(10)));
      const carol = await record(op({ ownerId: 'carol' }, at(10)));
      const read = async (operations: string[], owners: string[]) =>
        keys(await store.eventsSince(at(0), 100, { operations, owners })).sort();
      const of = (...opIds: string[]) => opIds.flatMap((id) => entries.get(id) ?? []).sort();

      expect(await read([alice], [])).toEqual(of(alice));
      expect(await read([], ['bob'])).toEqual(of(bob, bob2));
      expect(await read([carol], ['bob'])).toEqual(of(carol, bob, bob2));
      // An operation also covered by its owner comes once.
      expect(await read([bob], ['bob'])).toEqual(of(bob, bob2));
      expect(await read([], [])).toEqual([]);
      expect(await read(['no-such-operation'], ['nobody'])).toEqual([]);
      // Without a scope: everything.
      expect(keys(await store.eventsSince(at(0), 100, null)).sort()).toEqual(
        of(alice, bob, bob2, carol),
      );
    });
  });

  describe('claimPending', () => {
    it('claims pending operations oldest first and logs each claim', async () => {
      const store = ctx.store();
      const later = await ctx.put(op({}, at(20)));
      await ctx.put(op({}, at(5)), running('w9'));
      const tied = [await ctx.put(op({}, at(10))), await ctx.put(op({}, at(10)))].sort(byId);
      const oldest = await ctx.put(op({}, at(0)));
      const claimed = await store.claimPending(3, claimFor('w1'), worker('w1'));
      expect(ids(claimed)).toEqual(ids([oldest, ...tied]));
      for (const state of claimed) {
        expect(state.status).toBe(OperationStatus.Running);
        expect(await store.get(state.id)).toEqual(state);
        const [event] = await store.events(state.id, 1, 10);
        expect(event).toMatchObject({ revision: 2, actor: 'worker:w1', reason: null, state });
      }
      expect(ids(await store.claimPending(10, claimFor('w2'), worker('w2')))).toEqual([later.id]);
      expect(await store.claimPending(10, claimFor('w2'), worker('w2'))).toEqual([]);
      expect(await store.claimPending(0, claimFor('w2'), worker('w2'))).toEqual([]);
    });

    it("takes owner by owner in turn, oldest first within an owner, within each owner's share", async () => {
      const store = ctx.store();
      const put = (ownerId: string, t: number) => ctx.put(op({ ownerId }, at(t)));
      // Ada queued three first, then Bob two, then Cy one; Dee runs one already.
      const [a1, a2, a3] = [await put('ada', 0), await put('ada', 1), await put('ada', 2)];
      const [b1, b2] = [await put('bob', 3), await put('bob', 4)];
      const c1 = await put('cy', 5);
      const d1 = await put('dee', 6);
      await ctx.put(op({ ownerId: 'dee' }, at(-1)), running('w9'));
      const shares = (perOwner: number, byOwner: Record<string, number> = {}) => ({
        perOwner,
        byOwner: new Map(Object.entries(byOwner)),
      });

      // Everyone's first before anyone's second; Dee, already running one, after them.
      expect(ids(await store.claimPending(3, claimFor('w1'), META, shares(5)))).toEqual(
        ids([a1, b1, c1] as OperationRecord[]),
      );
      expect(ids(await store.claimPending(1, claimFor('w1'), META, shares(5)))).toEqual([d1.id]);
      // Ada may take no more here, Bob one: Bob's second, then nothing of Ada's.
      expect(
        ids(await store.claimPending(5, claimFor('w1'), META, shares(1, { ada: 0, bob: 1 }))),
      ).toEqual([b2?.id]);
      expect(await store.claimPending(5, claimFor('w1'), META, shares(0))).toEqual([]);
      expect(ids(await store.claimPending(5, claimFor('w1'), META, shares(1)))).toEqual([a2?.id]);
      expect(ids(await store.claimPending(5, claimFor('w1'), META))).toEqual([a3?.id]);
    });

    it('gives a freed slot to the owner served longest ago when the queue has several', async () => {
      const store = ctx.store();
      const put = (ownerId: string, t: number) => ctx.put(op({ ownerId }, at(t)));
      const ada = [await put('ada', 0), await put('ada', 1), await put('ada', 2)];
      const bob = [await put('bob', 3), await put('bob', 4)];
      const cy = [await put('cy', 5)];
      // One slot at a time, each run started a moment after the last (claimFor times them).
      const order: string[] = [];
      for (let t = 10; order.length < 6; t++) {
        const claimed = await store.claimPending(
          1,
          (o) => changed(claim(o, lease('w1'), at(t))),
          META,
        );
        const [next] = claimed;
        if (!next) break;
        order.push(next.id);
        // It ends before the next slot frees, so no one is running when the next claim comes.
        expect(await store.update(changed(succeed(next, null, at(t))), next, META)).toBe(true);
      }
      const [a1, a2, a3] = ada;
      const [b1, b2] = bob;
      const [c1] = cy;
      expect(order).toEqual([a1, b1, c1, a2, b2, a3].map((o) => o?.id));
    });

    it('skips what claim rejects, within the limit, and leaves it pending', async () => {
      const store = ctx.store();
      const [a, b, c] = [
        await ctx.put(op({}, at(0))),
        await ctx.put(op({}, at(1))),
        await ctx.put(op({}, at(2))),
      ] as [OperationRecord, OperationRecord, OperationRecord];
      const pickyClaim = (o: OperationRecord) => (o.id === a.id ? null : claimFor('w1')(o));
      expect(ids(await store.claimPending(2, pickyClaim, META))).toEqual([b.id]);
      expect(await store.get(a.id)).toEqual(a);
      expect(await store.events(a.id, 1, 10)).toEqual([]);
      expect(ids(await store.claimPending(5, claimFor('w1'), META))).toEqual([a.id, c.id]);
    });

    it('commits nothing when claim throws', async () => {
      const store = ctx.store();
      const first = await ctx.put(op({}, at(0)));
      const second = await ctx.put(op({}, at(1)));
      const failing = (o: OperationRecord) => {
        if (o.id === second.id) throw new Error('claim failed');
        return claimFor('w1')(o);
      };
      await expect(store.claimPending(2, failing, META)).rejects.toThrow('claim failed');
      expect(await store.get(first.id)).toEqual(first);
      expect(await store.events(first.id, 1, 10)).toEqual([]);
    });

    it('never hands one operation to two claimers, on one connection or on two', async () => {
      const store = ctx.store();
      const created = await Promise.all(
        Array.from({ length: 200 }, (_, i) => store.insert(op({}, at(i % 50)), at(-DAY), META)),
      );
      const owners = (side: string) => Array.from({ length: 4 }, (_, i) => `w${side}-${i}`);
      const other = await ctx.otherConnection(owners('b'));
      const claimed = (
        await Promise.all([
          ...owners('a').map((owner) => claimUntilNone(store, owner)),
          other.claimAll(),
        ])
      ).flat();
      const wanted = created.map((r) => (r.inserted ? r.record.id : '')).sort();
      expect(claimed.map((c) => c.id).sort()).toEqual(wanted);
      expect(await store.count({ statuses: ['PENDING'] })).toBe(0);
      const log = await store.eventsSince(at(0), 1_000);
      expect(log).toHaveLength(400);
      for (const { id, owner } of claimed) {
        expect(await store.get(id)).toMatchObject({ status: 'RUNNING', lease: lease(owner) });
        const claims = log.filter((e) => e.operationId === id && e.revision === 2);
        expect(claims.map((e) => e.actor)).toEqual([`worker:${owner}`]);
      }
    });

    it('leaves operations that are no longer pending alone', async () => {
      const store = ctx.store();
      await ctx.put(op(), running('w1'));
      await ctx.put(op(), (o) => cancel(o, 'alice', null, at(2)));
      await ctx.put(op(), running('w1'), (o) => succeed(o, null, at(3)));
      const failed = op();
      await store.insert(
        {
          ...failed,
          status: OperationStatus.Failed,
          error: { code: OperationErrorCode.Interrupted, message: 'gone' },
        },
        at(-DAY),
        META,
      );
      expect(await store.claimPending(10, claimFor('w1'), META)).toEqual([]);
    });
  });
}
