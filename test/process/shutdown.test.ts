import { describe, expect, it } from 'vitest';
import { OPERATION_SELECTION, type Op, sse, userClient, wsClient } from '../helpers/clients.js';
import { openDb } from '../helpers/db.js';
import { type ServerProcess, spawnServer } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

interface StoredRow {
  id: string;
  status: string;
  error: string | null;
  revision: number;
  lease_owner: string | null;
  finished_at: number | null;
}

/**
 * Every stored operation by raw id, read straight from the SQLite file of an exited server
 * (read-write, so the WAL of a process that exited without closing is recovered).
 */
function storedRows(dataDir: string): Map<string, StoredRow> {
  const db = openDb(dataDir);
  try {
    const rows = db
      .prepare('select id, status, error, revision, lease_owner, finished_at from operations')
      .all() as StoredRow[];
    return new Map(rows.map((row) => [row.id, row]));
  } finally {
    db.close();
  }
}

async function started(env: Record<string, string | undefined>, dataDir?: string) {
  const server = spawnServer(env, dataDir);
  const url = await server.listening;
  return {
    server,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    alice: userClient({ url, wsUrl: url.replace(/^http/, 'ws') }, 'alice'),
  };
}

/** Resolves once the server has written a log line with this message. */
function logged(server: ServerProcess, message: string): Promise<string> {
  return waitFor(
    () => server.lines.find((line) => line.includes(`"message":"${message}"`)),
    `log "${message}"`,
    20_000,
  );
}

