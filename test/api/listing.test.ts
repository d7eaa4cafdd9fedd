import { describe, expect, it } from 'vitest';
import { defineHandler, type Handler } from '../../src/handlers/handler.js';
import { parseOperationId } from '../../src/schema/ids.js';
import { type Op, type UserClient, userClient } from '../helpers/clients.js';
import { gatedKind } from '../helpers/gated.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';

/** Handlers that end at once: `test.list.a`/`test.list.b` succeed, `test.list.fail` fails. */
const instant = (kind: string, fail = false) =>
  defineHandler({
    kind,
    parseInput: (input) => input,
    run: async () => {
      if (fail) throw new Error('failed on purpose');
      return { ok: true };
    },
  }) as Handler;

const LIST = `query($first: Int, $after: String, $last: Int, $before: String,
    $status: [OperationStatus!], $kind: String, $ownerId: ID) {
  operations(first: $first, after: $after, last: $last, before: $before,
      status: $status, kind: $kind, ownerId: $ownerId) {
    totalCount
    edges { cursor node { id kind status ownerId createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface Page {
  totalCount: number;
  edges: Array<{
    cursor: string;
    node: Pick<Op, 'id' | 'kind' | 'status' | 'ownerId' | 'createdAt'>;
  }>;
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

async function list(client: UserClient, args: Record<string, unknown> = {}): Promise<Page> {
  const r = await client.gql<{ operations: Page }>(LIST, args);
  if (!r.body.data?.operations) throw new Error(`list failed: ${JSON.stringify(r.body)}`);
  const page = r.body.data.operations;
  // The page's own cursors always match its first and last edges.
  expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
  expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
  return page;
}

async function listError(client: UserClient, args: Record<string, unknown>) {
  const r = await client.gql<{ operations: Page }>(LIST, args);
  expect(r.body.data ?? null, JSON.stringify(args)).toBeNull();
  expect(r.body.errors?.[0]?.extensions?.code, JSON.stringify(args)).toBe('BAD_USER_INPUT');
  return r.body.errors?.[0];
}

const ids = (page: Page) => page.edges.map((e) => e.node.id);

async function startMany(client: UserClient, n: number, kind = 'test.list.a'): Promise<string[]> {
  const started: string[] = [];
  for (let i = 0; i < n; i++) started.push((await client.start({ kind, input: { i } })).id);
  return started;
}

async function listingServer(env: Record<string, string> = {}) {
  // Rejects when its signal fires, so a cancelled one ends at once.
  const gated = gatedKind('test.gated', { onAbort: 'reject' });
  const server = await startTestServer(
    { ...FAST, ...env },
    {
      handlers: [
        instant('test.list.a'),
        instant('test.list.b'),
        instant('test.list.fail', true),
        gated.handler,
      ],
    },
  );
  return { server, gated };
}

describe('operations listing', () => {
  it('lists newest first with a totalCount', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    const started = await startMany(alice, 12);
    const page = await list(alice, { first: 100 });
    expect(ids(page)).toEqual([...started].reverse());
    expect(page.totalCount).toBe(12);
    const times = page.edges.map((e) => Date.parse(e.node.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(page.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  it('pages forward with first/after; flags tell which end each page is at', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    const all = [...(await startMany(alice, 12))].reverse();
    const p1 = await list(alice, { first: 5 });
    expect(ids(p1)).toEqual(all.slice(0, 5));
    expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const p2 = await list(alice, { first: 5, after: p1.pageInfo.endCursor });
    expect(ids(p2)).toEqual(all.slice(5, 10));
    expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const p3 = await list(alice, { first: 5, after: p2.pageInfo.endCursor });
    expect(ids(p3)).toEqual(all.slice(10));
    expect(p3.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    for (const page of [p1, p2, p3]) expect(page.totalCount).toBe(12);
    // An exact fit: the last full page knows nothing follows.
    const exact = await list(alice, { first: 2, after: p2.pageInfo.endCursor });
    expect(ids(exact)).toEqual(all.slice(10));
    expect(exact.pageInfo.hasNextPage).toBe(false);
    // Every edge's cursor is a position: after it come exactly the following operations.
    for (const [k, edge] of p2.edges.entries()) {
      expect(ids(await list(alice, { first: 3, after: edge.cursor }))).toEqual(
        all.slice(5 + k + 1, 5 + k + 4),
      );
    }
  });

  it('pages backward with last/before', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    const all = [...(await startMany(alice, 12))].reverse();
    const p1 = await list(alice, { last: 5 });
    expect(ids(p1)).toEqual(all.slice(7));
    expect(p1.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const p2 = await list(alice, { last: 5, before: p1.pageInfo.startCursor });
    expect(ids(p2)).toEqual(all.slice(2, 7));
    expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const p3 = await list(alice, { last: 5, before: p2.pageInfo.startCursor });
    expect(ids(p3)).toEqual(all.slice(0, 2));
    expect(p3.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(p3.totalCount).toBe(12);
    // Forward and backward agree on every position.
    const middle = p2.edges[2]?.cursor;
    expect(ids(await list(alice, { last: 2, before: middle }))).toEqual(all.slice(2, 4));
    expect(ids(await list(alice, { first: 2, after: middle }))).toEqual(all.slice(5, 7));
  });

  it('pages stay stable when new operations are started between fetches', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    const all = [...(await startMany(alice, 12))].reverse();
    const p1 = await list(alice, { first: 4 });
    const back1 = await list(alice, { last: 4 });
    const newer = await startMany(alice, 3, 'test.list.b');
    const p2 = await list(alice, { first: 4, after: p1.pageInfo.endCursor });
    expect(ids(p2)).toEqual(all.slice(4, 8));
    await startMany(alice, 2, 'test.list.b');
    const p3 = await list(alice, { first: 4, after: p2.pageInfo.endCursor });
    expect(ids(p3)).toEqual(all.slice(8, 12));
    expect(p3.pageInfo.hasNextPage).toBe(false);
    expect(p3.totalCount).toBe(17);
    const back2 = await list(alice, { last: 4, before: back1.pageInfo.startCursor });
    expect(ids(back2)).toEqual(all.slice(4, 8));
    // Paging back to the top from the first page now finds the newer ones.
    const top = await list(alice, { last: 100, before: p1.pageInfo.startCursor });
    expect(ids(top).slice(-3)).toEqual([...newer].reverse());
    expect(top.edges).toHaveLength(5);
    expect(top.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    expect(ids(await list(alice, { first: 1 }))).not.toContain(all[0]);
  });

  it('first with last is BAD_USER_INPUT', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    await startMany(alice, 2);
    await listError(alice, { first: 1, last: 1 });
    await listError(alice, { first: 0, last: 0 });
  });

  it('first or last above 100 or negative is BAD_USER_INPUT; 100 is allowed', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    await startMany(alice, 3);
    for (const args of [
      { first: 101 },
      { last: 101 },
      { first: -1 },
      { last: -1 },
      { first: 1_000_000 },
    ]) {
      await listError(alice, args);
    }
    expect(ids(await list(alice, { first: 100 }))).toHaveLength(3);
    expect(ids(await list(alice, { last: 100 }))).toHaveLength(3);
  });

  it('a cursor that is not one of ours is BAD_USER_INPUT', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    const [id] = await startMany(alice, 1);
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
    const rawId = parseOperationId(id ?? '') ?? '';
    const badCursors = [
      'garbage',
      '',
      '%%%',
      b64('op:abc:def'),
      b64(`op:-5:${rawId}`),
      b64(`op:1:${rawId}:extra`),
      b64(`xx:1:${rawId}`),
      b64(`op:1:${rawId}`) + 'A'.repeat(200),
      id ?? '', // an operation ID is not a cursor
    ];
    for (const cursor of badCursors) {
      await listError(alice, { first: 5, after: cursor });
      await listError(alice, { last: 5, before: cursor });
    }
  });

  it('filters by status and by kind, with matching totalCount, and pages within a filter', async () => {
    const { server, gated } = await listingServer({ MAX_CONCURRENT_RUNS: '1' });
    const alice = userClient(server, 'alice');
    const succeeded = await alice.start({ kind: 'test.list.a' });
    await doneState(alice, succeeded.id);
    const failed = await alice.start({ kind: 'test.list.fail' });
    await doneState(alice, failed.id);
    const cancelled = await alice.start({ kind: 'test.gated' });
    await gated.started(cancelled.id);
    await alice.cancel(cancelled.id);
    await doneState(alice, cancelled.id);
    const running = await alice.start({ kind: 'test.gated' });
    await gated.started(running.id);
    const pending = await alice.start({ kind: 'test.list.b' }); // waits behind the running one
    expect((await alice.get(pending.id))?.status).toBe('PENDING');

    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ status: ['RUNNING'] }, [running.id]],
      [{ status: ['PENDING'] }, [pending.id]],
      [{ status: ['CANCELLED'] }, [cancelled.id]],
      [{ status: ['SUCCEEDED', 'FAILED'] }, [failed.id, succeeded.id]],
      [{ status: ['CANCELLING'] }, []],
      [{ kind: 'test.gated' }, [running.id, cancelled.id]],
      [{ kind: 'test.list.a' }, [succeeded.id]],
      [{ kind: 'test.gated', status: ['RUNNING', 'PENDING'] }, [running.id]],
      [{ kind: 'test.list.b', status: ['RUNNING'] }, []],
      [{ kind: 'no.such.kind' }, []],
      [{}, [pending.id, running.id, cancelled.id, failed.id, succeeded.id]],
    ];
    for (const [filter, expected] of cases) {
      const page = await list(alice, { first: 100, ...filter });
      expect({ filter, ids: ids(page), totalCount: page.totalCount }).toEqual({
        filter,
        ids: expected,
        totalCount: expected.length,
      });
    }
    const f1 = await list(alice, { first: 1, status: ['SUCCEEDED', 'FAILED'] });
    expect(ids(f1)).toEqual([failed.id]);
    expect(f1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const f2 = await list(alice, {
      first: 1,
      after: f1.pageInfo.endCursor,
      status: ['SUCCEEDED', 'FAILED'],
    });
    expect(ids(f2)).toEqual([succeeded.id]);
    // hasPreviousPage here depends on whether the cursor's own row counts as "prior to after";
    // Relay leaves that open, so only the far end is asserted.
    expect(f2.pageInfo.hasNextPage).toBe(false);
    const b1 = await list(alice, { last: 1, kind: 'test.gated' });
    expect(ids(b1)).toEqual([cancelled.id]);
    expect(b1.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('an empty result has no cursors and no neighbours', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    await startMany(alice, 2);
    const newcomer = userClient(server, 'newcomer');
    for (const page of [
      await list(newcomer),
      await list(newcomer, { first: 10 }),
      await list(newcomer, { last: 10 }),
      await list(alice, { first: 10, kind: 'nothing' }),
    ]) {
      expect(page).toEqual({
        totalCount: 0,
        edges: [],
        pageInfo: {
          hasNextPage: false,
          hasPreviousPage: false,
          startCursor: null,
          endCursor: null,
        },
      });
    }
  });

  it('users list only their own operations; admins list all and may narrow them with ownerId', async () => {
    const { server } = await listingServer();
    const alice = userClient(server, 'alice');
    const bob = userClient(server, 'bob');
    const admin = userClient(server, 'root', { admin: true });
    const aliceOps = await startMany(alice, 3);
    const bobOps = await startMany(bob, 2);
    const aliceList = await list(alice, { first: 100 });
    expect(ids(aliceList)).toEqual([...aliceOps].reverse());
    expect(aliceList.totalCount).toBe(3);
    expect(ids(await list(bob, { first: 100 }))).toEqual([...bobOps].reverse());
    const all = await list(admin, { first: 100 });
    expect(new Set(ids(all))).toEqual(new Set([...aliceOps, ...bobOps]));
    expect(all.totalCount).toBe(5);
    const narrowed = await list(admin, { first: 100, ownerId: 'alice' });
    expect(ids(narrowed)).toEqual([...aliceOps].reverse());
    expect(narrowed.totalCount).toBe(3);
    expect(narrowed.edges.every((e) => e.node.ownerId === 'alice')).toBe(true);
    // For a user, ownerId can only match their own operations.
    expect(await list(bob, { first: 100, ownerId: 'alice' })).toMatchObject({
      edges: [],
      totalCount: 0,
    });
    expect(ids(await list(bob, { first: 100, ownerId: 'bob' }))).toEqual([...bobOps].reverse());
    // Pages of an admin narrowed to one owner stay within it.
    const n1 = await list(admin, { first: 2, ownerId: 'alice' });
    const n2 = await list(admin, { first: 2, after: n1.pageInfo.endCursor, ownerId: 'alice' });
    expect([...ids(n1), ...ids(n2)]).toEqual([...aliceOps].reverse());
    expect(n2.pageInfo.hasNextPage).toBe(false);
  });
});
