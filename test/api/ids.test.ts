import { describe, expect, it } from 'vitest';
import { sse, wsClient } from '../helpers/clients.js';
import { startBlocking } from '../helpers/handlers.js';

const RAW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const READ = `query($id: ID!) {
  operation(id: $id) { id status }
  node(id: $id) { __typename id ... on Operation { status } }
}`;
const CANCEL = `mutation($id: ID!) { cancelOperation(input: { id: $id }) {
  __typename
  ... on NotFoundError { message id }
  ... on CancelOperationSuccess { operation { id status } }
  ... on Error { message }
} }`;
const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';

async function setup() {
  const { server, started, alice } = await startBlocking();
  /** Starts a RUNNING operation; returns its global and raw IDs. */
  const running = async () => {
    const op = await alice.start({ kind: 'test.block' });
    const raw = await started.next();
    expect(await alice.get(op.id)).toMatchObject({ status: 'RUNNING', revision: 2 });
    return { global: op.id, raw };
  };
  return { server, alice, running };
}

describe('IDs: global and raw', () => {
  it('id is a Relay global ID of type Operation around a raw UUID', async () => {
    const { running } = await setup();
    const { global, raw } = await running();
    expect(raw).toMatch(RAW_ID);
    expect(global).toBe(b64(`Operation:${raw}`));
  });

  it('operation and node accept the global and the raw ID alike', async () => {
    const { alice, running } = await setup();
    const { global, raw } = await running();
    for (const id of [global, raw]) {
      expect((await alice.gql(READ, { id })).body).toEqual({
        data: {
          operation: { id: global, status: 'RUNNING' },
          node: { __typename: 'Operation', id: global, status: 'RUNNING' },
        },
      });
    }
  });

  it('cancelOperation accepts the global and the raw ID alike', async () => {
    const { alice, running } = await setup();
    for (const pick of ['global', 'raw'] as const) {
      const ids = await running();
      const r = await alice.gql(CANCEL, { id: ids[pick] });
      expect(r.body).toEqual({
        data: {
          cancelOperation: {
            __typename: 'CancelOperationSuccess',
            operation: { id: ids.global, status: 'CANCELLING' },
          },
        },
      });
    }
  });

  it('operationUpdated accepts the global and the raw ID alike, over WebSocket and SSE', async () => {
    const { server, alice, running } = await setup();
    const { global, raw } = await running();
    const feeds = [];
    for (const id of [global, raw]) {
      feeds.push(alice.watchWs(id).ops, (await alice.watchSse(id)).ops);
    }
    for (const feed of feeds) {
      expect(await feed.next()).toMatchObject({ id: global, status: 'RUNNING', revision: 2 });
    }
    await alice.cancel(raw);
    for (const feed of feeds) {
      expect((await feed.rest()).map((o) => [o.id, o.status, o.revision])).toEqual([
        [global, 'CANCELLING', 3],
        [global, 'CANCELLED', 4],
      ]);
    }
    expect(server.logs.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});

describe('IDs: malformed', () => {
  const hugeId = 'A'.repeat(10 * 1024);
  const cases: Array<[string, (raw: string) => string]> = [
    ['an empty string', () => ''],
    ['"%%%"', () => '%%%'],
    ['base64 of "Operation:"', () => b64('Operation:')],
    ['base64 of "User:1"', () => b64('User:1')],
    ['base64 of "Operation:not-a-uuid"', () => b64('Operation:not-a-uuid')],
    ['base64 of "User:<an existing raw id>"', (raw) => b64(`User:${raw}`)],
    ['base64 of "Operation:<raw id>:extra"', (raw) => b64(`Operation:${raw}:extra`)],
    ['a global ID cut short', (raw) => b64(`Operation:${raw}`).slice(0, -4)],
    ['the raw id with one character missing', (raw) => raw.slice(0, -1)],
    ['a 10 KB string', () => hugeId],
    ['a 10 KB base64 string', () => b64(`Operation:${'x'.repeat(7_600)}`)],
    ['an emoji', () => '🚀'],
    ['base64 of an emoji', () => b64('🚀:🚀')],
    ['a NUL character', () => '\u0000'],
    ['a lone surrogate', () => '\ud800'],
    ['SQL', () => "' OR 1=1 --"],
  ];

  it.each(cases)(
    '%s: null, NotFoundError and NOT_FOUND, never a server error',
    async (_name, make) => {
      const { server, alice, running } = await setup();
      const existing = await running();
      const id = make(existing.raw);

      const read = await alice.gql(READ, { id });
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ data: { operation: null, node: null } });

      const cancel = await alice.gql(CANCEL, { id });
      expect(cancel.status).toBe(200);
      expect(cancel.body).toEqual({
        data: {
          cancelOperation: { __typename: 'NotFoundError', message: 'No such operation.', id },
        },
      });

      const ws = wsClient(server.wsUrl, alice.token);
      const viaWs = ws.subscribe(WATCH, { id });
      const wsResult = await viaWs.results.next().catch(() => null);
      const wsErrors = wsResult === null ? viaWs.results.error : wsResult.errors;
      expect(wsResult?.data ?? null).toBeNull();
      expect(wsErrors).toMatchObject([
        { message: 'No such operation.', extensions: { code: 'NOT_FOUND' } },
      ]);

      const viaSse = await sse(server.url, alice.token, WATCH, { id });
      expect(viaSse.status).toBe(200);
      const events = await viaSse.events.rest();
      expect(events.map((event) => event.event)).toEqual(['next', 'complete']);
      const sseResult = JSON.parse(events[0]?.data ?? '{}') as { data?: unknown; errors?: unknown };
      expect(sseResult.data ?? null).toBeNull();
      expect(sseResult.errors).toMatchObject([
        { message: 'No such operation.', extensions: { code: 'NOT_FOUND' } },
      ]);

      // The server keeps serving everyone, on the same socket too, and nothing changed.
      const again = ws.subscribe('{ viewer { id } }');
      expect(await again.results.next()).toEqual({ data: { viewer: { id: 'alice' } } });
      expect(ws.closes.drain()).toEqual([]);
      expect(await alice.get(existing.global)).toMatchObject({ status: 'RUNNING', revision: 2 });
      expect(server.logs.filter((entry) => entry.level === 'error')).toEqual([]);
    },
  );

  it('IDs given as GraphQL literals of other scalar shapes are looked up as text', async () => {
    const { alice } = await setup();
    const r = await alice.gql('{ a: operation(id: 123) { id } b: node(id: 0) { id } }');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: { a: null, b: null } });
  });
});
