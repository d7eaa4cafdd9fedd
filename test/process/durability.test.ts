import { describe, expect, it } from 'vitest';
import { gql, type Op, userClient } from '../helpers/clients.js';
import { openDb } from '../helpers/db.js';
import { type ServerProcess, spawnServer } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

interface StoredRow {
  id: string;
  status: string;
  revision: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  finished_at: number | null;
}

function storedRow(dataDir: string, id: string): StoredRow | undefined {
  const db = openDb(dataDir);
  try {
    return db
      .prepare(
        'select id, status, revision, lease_owner, lease_expires_at, finished_at from operations where id = ?',
      )
      .get(id) as StoredRow | undefined;
  } finally {
    db.close();
  }
}

async function started(env: Record<string, string | undefined>, dataDir?: string) {
  const server = spawnServer(env, dataDir);
  const url = await server.listening;
  const endpoint = { url, wsUrl: url.replace(/^http/, 'ws') };
  return { server, url, alice: userClient(endpoint, 'alice') };
}

type Client = Awaited<ReturnType<typeof started>>['alice'];

function rawIdOf(op: Op): string {
  return Buffer.from(op.id, 'base64')
    .toString('utf8')
    .replace(/^Operation:/, '');
}

async function untilStatus(client: Client, op: Op, status: string): Promise<Op> {
  return waitFor(
    async () => {
      const current = await client.get(op.id);
      return current?.status === status ? current : null;
    },
    `${op.id} to be ${status}`,
    20_000,
  );
}

async function untilDone(client: Client, op: Op): Promise<Op> {
  return waitFor(
    async () => {
      const current = await client.get(op.id);
      return current?.done ? current : null;
    },
    `${op.id} to be done`,
    20_000,
  );
}

async function killed(server: ServerProcess): Promise<void> {
  server.child.kill('SIGKILL');
  expect(await server.exited).toBe('SIGKILL');
}

const INTERRUPTED = {
  code: 'INTERRUPTED',
  message: 'The process running this operation stopped before it finished.',
};

