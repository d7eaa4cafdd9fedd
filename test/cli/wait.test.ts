import { describe, expect, it } from 'vitest';
import { userClient } from '../helpers/clients.js';
import { gatedServer } from '../helpers/gated.js';
import { waitFor, within } from '../helpers/wait.js';
import { jsonLines, longrun, spawnLongrun } from './longrun.js';

/** `<iso time> <status> <progress%> <message>`, as `watch` prints a change off a terminal. */
const PLAIN_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (\S+) (\d{1,3}%|-)( .*)?\n$/;

/** Each `longrun` is a Node process compiling TypeScript on a shared machine: room for several. */
const SPAWNS = { timeout: 120_000 };

describe('longrun wait', () => {
  it('prints the final state once the operation is done; 0 when it SUCCEEDED', SPAWNS, async () => {
    const { server, alice, gated } = await gatedServer();
    const op = await alice.start({ kind: 'test.gated' });
    const run = await gated.started(op.id);
    const auth = ['--url', server.url, '--token', alice.token];
    const plain = spawnLongrun(['wait', op.id, ...auth]);
    const json = spawnLongrun(['wait', op.id, '--json', ...auth]);
    // Each holds one waitOperation (a feed) on the server while the operation runs.
    await waitFor(
      () => server.app.gauges().streams === 2,
      'both waits to reach the server',
      60_000,
    );
    await run.ctx.progress(0.5, 'half way');
    run.finish({ ok: true });

    const [plainResult, jsonResult] = await within(
      Promise.all([plain.result, json.result]),
      'both to exit',
      30_000,
    );
    expect(plainResult).toMatchObject({ code: 0, stderr: '' });
    expect(plainResult.stdout).toMatch(PLAIN_LINE);
    expect(plainResult.stdout).toMatch(/ SUCCEEDED 50% half way\n$/);
    expect(jsonResult).toMatchObject({ code: 0, stderr: '' });
    expect(jsonLines(jsonResult.stdout)).toEqual([
      expect.objectContaining({ id: op.id, status: 'SUCCEEDED', done: true, result: { ok: true } }),
    ]);
  });

  it('exits 1 with how it ended when the operation is cancelled elsewhere', SPAWNS, async () => {
    const { server, alice, gated } = await gatedServer();
    const admin = userClient(server, 'root', { admin: true });
    const op = await alice.start({ kind: 'test.gated', input: { onAbort: 'reject' } });
    await gated.started(op.id);
    const waiting = spawnLongrun(['wait', op.id, '--url', server.url, '--token', alice.token]);
    await waitFor(() => server.app.gauges().streams === 1, 'the wait to reach the server', 60_000);
    expect((await admin.cancel(op.id, 'not needed')).__typename).toBe('CancelOperationSuccess');
    const result = await within(waiting.result, 'the wait to exit', 30_000);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/ CANCELLED -\n$/);
    expect(result.stderr).toBe('longrun: CANCELLED by root: "not needed"\n');
  });

  it(
    'exits 124 with the current state at --timeout, 4 for an unknown id, 2 for a bad timeout',
    SPAWNS,
    async () => {
      const { server, alice, gated } = await gatedServer();
      const op = await alice.start({ kind: 'test.gated' });
      const run = await gated.started(op.id);
      await run.ctx.progress(0.25, 'a quarter');
      const auth = ['--url', server.url, '--token', alice.token];
      const late = await longrun(['wait', op.id, '--timeout', '1s', ...auth]);
      expect(late.code).toBe(124);
      expect(late.stdout).toMatch(PLAIN_LINE);
      expect(late.stdout).toMatch(/ RUNNING 25% a quarter\n$/);
      expect(late.stderr).toBe(`longrun: operation ${op.id} is still RUNNING after --timeout 1s\n`);

      const unknownId = Buffer.from('Operation:0000-nope').toString('base64');
      expect(await longrun(['wait', unknownId, ...auth])).toEqual({
        code: 4,
        stdout: '',
        stderr: `longrun: no operation ${unknownId} (or it is not visible to you)\n`,
      });
      const bad = await longrun(['wait', op.id, '--timeout', 'soon', ...auth]);
      expect(bad).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'longrun: --timeout: expected a duration such as 30s, 10m or 2h (plain numbers are seconds), got "soon" (see "longrun wait --help")\n',
      });
      expect((await alice.get(op.id))?.status).toBe('RUNNING');
    },
  );
});
