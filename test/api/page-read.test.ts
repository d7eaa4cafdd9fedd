import { describe, expect, it } from 'vitest';
import { defineHandler, type Handler } from '../../src/handlers/handler.js';
import { PAGE_READ } from '../../src/operations/page-reader.js';
import { LIMITS } from '../../src/operations/service.js';
import { type UserClient, userClient } from '../helpers/clients.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';

/** Succeeds at once with its input as its result. */
const echo = defineHandler({
  kind: 'test.echo',
  parseInput: (input) => input,
  run: async (input) => input,
}) as Handler;

/** Succeeds with a string of `bytes` characters. */
const bigResult = defineHandler({
  kind: 'test.big-result',
  parseInput: (input) => input as { bytes: number },
  run: async ({ bytes }) => 'x'.repeat(bytes),
}) as Handler;

interface Page {
  edges: Array<{ node: { id: string; input: unknown; result: unknown } }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
}

async function page(alice: UserClient, args: Record<string, unknown>, fields = 'id') {
  const r = await alice.gql<{ operations: Page }>(
    `query($first: Int, $after: String, $last: Int, $before: String) {
      operations(first: $first, after: $after, last: $last, before: $before) {
        edges { node { ${fields} } } pageInfo { hasNextPage hasPreviousPage endCursor } } }`,
    args,
  );
  if (!r.body.data) throw new Error(JSON.stringify(r.body));
  return r.body.data.operations;
}

async function seeded(count: number, input: (i: number) => unknown) {
  const statements: Array<{ sql: string; parameters: readonly unknown[] }> = [];
  const server = await startTestServer(FAST, {
    handlers: [echo],
    onStatement: (s) => statements.push(s),
  });
  const alice = userClient(server, 'alice');
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const op = await alice.start({ kind: 'test.echo', input: input(i) });
    ids.unshift(op.id); // newest first
  }
  await doneState(alice, ids[0] as string);
  for (const id of ids) await doneState(alice, id);
  statements.length = 0;
  // The runner's polling never filters by owner.
  const listReads = () =>
    statements
      .splice(0)
      .filter((s) => /from "operations"/.test(s.sql) && s.parameters.includes('alice'));
  return { alice, ids, listReads };
}

describe('reading a page of operations', () => {
  it(`reads ${PAGE_READ.rowsPerStatement} rows per statement, forward and backward alike`, async () => {
    const { alice, ids, listReads } = await seeded(60, (i) => ({ i }));
    const forward = await page(alice, { first: 55 });
    expect(forward.edges.map((e) => e.node.id)).toEqual(ids.slice(0, 55));
    expect(forward.pageInfo.hasNextPage).toBe(true);
    // The keys and sizes of 56 rows (one more tells there is a next page) in statements of at
    // most 25, and after each, the small rows it keeps in one more.
    const reads = listReads();
    const sizes = reads.filter((s) => /octet_length/.test(s.sql));
    expect(sizes).toHaveLength(Math.ceil(56 / PAGE_READ.rowsPerStatement));
    expect(reads).toHaveLength(2 * sizes.length);

    const rest = await page(alice, { first: 55, after: forward.pageInfo.endCursor });
    expect(rest.edges.map((e) => e.node.id)).toEqual(ids.slice(55));
    expect(rest.pageInfo.hasNextPage).toBe(false);

    const backward = await page(alice, { last: 52 });
    expect(backward.edges.map((e) => e.node.id)).toEqual(ids.slice(8));
    expect(backward.pageInfo.hasPreviousPage).toBe(true);
  });

  it(`ends a page once its inputs and results pass ${PAGE_READ.maxBytes} bytes, and the next page goes on`, async () => {
    const text = 'x'.repeat(60_000);
    const { alice, ids } = await seeded(20, (i) => ({ i, text }));
    const weight = JSON.stringify({ i: 10, text }).length * 2; // input and result alike
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const current: Page = await page(alice, { first: 20, after }, 'id input result');
      const bytes = current.edges.reduce(
        (sum, e) =>
          sum + JSON.stringify(e.node.input).length + JSON.stringify(e.node.result).length,
        0,
      );
      expect(current.edges.length).toBeGreaterThan(0);
      expect(bytes).toBeLessThan(PAGE_READ.maxBytes + weight);
      seen.push(...current.edges.map((e) => e.node.id));
      if (!current.pageInfo.hasNextPage) break;
      expect(current.edges.length).toBe(Math.ceil(PAGE_READ.maxBytes / weight));
      after = current.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);
  });

  it(`reads only the rows it answers with, at most ${PAGE_READ.bytesPerStatement} bytes of inputs and results per statement`, async () => {
    const text = 'x'.repeat(60_000);
    const { alice, ids, listReads } = await seeded(20, (i) => ({ i, text }));
    const weight = JSON.stringify({ i: 10, text }).length * 2;
    const first = await page(alice, { first: 20 }, 'id input result');
    const kept = Math.ceil(PAGE_READ.maxBytes / weight);
    expect(first.edges.map((e) => e.node.id)).toEqual(ids.slice(0, kept));
    const rowReads = listReads().filter((s) => !/octet_length/.test(s.sql));
    const perStatement = Math.max(1, Math.floor(PAGE_READ.bytesPerStatement / weight));
    expect(rowReads).toHaveLength(Math.ceil(kept / perStatement));
    // Each asks for as many rows as it may read, and they add up to the page.
    const limits = rowReads.map((s) => Number(s.parameters.at(-1)));
    expect(limits.every((limit) => limit <= perStatement)).toBe(true);
    expect(limits.reduce((a, b) => a + b, 0)).toBe(kept);
  });
});

describe('a handler result', () => {
  it(`of more than ${LIMITS.maxResultBytes} bytes fails its operation instead of being stored`, async () => {
    const server = await startTestServer(FAST, { handlers: [echo, bigResult] });
    const alice = userClient(server, 'alice');
    const op = await alice.start({
      kind: 'test.big-result',
      input: { bytes: LIMITS.maxResultBytes },
    });
    const failed = await doneState(alice, op.id);
    expect(failed).toMatchObject({
      status: 'FAILED',
      result: null,
      error: {
        code: 'HANDLER_ERROR',
        message: `The handler's result is larger than ${LIMITS.maxResultBytes} bytes as JSON.`,
      },
    });
    // Just under the limit (the quotes make up the difference) is stored as it is.
    const fits = await alice.start({
      kind: 'test.big-result',
      input: { bytes: LIMITS.maxResultBytes - 2 },
    });
    const done = await doneState(alice, fits.id);
    expect(done.status).toBe('SUCCEEDED');
    expect((done.result as string).length).toBe(LIMITS.maxResultBytes - 2);
  });
});
