import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gql, userClient } from '../helpers/clients.js';
import { gatedServer } from '../helpers/gated.js';
import { spawnServer } from '../helpers/process.js';
import { TEST_SECRET } from '../helpers/server.js';
import { doneState, within } from '../helpers/wait.js';
import { emptyDir, jsonLines, longrun, spawnLongrun } from './longrun.js';

const root = resolve(import.meta.dirname, '..', '..');

/** `<iso time> <status> <progress%> <message>`: what a non-terminal `watch` prints per change. */
const PLAIN_LINE =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (PENDING|RUNNING|CANCELLING|SUCCEEDED|FAILED|CANCELLED) (\d{1,3}%|-)( \S.*)?$/;
const ISO_PREFIX = /^\S+ /;

/** A port nothing listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Lines of a plain `watch` output, checked to be plain (no \r, no escape sequences). */
function plainLines(stdout: string): string[] {
  expect(stdout).not.toContain('\r');
  expect(stdout).not.toContain('\u001b');
  const lines = stdout.split('\n');
  expect(lines.pop()).toBe('');
  for (const line of lines) expect(line).toMatch(PLAIN_LINE);
  return lines;
}

/** The NDJSON records of a `--json` watch, checked: strictly increasing revisions, done last. */
function watchRecords(stdout: string) {
  const records = jsonLines(stdout);
  const revisions = records.map((record) => record.revision as number);
  for (let i = 1; i < revisions.length; i++) {
    expect(revisions[i]).toBeGreaterThan(revisions[i - 1] ?? Number.POSITIVE_INFINITY);
  }
  expect(records.at(-1)?.done).toBe(true);
  expect(records.slice(0, -1).every((record) => record.done === false)).toBe(true);
  return records;
}

