import { describe, expect, it } from 'vitest';
import { gql, userClient } from '../helpers/clients.js';
import { startTestServer } from '../helpers/server.js';
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

describe('longrun watch-link', () => {
  it(
    'prints the watch page link, or with --json the token, its expiry and the operation',
    SPAWNS,
    async () => {
      const server = await startTestServer();
      const alice = userClient(server, 'alice');
      const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000 } });
      const auth = ['--url', server.url, '--token', alice.token];
      const before = Date.now();
      const [plain, json, day] = await runAll([
        ['watch-link', op.id, ...auth],
        ['watch-link', op.id, '--ttl', '15m', '--json', ...auth],
        ['watch-link', op.id, '--ttl', '1d', '--json', ...auth],
      ]);

      expect(plain).toMatchObject({ code: 0, stderr: '' });
      expect(plain.stdout).toMatch(
        new RegExp(`^${server.origin}/watch#token=[\\w-]+\\.[\\w-]+\\.[\\w-]+\\n$`),
      );
      const token = plain.stdout.trim().split('#token=')[1] ?? '';
      // The token reads this operation and nothing else.
      const read = await gql(server.url, token, '{ operations { totalCount } }');
      expect(read.body).toEqual({ data: { operations: { totalCount: 0 } } });

      expect(json).toMatchObject({ code: 0, stderr: '' });
      const [granted] = jsonLines(json.stdout) as Array<{
        token: string;
        expiresAt: string;
        watchUrl: string;
        operation: { id: string };
      }>;
      expect(granted?.operation.id).toBe(op.id);
      expect(granted?.watchUrl).toBe(`${server.origin}/watch#token=${granted?.token}`);
      const life = Date.parse(granted?.expiresAt ?? '') - before;
      expect(life).toBeGreaterThan(15 * 60_000 - 2_000);
      expect(life).toBeLessThanOrEqual(15 * 60_000 + 60_000);
      const [longest] = jsonLines(day.stdout) as Array<{ expiresAt: string }>;
      expect(Date.parse(longest?.expiresAt ?? '') - before).toBeGreaterThan(86_400_000 - 60_000);
    },
  );

  it(
    'exits 4 for an operation that is not yours, 2 for a bad --ttl, and asks nothing of the server for it',
    SPAWNS,
    async () => {
      const server = await startTestServer();
      const alice = userClient(server, 'alice');
      const bob = userClient(server, 'bob');
      const op = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000 } });
      const [foreign, tooLong, fraction, words] = await runAll([
        ['watch-link', op.id, '--url', server.url, '--token', bob.token],
        ['watch-link', op.id, '--ttl', '2d', '--url', server.url, '--token', alice.token],
        ['watch-link', op.id, '--ttl', '1500ms', '--url', server.url, '--token', alice.token],
        ['watch-link', op.id, '--ttl', 'soon', '--url', server.url, '--token', alice.token],
      ]);
      expect(foreign).toMatchObject({
        code: 4,
        stdout: '',
        stderr: `longrun: no operation ${op.id} (or it is not visible to you)\n`,
      });
      for (const refused of [tooLong, fraction, words]) {
        expect(refused.code).toBe(2);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toMatch(/^longrun: --ttl: .*\(see "longrun watch-link --help"\)\n$/);
      }
    },
  );
});
