import { describe, expect, it } from 'vitest';
import { type Op, userClient } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';
import { type CliResult, jsonLines, spawnLongrun } from './longrun.js';

/** Each `longrun` is a Node process compiling TypeScript on a shared machine: room for several. */
const SPAWNS = { timeout: 120_000 };

/** Runs several `longrun`s at once (each start-up is the slow part) and returns their results. */
function runAll<const T extends ReadonlyArray<readonly string[]>>(
  commands: T,
): Promise<{ -readonly [K in keyof T]: CliResult }> {
  return Promise.all(commands.map((args) => spawnLongrun(args).result)) as Promise<{
    -readonly [K in keyof T]: CliResult;
  }>;
}

type Retried = Op & { timeoutMs: number | null; retryOf: { id: string } | null };

describe('longrun retry', () => {
  it(
    'prints the new run’s id, or with --json the new operation; --watch follows it and exits as watch does',
    SPAWNS,
    async () => {
      const server = await startTestServer();
      const alice = userClient(server, 'alice');
      const input = { ms: 0, steps: 1, ignoreCancel: false, fail: 'upstream said no' };
      const op = await alice.start({ kind: 'demo.sleep', input, timeoutMs: 60_000 });
      const failed = await doneState(alice, op.id);
      expect(failed.status).toBe('FAILED');
      const auth = ['--url', server.url, '--token', alice.token];
      const [plain, json, watched] = await runAll([
        ['retry', op.id, ...auth],
        ['retry', op.id, '--json', ...auth],
        ['retry', op.id, '--watch', '--json', ...auth],
      ]);

      expect(plain).toMatchObject({ code: 0, stderr: '' });
      const plainId = plain.stdout.trim();
      expect(plain.stdout).toBe(`${plainId}\n`);
      expect(plainId).not.toBe(op.id);

      expect(json).toMatchObject({ code: 0, stderr: '' });
      const [printed] = jsonLines(json.stdout) as unknown as Retried[];
      expect(printed).toMatchObject({
        kind: 'demo.sleep',
        input,
        timeoutMs: 60_000,
        ownerId: 'alice',
        status: 'PENDING',
        revision: 1,
        retryOf: { id: op.id },
      });

      // The new run fails as the original did: watch's exit code 1, its states one per line.
      expect(watched.code).toBe(1);
      const states = jsonLines(watched.stdout) as unknown as Retried[];
      expect(states[0]).toMatchObject({ status: 'PENDING', retryOf: { id: op.id } });
      expect(states.at(-1)).toMatchObject({
        status: 'FAILED',
        error: { message: 'upstream said no' },
      });
      expect(new Set(states.map((state) => state.id)).size).toBe(1);

      for (const id of [plainId, printed?.id ?? '']) {
        const run = await doneState(alice, id);
        expect(run).toMatchObject({ status: 'FAILED', ownerId: 'alice' });
      }
      expect(await alice.get(op.id)).toEqual(failed);
    },
  );

  it(
    'exits 2 for an operation that is not done, 4 for one that is not yours; nothing is started',
    SPAWNS,
    async () => {
      const server = await startTestServer();
      const alice = userClient(server, 'alice');
      const bob = userClient(server, 'bob');
      const running = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000 } });
      await waitFor(
        async () => (await alice.get(running.id))?.status === 'RUNNING',
        'the operation to run',
      );
      const [notDone, foreign] = await runAll([
        ['retry', running.id, '--url', server.url, '--token', alice.token],
        ['retry', running.id, '--url', server.url, '--token', bob.token],
      ]);
      expect(notDone).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'longrun: invalid id: the operation is RUNNING; only a done operation can be retried\n',
      });
      expect(foreign).toEqual({
        code: 4,
        stdout: '',
        stderr: `longrun: no operation ${running.id} (or it is not visible to you)\n`,
      });
      const count = await alice.gql<{ operations: { totalCount: number } }>(
        '{ operations { totalCount } }',
      );
      expect(count.body.data?.operations.totalCount).toBe(1);
    },
  );

  it(
    'exits 1 when a per-owner quota refuses the retry, saying when to try again',
    SPAWNS,
    async () => {
      const server = await startTestServer({ START_RATE_PER_MINUTE: '1' });
      const alice = userClient(server, 'alice');
      const op = await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } });
      await doneState(alice, op.id);
      const refused = await spawnLongrun([
        'retry',
        op.id,
        '--url',
        server.url,
        '--token',
        alice.token,
      ]).result;
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        /^longrun: too many starts: an owner may start at most 1 operations in any 60 s\. Retry in [\d.]+ s\n$/,
      );
    },
  );
});