describe('crash recovery', () => {
  it('keeps an operation acknowledged just before kill -9 and runs it after the restart', async () => {
    const env = { MAX_CONCURRENT_RUNS: '1', LEASE_MS: '1000' };
    const first = await started(env);
    // One long op holds the only slot, so the next one is certainly still PENDING at the kill.
    const blocker = await first.alice.start({
      kind: 'demo.sleep',
      input: { ms: 600_000, steps: 1 },
    });
    await untilStatus(first.alice, blocker, 'RUNNING');
    const op = await first.alice.start({ kind: 'demo.sleep', input: { ms: 200, steps: 2 } });
    expect(op).toMatchObject({ status: 'PENDING', revision: 1 });
    await killed(first.server);

    const second = await started(env, first.server.dataDir);
    const done = await untilDone(second.alice, op);
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      result: { slept: 200 },
      progress: 1,
      revision: 5,
      createdAt: op.createdAt,
      error: null,
    });
    expect(await untilDone(second.alice, blocker)).toMatchObject({
      status: 'FAILED',
      revision: 3,
      error: INTERRUPTED,
    });
  });

  it('takes back RUNNING (→ FAILED INTERRUPTED) and CANCELLING (→ CANCELLED) ops of a killed process once their leases lapse', async () => {
    const first = await started({
      LEASE_MS: '1000',
      CANCEL_GRACE_MS: '600000',
      INSTANCE_NAME: 'first',
    });
    const running = await first.alice.start({
      kind: 'demo.sleep',
      input: { ms: 600_000, steps: 1 },
    });
    const stubborn = await first.alice.start({
      kind: 'demo.sleep',
      input: { ms: 600_000, steps: 1, ignoreCancel: true },
    });
    await untilStatus(first.alice, running, 'RUNNING');
    await untilStatus(first.alice, stubborn, 'RUNNING');
    const cancel = await first.alice.cancel(stubborn.id, 'no longer needed');
    expect(cancel.operation).toMatchObject({ status: 'CANCELLING', revision: 3 });
    await killed(first.server);

    // The leases the dead process left behind: nothing may be taken back before they lapse.
    const leases = new Map(
      [running, stubborn].map((op) => {
        const row = storedRow(first.server.dataDir, rawIdOf(op));
        expect(row?.lease_owner).toMatch(/^first:[0-9a-f]{6}$/);
        return [op.id, row?.lease_expires_at ?? Number.NaN];
      }),
    );

    const second = await started({ LEASE_MS: '1000' }, first.server.dataDir);
    const interrupted = await untilDone(second.alice, running);
    expect(interrupted).toMatchObject({
      status: 'FAILED',
      done: true,
      revision: 3,
      error: INTERRUPTED,
      result: null,
      cancelRequestedAt: null,
    });
    const cancelled = await untilDone(second.alice, stubborn);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      done: true,
      revision: 4,
      error: { code: 'CANCELLED', message: 'no longer needed' },
      cancelledBy: 'alice',
      cancelReason: 'no longer needed',
    });
    for (const op of [interrupted, cancelled]) {
      expect(Date.parse(op.finishedAt ?? '')).toBeGreaterThanOrEqual(
        leases.get(op.id) ?? Number.NaN,
      );
    }
    expect(storedRow(first.server.dataDir, rawIdOf(running))?.lease_owner).toBeNull();
  });

  it('does not interrupt a handler that runs 3 × LEASE_MS on a live instance', async () => {
    const { server, alice } = await started({ LEASE_MS: '1000' });
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 3500, steps: 1 } });
    const feed = alice.watchWs(op.id);
    const seen = await feed.ops.rest(20_000);
    expect(seen.map((o) => o.status)).not.toContain('FAILED');
    expect(seen.at(-1)).toMatchObject({
      status: 'SUCCEEDED',
      revision: 4,
      result: { slept: 3500 },
      error: null,
    });
    expect(server.lines.filter((line) => /took back|lost the lease/.test(line))).toEqual([]);
  });

  it('fences a stopped worker: another process takes its op back, and its late writes after SIGCONT are no-ops', async () => {
    const env = { LEASE_MS: '1000', LOG_LEVEL: 'debug' };
    const a = await started({ ...env, INSTANCE_NAME: 'a' });
    const b = await started({ ...env, INSTANCE_NAME: 'b' }, a.server.dataDir);
    const op = await a.alice.start({
      kind: 'demo.sleep',
      input: { ms: 4000, steps: 1, ignoreCancel: true },
    });
    await untilStatus(a.alice, op, 'RUNNING');
    // Either process may have claimed it; the one holding the lease is the one to freeze.
    const owner = storedRow(a.server.dataDir, rawIdOf(op))?.lease_owner ?? '';
    const [frozen, survivor] = owner.startsWith('a:') ? [a, b] : [b, a];
    expect(owner).toMatch(frozen === a ? /^a:[0-9a-f]{6}$/ : /^b:[0-9a-f]{6}$/);

    frozen.server.child.kill('SIGSTOP');
    let recovered: Op;
    try {
      recovered = await untilDone(survivor.alice, op);
    } finally {
      frozen.server.child.kill('SIGCONT');
    }
    expect(recovered).toMatchObject({ status: 'FAILED', revision: 3, error: INTERRUPTED });
    expect(survivor.server.lines.some((l) => l.includes('took back an operation'))).toBe(true);

    // The frozen worker wakes up, finishes its handler and drops what it produced.
    await waitFor(
      () =>
        frozen.server.lines.find(
          (l) => l.includes('discarded the late outcome of a handler') && l.includes(rawIdOf(op)),
        ),
      'the woken worker to discard its late result',
      20_000,
    );
    for (const client of [frozen.alice, survivor.alice]) {
      expect(await client.get(op.id)).toEqual(recovered);
    }
    expect(recovered).toMatchObject({ progress: null, result: null, message: null });
  });

  it('survives kill -9 during a burst of writes: integrity ok, every acknowledged start present', async () => {
    // Hundreds of starts by one user in seconds: the per-owner quotas are lifted.
    const { server, url, alice } = await started({
      LEASE_MS: '1000',
      MAX_ACTIVE_PER_OWNER: '0',
      START_RATE_PER_MINUTE: '0',
    });
    const acknowledged: string[] = [];
    let stop = false;
    const mutation = `mutation($input: StartOperationInput!) { startOperation(input: $input) {
      __typename ... on StartOperationSuccess { operation { id } } } }`;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await gql<{ startOperation: { operation?: { id: string } } }>(
            url,
            alice.token,
            mutation,
            {
              input: {
                kind: 'demo.sleep',
                input: { ms: 0, steps: 1 },
                idempotencyKey: `w${w}-${i}`,
              },
            },
          );
          const id = r.body.data?.startOperation.operation?.id;
          if (id) acknowledged.push(id);
        } catch {
          return; // the server died under this request: not acknowledged
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    await waitFor(() => acknowledged.length >= 150, '150 acknowledged starts', 30_000);
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    expect(await server.exited).toBe('SIGKILL');
    const count = acknowledged.length;

    const db = openDb(server.dataDir);
    try {
      expect(db.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      const present = new Set(
        (db.prepare('select id from operations').all() as Array<{ id: string }>).map((r) => r.id),
      );
      const missing = acknowledged.filter(
        (id) =>
          !present.has(
            Buffer.from(id, 'base64')
              .toString()
              .replace(/^Operation:/, ''),
          ),
      );
      expect(missing).toEqual([]);
    } finally {
      db.close();
    }

    // The next process opens the same file, and no operation stays unfinished past its lease.
    const next = await started({ LEASE_MS: '1000' }, server.dataDir);
    const unfinished = async () => {
      const r = await next.alice.gql<{ operations: { totalCount: number } }>(
        '{ operations(status: [PENDING, RUNNING, CANCELLING]) { totalCount } }',
      );
      return r.body.data?.operations.totalCount;
    };
    await waitFor(async () => (await unfinished()) === 0, 'every operation to finish', 30_000);
    const all = await next.alice.gql<{ operations: { totalCount: number } }>(
      '{ operations { totalCount } }',
    );
    expect(all.body.data?.operations.totalCount).toBeGreaterThanOrEqual(count);
  });
});