describe('longrun watch', () => {
  it('exits 1 and reports CANCELLED when an admin cancels the operation elsewhere', async () => {
    const { server, alice, gated } = await gatedServer();
    const admin = userClient(server, 'root', { admin: true });
    const op = await alice.start({ kind: 'test.gated', input: { onAbort: 'reject' } });
    await gated.started(op.id);
    const auth = ['--url', server.url, '--token', alice.token];
    const plain = spawnLongrun(['watch', op.id, ...auth]);
    const json = spawnLongrun(['watch', op.id, '--json', ...auth]);
    await plain.lines.until((line) => / RUNNING /.test(line), 15_000);
    await json.lines.until((line) => JSON.parse(line).status === 'RUNNING', 15_000);

    const cancelled = await admin.cancel(op.id, 'not needed');
    expect(cancelled.__typename).toBe('CancelOperationSuccess');

    const [plainResult, jsonResult] = await within(
      Promise.all([plain.result, json.result]),
      'both watchers to exit',
    );
    expect(plainResult.code).toBe(1);
    expect(plainResult.stderr).toBe('longrun: CANCELLED by root: "not needed"\n');
    const lines = plainLines(plainResult.stdout);
    expect(lines.map((line) => line.replace(ISO_PREFIX, ''))).toEqual([
      'RUNNING -',
      'CANCELLING -',
      'CANCELLED -',
    ]);

    expect(jsonResult.code).toBe(1);
    expect(jsonResult.stderr).toBe('longrun: CANCELLED by root: "not needed"\n');
    const records = watchRecords(jsonResult.stdout);
    expect(records.map((record) => record.status)).toEqual(['RUNNING', 'CANCELLING', 'CANCELLED']);
    expect(records.at(-1)).toMatchObject({
      id: op.id,
      ownerId: 'alice',
      cancelledBy: 'root',
      cancelReason: 'not needed',
    });
  });

  it('exits 0 when the operation succeeds, printing every change', async () => {
    const { server, alice, gated } = await gatedServer();
    const op = await alice.start({ kind: 'test.gated' });
    const run = await gated.started(op.id);
    const auth = ['--url', server.url, '--token', alice.token];
    const plain = spawnLongrun(['watch', op.id, ...auth]);
    const json = spawnLongrun(['--json', 'watch', op.id, ...auth]);
    await plain.lines.next(15_000);
    await json.lines.next(15_000);
    await run.ctx.progress(0.5, 'half way');
    await plain.lines.until((line) => line.endsWith('half way'));
    await json.lines.until((line) => JSON.parse(line).progress === 0.5);
    run.finish({ ok: true });

    const [plainResult, jsonResult] = await Promise.all([plain.result, json.result]);
    expect(plainResult).toMatchObject({ code: 0, stderr: '' });
    expect(plainLines(plainResult.stdout).map((line) => line.replace(ISO_PREFIX, ''))).toEqual([
      'RUNNING -',
      'RUNNING 50% half way',
      'SUCCEEDED 50% half way',
    ]);
    expect(jsonResult).toMatchObject({ code: 0, stderr: '' });
    const records = watchRecords(jsonResult.stdout);
    expect(records.map((record) => [record.status, record.progress])).toEqual([
      ['RUNNING', null],
      ['RUNNING', 0.5],
      ['SUCCEEDED', 0.5],
    ]);
    expect(records.at(-1)?.result).toEqual({ ok: true });
  });

  it('fails at once for an unknown id (4), a bad token (3) and an unreachable server (3)', async () => {
    const { server, alice, gated } = await gatedServer();
    const op = await alice.start({ kind: 'test.gated' });
    await gated.started(op.id);
    const unknownId = Buffer.from('Operation:0000-nope').toString('base64');
    const deadUrl = `http://127.0.0.1:${await closedPort()}/graphql`;
    const bob = userClient(server, 'bob');
    const [unknown, foreign, badToken, unreachable] = await Promise.all([
      longrun(['watch', unknownId, '--url', server.url, '--token', alice.token]),
      longrun(['watch', op.id, '--url', server.url, '--token', bob.token]),
      longrun(['watch', op.id, '--url', server.url, '--token', 'not.a.token']),
      longrun(['watch', op.id, '--url', deadUrl, '--token', alice.token]),
    ]);
    expect(unknown).toEqual({
      code: 4,
      stdout: '',
      stderr: `longrun: no operation ${unknownId} (or it is not visible to you)\n`,
    });
    expect(foreign).toEqual({
      code: 4,
      stdout: '',
      stderr: `longrun: no operation ${op.id} (or it is not visible to you)\n`,
    });
    expect(badToken.code).toBe(3);
    expect(badToken.stdout).toBe('');
    expect(badToken.stderr).toBe(
      'longrun: not authenticated: a valid bearer token is required (check --token or LONGRUN_TOKEN)\n',
    );
    expect(unreachable).toEqual({
      code: 3,
      stdout: '',
      stderr: `longrun: cannot reach ${deadUrl} (connection refused)\n`,
    });
  });

  it('stops on Ctrl-C with exit 130 and leaves the operation running', async () => {
    const { server, alice, gated } = await gatedServer();
    const op = await alice.start({ kind: 'test.gated' });
    await gated.started(op.id);
    const watch = spawnLongrun(['watch', op.id, '--url', server.url, '--token', alice.token]);
    await watch.lines.until((line) => / RUNNING /.test(line), 15_000);
    watch.child.kill('SIGINT');
    const result = await within(watch.result, 'watch to stop');
    expect(result.code).toBe(130);
    expect(result.stderr).toBe(
      `longrun: interrupted; operation ${op.id} is still RUNNING (stop it with: longrun cancel ${op.id})\n`,
    );
    expect((await alice.get(op.id))?.status).toBe('RUNNING');
  });
});

