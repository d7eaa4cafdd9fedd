import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CLUSTER_SKIP_REASON, clusterEnv } from '../helpers/cluster.js';
import { EventQueue } from '../helpers/queue.js';
import { sayWhySkipped } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { type Node, startNode, untilStatus } from './fixture.js';

/** A graphql-transport-ws subscriber on a bare socket: every message as sent, errors included. */
async function subscriber(node: Node, token: string, id: string, query: string, variables: object) {
  const ws = new WebSocket(node.wsUrl, 'graphql-transport-ws');
  const messages = new EventQueue<{
    type: string;
    id?: string;
    payload?: {
      data?: unknown;
      errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
    };
  }>();
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  ws.on('close', () => messages.end());
  ws.on('error', () => undefined);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
  );
  expect(await messages.next()).toEqual({ type: 'connection_ack' });
  ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  return { ws, messages };
}

const WATCH_WITH_LOG = `subscription($id: ID!) {
  operationUpdated(id: $id) { id status revision events(first: 10) { edges { node { revision status } } } }
}`;

sayWhySkipped(CLUSTER_SKIP_REASON, 'server processes sharing one PostgreSQL and one Redis');
describe.skipIf(CLUSTER_SKIP_REASON !== null)(
  `a subscription event whose execution fails${CLUSTER_SKIP_REASON ? ` (${CLUSTER_SKIP_REASON})` : ''}`,
  () => {
    it('reaches a WebSocket subscriber masked, with its request id, and is logged in full under that id', async () => {
      const env = await clusterEnv({ LEASE_MS: '60000', CANCEL_GRACE_MS: '60000' });
      // A runs the operation; B serves the subscriber as a role that can lose its read of the
      // transition log while everything else goes on.
      const a = await startNode(env);
      const role = `longrun_reader_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: env.DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN`);
        await admin.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`);
        await admin.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
        const op = await a.alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
        await untilStatus(a.alice, op.id, 'RUNNING');
        const url = new URL(env.DATABASE_URL);
        url.username = role;
        const b = await startNode({ ...env, DATABASE_URL: url.toString() });

        const { ws, messages } = await subscriber(b, b.alice.token, 'watch-1', WATCH_WITH_LOG, {
          id: op.id,
        });
        const first = await messages.next();
        expect(first).toMatchObject({
          id: 'watch-1',
          type: 'next',
          payload: { data: { operationUpdated: { status: 'RUNNING', revision: 2 } } },
        });
        expect(first.payload?.errors).toBeUndefined();

        await admin.query(`REVOKE SELECT ON operation_events FROM ${role}`);
        await a.alice.cancel(op.id, 'enough');
        const failed = await messages.next();
        expect(failed).toMatchObject({ id: 'watch-1', type: 'next' });
        const errors = failed.payload?.errors ?? [];
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({
          message: 'Unexpected error.',
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        });
        const requestId = errors[0]?.extensions?.requestId;
        expect(requestId).toMatch(/:watch-1$/);
        const text = JSON.stringify(failed);
        expect(text).not.toMatch(/permission|operation_events|select|stack|node_modules/i);

        const loggedUnder = () =>
          b.lines
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as Record<string, unknown>)
            .find((entry) => entry.level === 'error' && entry.requestId === requestId);
        expect(
          await waitFor(loggedUnder, 'the masked error logged under its request id'),
        ).toMatchObject({
          message: 'unexpected error',
          error: { message: expect.stringMatching(/permission denied for table operation_events/) },
        });
        ws.terminate();
      } finally {
        await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
        await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
        await admin.end();
      }
    });
  },
);