function rawIdOf(op: Op): string {
  return Buffer.from(op.id, 'base64')
    .toString('utf8')
    .replace(/^Operation:/, '');
}

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s closes WebSockets with 1001, ends SSE streams with SERVICE_UNAVAILABLE, records the running op INTERRUPTED, keeps PENDING ones, exits 0',
    async (signal) => {
      const { server, url, wsUrl, alice } = await started({
        SHUTDOWN_GRACE_MS: '300',
        MAX_CONCURRENT_RUNS: '1',
        LEASE_MS: '1000',
      });
      const running = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
      await waitFor(
        async () => (await alice.get(running.id))?.status === 'RUNNING',
        'the first op to run',
      );
      const pending = await alice.start({ kind: 'demo.sleep', input: { ms: 50, steps: 1 } });
      expect(pending.status).toBe('PENDING');

      const ws = wsClient(wsUrl, alice.token);
      const wsFeed = ws.subscribe(
        `subscription($id: ID!) { operationUpdated(id: $id) { ${OPERATION_SELECTION} } }`,
        {
          id: running.id,
        },
      );
      const stream = await sse(
        url,
        alice.token,
        `subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }`,
        { id: running.id },
      );
      expect(stream.status).toBe(200);
      // Both subscriptions are live once they have sent the current state.
      expect((await wsFeed.results.next()).data).toMatchObject({
        operationUpdated: { status: 'RUNNING' },
      });
      expect((await stream.results.next()).data).toMatchObject({
        operationUpdated: { id: running.id, status: 'RUNNING', revision: 2 },
      });

      server.child.kill(signal);
      expect(await ws.closes.next()).toEqual({ code: 1001, reason: 'Server shutting down' });
      // The SSE stream ends with an error saying why (never `complete`: the operation had not
      // ended), then the response ends cleanly.
      const ending = await stream.events.rest();
      expect(ending.map((event) => event.event)).not.toContain('complete');
      expect(JSON.parse(ending.at(-1)?.data ?? '{}')).toMatchObject({
        errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }],
      });
      expect(stream.events.error).toBeNull();
      expect(await server.exited).toBe(0);

      const rows = storedRows(server.dataDir);
      expect(rows.get(rawIdOf(running))).toMatchObject({
        status: 'FAILED',
        revision: 3,
        lease_owner: null,
      });
      expect(JSON.parse(rows.get(rawIdOf(running))?.error ?? 'null')).toMatchObject({
        code: 'INTERRUPTED',
      });
      expect(rows.get(rawIdOf(pending))).toMatchObject({
        status: 'PENDING',
        revision: 1,
        error: null,
      });
      expect(server.lines.some((line) => line.includes('"message":"stopped"'))).toBe(true);

      // The next process runs what was left PENDING; the interrupted one stays as recorded.
      const next = await started({ MAX_CONCURRENT_RUNS: '1', LEASE_MS: '1000' }, server.dataDir);
      const done = await waitFor(async () => {
        const current = await next.alice.get(pending.id);
        return current?.done ? current : null;
      }, 'the left-over PENDING op to finish');
      expect(done).toMatchObject({ status: 'SUCCEEDED', result: { slept: 50 }, revision: 4 });
      expect(await next.alice.get(running.id)).toMatchObject({
        status: 'FAILED',
        done: true,
        revision: 3,
        error: { code: 'INTERRUPTED' },
        cancelRequestedAt: null,
      });
    },
  );

  it('records a cancelling op INTERRUPTED too, never CANCELLED', async () => {
    const { server, alice } = await started({
      SHUTDOWN_GRACE_MS: '300',
      CANCEL_GRACE_MS: '600000',
    });
    const op = await alice.start({
      kind: 'demo.sleep',
      input: { ms: 600_000, steps: 1, ignoreCancel: true },
    });
    await waitFor(async () => (await alice.get(op.id))?.status === 'RUNNING', 'the op to run');
    const cancel = await alice.cancel(op.id, 'stop it');
    expect(cancel.operation?.status).toBe('CANCELLING');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const row = storedRows(server.dataDir).get(rawIdOf(op));
    expect(row).toMatchObject({ status: 'FAILED', revision: 4 });
    expect(JSON.parse(row?.error ?? 'null')).toMatchObject({ code: 'INTERRUPTED' });
  });

  it('lets a handler that finishes within the grace succeed, and refuses new connections meanwhile', async () => {
    const { server, url, alice } = await started({ SHUTDOWN_GRACE_MS: '30000' });
    // Long enough to be still running when the refused request below is made, even on a busy
    // machine; the test checks that it was.
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 6000, steps: 3 } });
    await waitFor(async () => (await alice.get(op.id))?.status === 'RUNNING', 'the op to run');
    server.child.kill('SIGTERM');
    await logged(server, 'shutting down');
    // The listening socket is closed before the handler is done: nobody new gets in.
    await expect(fetch(`${url.replace('/graphql', '/healthz')}`)).rejects.toThrow();
    const refusedAt = Date.now();
    // Refused by a process that was still finishing the handler, not by one already gone.
    expect(server.child.exitCode).toBeNull();
    expect(server.child.signalCode).toBeNull();
    expect(await server.exited).toBe(0);
    const row = storedRows(server.dataDir).get(rawIdOf(op));
    expect(row).toMatchObject({ status: 'SUCCEEDED', revision: 6, lease_owner: null });
    expect(row?.finished_at).toBeGreaterThan(refusedAt);
  });

  it('exits at once on a second signal; the next process recovers the abandoned op after its lease', async () => {
    const { server, alice } = await started({ SHUTDOWN_GRACE_MS: '600000', LEASE_MS: '1000' });
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
    await waitFor(async () => (await alice.get(op.id))?.status === 'RUNNING', 'the op to run');
    server.child.kill('SIGTERM');
    await logged(server, 'signal received: stopping gracefully');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(server.lines.some((line) => line.includes('second signal: exiting now'))).toBe(true);
    expect(storedRows(server.dataDir).get(rawIdOf(op))).toMatchObject({
      status: 'RUNNING',
      revision: 2,
    });

    const next = await started({ LEASE_MS: '1000' }, server.dataDir);
    const recovered = await waitFor(async () => {
      const current = await next.alice.get(op.id);
      return current?.done ? current : null;
    }, 'the abandoned op to be taken back');
    expect(recovered).toMatchObject({
      status: 'FAILED',
      revision: 3,
      error: { code: 'INTERRUPTED' },
    });
  });
});