describe('longrun start', () => {
  it('prints the id, the operation with --json, and follows it with --watch', async () => {
    const { server, alice } = await gatedServer();
    const auth = ['--url', server.url, '--token', alice.token];
    const [plain, json, watched] = await Promise.all([
      longrun(['start', 'test.gated', ...auth]),
      longrun(['start', 'demo.sleep', '--input', '{"ms": 0, "steps": 1}', '--json', ...auth]),
      longrun([
        'start',
        'demo.sleep',
        '--input',
        '{"ms": 60, "steps": 3}',
        '--watch',
        '--json',
        ...auth,
      ]),
    ]);

    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toMatch(/^\S+\n$/);
    expect(await alice.get(plain.stdout.trim())).toMatchObject({
      kind: 'test.gated',
      ownerId: 'alice',
    });

    expect(json).toMatchObject({ code: 0, stderr: '' });
    const [started] = jsonLines(json.stdout);
    expect(jsonLines(json.stdout)).toHaveLength(1);
    expect(started).toMatchObject({
      kind: 'demo.sleep',
      status: 'PENDING',
      revision: 1,
      ownerId: 'alice',
      input: { ms: 0, steps: 1 },
    });

    expect(watched).toMatchObject({ code: 0, stderr: '' });
    const records = watchRecords(watched.stdout);
    expect(records[0]).toMatchObject({ status: 'PENDING', revision: 1 });
    expect(records.at(-1)).toMatchObject({ status: 'SUCCEEDED', result: { slept: 60 } });
  });

  it('exits 2 for an unknown kind or input that is not JSON, and starts nothing', async () => {
    const { server, alice } = await gatedServer();
    const auth = ['--url', server.url, '--token', alice.token];
    const [unknownKind, notJson, invalid, badTimeout] = await Promise.all([
      longrun(['start', 'no.such.kind', ...auth]),
      longrun(['start', 'demo.sleep', '--input', 'not json', ...auth]),
      longrun(['start', 'demo.sleep', '--input', '{"ms": -1}', ...auth]),
      longrun(['start', 'demo.sleep', '--timeout', 'soon', ...auth]),
    ]);
    expect(unknownKind).toEqual({
      code: 2,
      stdout: '',
      stderr: 'longrun: no handler is registered for kind "no.such.kind"\n',
    });
    expect(notJson.code).toBe(2);
    expect(notJson.stdout).toBe('');
    expect(notJson.stderr).toMatch(
      /^longrun: --input is not valid JSON: .+ \(see "longrun start --help"\)\n$/,
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^longrun: invalid input\.ms: .+\n$/);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toMatch(/^longrun: --timeout: expected a whole number/);

    const admin = userClient(server, 'root', { admin: true });
    const listed = await admin.gql<{ operations: { totalCount: number } }>(
      '{ operations { totalCount } }',
    );
    expect(listed.body.data?.operations.totalCount).toBe(0);
  });
});

describe('longrun cancel', () => {
  it('prints the status (or the operation with --json); exits 4 when unknown, 5 when finished', async () => {
    const { server, alice, gated } = await gatedServer();
    const [running, other, finished] = await Promise.all([
      alice.start({ kind: 'test.gated' }),
      alice.start({ kind: 'test.gated' }),
      alice.start({ kind: 'test.gated' }),
    ]);
    await Promise.all([gated.started(running.id), gated.started(other.id)]);
    (await gated.started(finished.id)).finish();
    await doneState(alice, finished.id);
    const auth = ['--url', server.url, '--token', alice.token];
    const unknownId = Buffer.from('Operation:0000-nope').toString('base64');
    const [plain, json, unknown, done] = await Promise.all([
      longrun(['cancel', running.id, '--reason', 'enough', ...auth]),
      longrun(['cancel', other.id, '--json', ...auth]),
      longrun(['cancel', unknownId, ...auth]),
      longrun(['cancel', finished.id, ...auth]),
    ]);
    expect(plain).toEqual({ code: 0, stdout: 'CANCELLING\n', stderr: '' });
    expect((await alice.get(running.id))?.cancelReason).toBe('enough');

    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(jsonLines(json.stdout)).toEqual([
      expect.objectContaining({ id: other.id, status: 'CANCELLING', cancelledBy: 'alice' }),
    ]);

    expect(unknown).toEqual({
      code: 4,
      stdout: '',
      stderr: `longrun: no operation ${unknownId} (or it is not visible to you)\n`,
    });
    expect(done).toEqual({
      code: 5,
      stdout: '',
      stderr: `longrun: operation ${finished.id} already ended SUCCEEDED; it can no longer be cancelled\n`,
    });
  });
});

describe('longrun list', () => {
  it("shows a user only their operations and an admin everyone's", async () => {
    const { server, alice } = await gatedServer();
    const bob = userClient(server, 'bob');
    const admin = userClient(server, 'root', { admin: true });
    const mine = [
      await alice.start({ kind: 'test.gated' }),
      await alice.start({ kind: 'demo.sleep', input: { ms: 0, steps: 1 } }),
    ];
    const bobs = await bob.start({ kind: 'test.gated' });
    const at = (token: string) => ['--url', server.url, '--token', token];
    const [aliceJson, bobJson, adminJson, ownerJson, statusJson, table] = await Promise.all([
      longrun(['list', '--json', ...at(alice.token)]),
      longrun(['list', '--json', ...at(bob.token)]),
      longrun(['list', '--json', ...at(admin.token)]),
      longrun(['list', '--json', '--owner', 'bob', ...at(admin.token)]),
      longrun(['list', '--json', '--status', 'failed,cancelled', ...at(admin.token)]),
      longrun(['list', ...at(alice.token)]),
    ]);
    const ids = (result: { stdout: string }) => {
      const parsed: unknown = JSON.parse(result.stdout);
      expect(Array.isArray(parsed)).toBe(true);
      return (parsed as Array<{ id: string }>).map((op) => op.id).sort();
    };
    for (const result of [aliceJson, bobJson, adminJson, ownerJson, statusJson, table]) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
    }
    expect(ids(aliceJson)).toEqual(mine.map((op) => op.id).sort());
    expect(ids(bobJson)).toEqual([bobs.id]);
    expect(ids(adminJson)).toEqual([...mine, bobs].map((op) => op.id).sort());
    expect(ids(ownerJson)).toEqual([bobs.id]);
    expect(ids(statusJson)).toEqual([]);

    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +KIND +STATUS +PROGRESS +OWNER +AGE$/);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatch(/^\S+ +(test\.gated|demo\.sleep) +[A-Z]+ +(\d+%|-) +alice +\d+[smhd]$/);
    }
    expect(rows.map((row) => row.split(/ +/)[0]).sort()).toEqual(mine.map((op) => op.id).sort());
  });
});

