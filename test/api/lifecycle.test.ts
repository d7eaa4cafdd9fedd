import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';

describe('lifecycle', () => {
  it('runs an operation PENDING → RUNNING → SUCCEEDED with contiguous revisions over WebSocket and SSE', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 300, steps: 3 } });
    expect(op).toMatchObject({ status: 'PENDING', revision: 1, ownerId: 'alice', done: false });
    const ws = alice.watchWs(op.id);
    const viaSse = await alice.watchSse(op.id);
    for (const feed of [ws.ops, viaSse.ops]) {
      const seen = await feed.rest();
      const revisions = seen.map((o) => o.revision);
      expect(revisions[0]).toBeGreaterThanOrEqual(1);
      expect(revisions).toEqual(revisions.map((_, i) => revisions[0]! + i));
      expect(seen.at(-1)).toMatchObject({ status: 'SUCCEEDED', done: true, result: { slept: 300 }, progress: 1 });
      expect(seen.filter((o) => o.done)).toHaveLength(1);
    }
  });
});
