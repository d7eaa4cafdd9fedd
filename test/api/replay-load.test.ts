import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toGlobalId } from '../../src/schema/ids.js';
import { mapOps, userClient, wsClient } from '../helpers/clients.js';
import { seedLongLog } from '../helpers/long-log.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const REVISIONS = 10_000;
const REPLAYS = 200;
const PER_SOCKET = 50;

const REPLAY = `subscription($id: ID!) {
  operationUpdated(id: $id, afterRevision: 0) { revision status progress } }`;

describe('replaying a long log (afterRevision) for many subscriptions at once', () => {
  it(`answers another user's query while ${REPLAYS} subscriptions replay ${REVISIONS} revisions each, and every replay is whole`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'longrun-test-'));
    const seeded = await seedLongLog(dataDir, 'alice', REVISIONS);
    const server = await startTestServer({}, { dataDir });
    const alice = userClient(server, 'alice');
    const id = toGlobalId(seeded.id);

    let finished = 0;
    const replays: Array<Promise<Array<{ revision: number; status: string }>>> = [];
    for (let socket = 0; socket < REPLAYS / PER_SOCKET; socket++) {
      const ws = wsClient(server.wsUrl, alice.token);
      for (let i = 0; i < PER_SOCKET; i++) {
        const states = mapOps(ws.subscribe(REPLAY, { id }).results, 'operationUpdated');
        replays.push(
          states.rest(240_000).then((all) => {
            finished++;
            return all;
          }),
        );
      }
    }
    await waitFor(
      () => server.app.gauges().streams === REPLAYS || finished > 0,
      'every replay to begin',
    );

    // Bob's query is answered while replays are still going: they read the log a page at a
    // time, in turns, and do not hold the server until they are all done.
    const bob = userClient(server, 'bob');
    const answer = await bob.gql('{ operations(first: 5) { totalCount } }');
    const finishedWhenAnswered = finished;
    expect(answer.body).toEqual({ data: { operations: { totalCount: 0 } } });
    expect(finishedWhenAnswered).toBeLessThan(REPLAYS);

    // Progress may be coalesced for a reader behind the replay; status changes never are.
    for (const states of await Promise.all(replays)) {
      const statuses = states.map((state) => state.status);
      expect(statuses.filter((status, i) => status !== statuses[i - 1])).toEqual([
        'PENDING',
        'RUNNING',
        'SUCCEEDED',
      ]);
      const revisions = states.map((state) => state.revision);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
      expect(revisions.at(-1)).toBe(REVISIONS);
    }
    await waitFor(() => server.app.gauges().streams === 0, 'every stream to close');
  }, 300_000);
});