describe('longrun token', () => {
  it('prints a token the server accepts', async () => {
    const { server } = await gatedServer();
    const minted = await longrun(['token', '--sub', 'carol', '--admin', '--ttl', '10m'], {
      JWT_SECRET: TEST_SECRET,
    });
    expect(minted.code).toBe(0);
    expect(minted.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const viewer = await gql(server.url, minted.stdout.trim(), '{ viewer { id isAdmin } }');
    expect(viewer.body).toEqual({ data: { viewer: { id: 'carol', isAdmin: true } } });

    const listed = await longrun(['list', '--url', server.url], {
      LONGRUN_TOKEN: minted.stdout.trim(),
    });
    expect(listed).toEqual({ code: 0, stdout: 'No operations.\n', stderr: '' });
  });
});

describe('without a token', () => {
  it("uses a local development server's key from DATA_DIR, and never creates one", async () => {
    const server = spawnServer({ JWT_SECRET: undefined });
    const url = await within(server.listening, 'the server to listen', 20_000);
    const dev = { DATA_DIR: server.dataDir, LONGRUN_URL: url };
    const noKey = emptyDir();
    const [watched, missing] = await Promise.all([
      longrun(
        ['start', 'demo.sleep', '--input', '{"ms": 40, "steps": 2}', '--watch', '--json'],
        dev,
      ),
      longrun(['list', '--url', url], { DATA_DIR: noKey }),
    ]);
    expect(watched).toMatchObject({ code: 0, stderr: '' });
    const records = watchRecords(watched.stdout);
    expect(records.at(-1)).toMatchObject({ status: 'SUCCEEDED', ownerId: 'developer' });

    const listed = await longrun(['list', '--json'], dev);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: records[0]?.id, ownerId: 'developer', status: 'SUCCEEDED' }),
    ]);

    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(
      `longrun: no token: pass --token <jwt> or set LONGRUN_TOKEN (no development key in ${noKey})\n`,
    );
    expect(existsSync(join(noKey, 'dev-jwt-secret'))).toBe(false);
  });
});

describe('the command line', () => {
  it('answers --help and --version, and exits 2 with a hint for unknown commands and options', async () => {
    const [help, watchHelp, version, bare, unknownCommand, unknownOption, missingId] =
      await Promise.all([
        longrun(['--help']),
        longrun(['watch', '--help']),
        longrun(['--version']),
        longrun([]),
        longrun(['frobnicate']),
        longrun(['list', '--frob']),
        longrun(['watch']),
      ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: longrun <command> \[options\]\n/);
    for (const text of ['start <kind>', 'list', 'watch <id>', 'cancel <id>', 'token', '--url']) {
      expect(help.stdout).toContain(text);
    }
    expect(help.stdout).toMatch(/^ {2}3 +cannot connect or authenticate/m);
    expect(help.stdout).toMatch(/^ {2}130 +interrupted/m);

    expect(watchHelp.code).toBe(0);
    expect(watchHelp.stdout).toMatch(/^Usage: longrun watch <id>\n/);

    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });

    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/^Usage: longrun <command>/);
    expect(unknownCommand).toEqual({
      code: 2,
      stdout: '',
      stderr: 'longrun: unknown command "frobnicate" (see "longrun --help")\n',
    });
    expect(unknownOption).toEqual({
      code: 2,
      stdout: '',
      stderr: 'longrun: unknown option --frob (see "longrun list --help")\n',
    });
    expect(missingId).toEqual({
      code: 2,
      stdout: '',
      stderr: 'longrun: missing <id> (see "longrun watch --help")\n',
    });
  });
});
