import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import { openDb } from '../helpers/db.js';
import { startTestServer } from '../helpers/server.js';

const DAY = 86_400_000;

describe('retention', () => {
  it('deletes done operations RETENTION_DAYS after finishedAt, and keeps everything else', async () => {
    const first = await startTestServer({ RETENTION_DAYS: '2' });
    const alice = userClient(first, 'alice');
    const old = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const recent = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
    const running = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
    await alice.watchWs(old.id).ops.until((o) => o.done);
    await alice.watchWs(recent.id).ops.until((o) => o.done);
    await alice.watchWs(running.id).ops.until((o) => o.status === 'RUNNING');
    await first.stop();

    // Age the first one past the window (3 days) and the second one just inside it (1 day).
    const db = openDb(first.dataDir);
    const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1];
    const age = db.prepare('UPDATE operations SET finished_at = ? WHERE id = ?');
    age.run(Date.now() - 3 * DAY, rawId(old.id));
    age.run(Date.now() - 1 * DAY, rawId(recent.id));
    db.close();

    const second = await startTestServer({ RETENTION_DAYS: '2' }, { dataDir: first.dataDir });
    const again = userClient(second, 'alice');
    expect(await again.get(old.id)).toBeNull();
    expect(await again.get(recent.id)).toMatchObject({ status: 'SUCCEEDED' });
    // The run cut short by the stop was recorded, not deleted.
    expect(await again.get(running.id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'INTERRUPTED' },
    });
  });
});
