import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { gql, OPERATION_SELECTION, userClient, wsClient } from '../helpers/clients.js';
import { type ServerProcess, spawnServer } from '../helpers/process.js';
import { tokenFor } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { CREATE_WATCH_TOKEN, mintTestWatchToken } from '../helpers/watch.js';

/** `createWatchToken` as sent, the whole reply. */
const createWatchTokenReply = (url: string, token: string, id: string) =>
  gql(url, token, CREATE_WATCH_TOKEN, { input: { id } });

const root = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** `npm run token -- …` as a developer types it, in `dataDir`, with no key configured. */
async function npmToken(dataDir: string, ...args: string[]): Promise<string> {
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir };
  delete env.JWT_SECRET;
  delete env.JWT_PUBLIC_KEY;
  delete env.NODE_ENV;
  const { stdout } = await run('npm', ['run', 'token', '--', ...args], { cwd: root, env });
  const token = stdout.trim().split('\n').at(-1)?.trim() ?? '';
  expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  return token;
}

const VIEWER = '{ viewer { id isAdmin } }';

/** Waits for a server that must refuse to start; its exit code and everything it printed. */
async function refusal(server: ServerProcess): Promise<{ code: number | string; output: string }> {
  await expect(server.listening).rejects.toThrow(/exited .* before listening/);
  return { code: await server.exited, output: server.lines.join('\n') };
}

describe('start-up', () => {
  it('without a key outside production prints a working token that never reaches a log line', async () => {
    const server = spawnServer({ JWT_SECRET: undefined, LOG_LEVEL: 'debug' });
    const url = await server.listening;
    const bannerLine = await waitFor(
      () => server.lines.find((line) => /^\s*Authorization: Bearer \S+$/.test(line)),
      'the development banner',
    );
    const token = bannerLine.trim().replace('Authorization: Bearer ', '');
    expect(server.lines.join('\n')).toContain('DEVELOPMENT mode');
    expect(server.lines).toContain(`GraphQL endpoint: ${url} (GraphiQL in a browser)`);
    expect(server.lines).toContain(`Live dashboard:   ${new URL('/', url).href}`);
    expect(statSync(join(server.dataDir, 'dev-jwt-secret')).mode & 0o777).toBe(0o600);

    const viewer = await gql(url, token, VIEWER);
    expect(viewer.status).toBe(200);
    expect(viewer.body).toEqual({ data: { viewer: { id: 'developer', isAdmin: true } } });

    // Use the token on every transport, with debug logging, so any leak would show.
    const started = await gql<{ startOperation: { operation: { id: string } } }>(
      url,
      token,
      `mutation { startOperation(input: { kind: "demo.sleep", input: { ms: 100, steps: 2 } }) {
        ... on StartOperationSuccess { operation { id } } } }`,
    );
    const id = started.body.data?.startOperation.operation.id;
    expect(id).toBeTruthy();
    const ws = wsClient(url.replace(/^http/, 'ws'), token);
    const feed = ws.subscribe(
      `subscription($id: ID!) { operationUpdated(id: $id) { ${OPERATION_SELECTION} } }`,
      { id },
    );
    const seen = await feed.results.rest();
    expect(seen.at(-1)?.data).toMatchObject({ operationUpdated: { status: 'SUCCEEDED' } });
    await ws.dispose();
    const wrong = await gql(url, `${token}x`, VIEWER);
    expect(wrong.status).toBe(401);

    // A token made by `npm run token` for the same data directory works too.
    const alice = await npmToken(server.dataDir, '--sub', 'alice');
    expect((await gql(url, alice, VIEWER)).body).toEqual({
      data: { viewer: { id: 'alice', isAdmin: false } },
    });
    // …and one made for another data directory (another development secret) does not.
    const otherDir = mkdtempSync(join(tmpdir(), 'longrun-other-'));
    const elsewhere = await npmToken(otherDir, '--sub', 'alice').finally(() =>
      rmSync(otherDir, { recursive: true, force: true }),
    );
    const refused = await gql(url, elsewhere, VIEWER);
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const signature = token.split('.')[2] ?? token;
    const leaks = server.lines.filter((line) => line.includes(signature));
    expect(leaks).toEqual([bannerLine]);
  });

  it('refuses to start in production without a key, naming JWT_SECRET', async () => {
    const { code, output } = await refusal(
      spawnServer({ NODE_ENV: 'production', JWT_SECRET: undefined }),
    );
    expect(code).not.toBe(0);
    expect(output).toContain('longrun: configuration error:');
    expect(output).toMatch(/JWT_SECRET/);
    expect(output).not.toContain('Authorization: Bearer');
  });

  it('starts in production without WATCH_TOKEN_SECRET, with watch links off and one warning', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'longrun-nowatch-'));
    try {
      // Only what a generic launcher passes: a key, the mode, where to listen and the database.
      const server = spawnServer(
        {
          NODE_ENV: 'production',
          WATCH_TOKEN_SECRET: undefined,
          DATABASE_URL: join(dataDir, 'prod.sqlite'),
        },
        dataDir,
      );
      const url = await server.listening;
      const warnings = server.lines.filter((line) => line.includes('"level":"warn"'));
      expect(warnings).toEqual([expect.stringContaining('watch links are disabled')]);
      expect(warnings[0]).toContain('WATCH_TOKEN_SECRET');

      const token = tokenFor('alice');
      const started = await gql<{ startOperation: { operation: { id: string } } }>(
        url,
        token,
        `mutation { startOperation(input: { kind: "demo.sleep", input: { ms: 60000, steps: 1 } }) {
          ... on StartOperationSuccess { operation { id } } } }`,
      );
      const id = started.body.data?.startOperation.operation.id ?? '';
      expect(id).not.toBe('');
      const before = await gql(url, token, `query($id: ID!) { operation(id: $id) { revision } }`, {
        id,
      });

      const refused = await createWatchTokenReply(url, token, id);
      expect(refused.body.data ?? null).toBeNull();
      expect(refused.body.errors).toEqual([
        expect.objectContaining({
          message:
            'Watch links are disabled on this server: it runs in production without WATCH_TOKEN_SECRET.',
          extensions: { code: 'WATCH_LINKS_DISABLED' },
        }),
      ]);
      const after = await gql(url, token, `query($id: ID!) { operation(id: $id) { revision } }`, {
        id,
      });
      expect(after.body).toEqual(before.body);

      // A watch token signed with any key is refused: there is none to check it with.
      const forged = await gql(url, mintTestWatchToken('alice', id, 600), '{ viewer { id } }');
      expect(forged.status).toBe(401);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.each([
    ['HOST', '0.0.0.0', { JWT_SECRET: undefined }],
    ['NODE_ENV', 'prod', {}],
  ])('refuses %s=%s with exit code 2 and one line naming it', async (name, value, extra) => {
    const { code, output } = await refusal(spawnServer({ ...extra, [name]: value }));
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^longrun: configuration error: ${name}: `)),
    ]);
    expect(output).not.toContain('Authorization: Bearer');
  });

  it('refuses an empty JWT_SECRET', async () => {
    const { code, output } = await refusal(spawnServer({ JWT_SECRET: '' }));
    expect(code).not.toBe(0);
    expect(output).toContain('longrun: configuration error: JWT_SECRET: is empty');
  });

  it.each([
    ['PORT', 'http'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'http://db.example.com/longrun'],
    ['LEASE_MS', 'soon'],
    ['LEASE_MS', '10'],
  ])('refuses %s=%s with a message naming it', async (name, value) => {
    const { code, output } = await refusal(spawnServer({ [name]: value }));
    expect(code).not.toBe(0);
    expect(output).toMatch(new RegExp(`^longrun: configuration error: ${name}: `, 'm'));
    expect(output).not.toMatch(/^\s+at /m);
  });

  it('exits non-zero when its port is taken, without touching the PENDING operations it shares', async () => {
    const first = spawnServer({ MAX_CONCURRENT_RUNS: '1', LEASE_MS: '1000' });
    const url = await first.listening;
    const alice = userClient({ url, wsUrl: url.replace(/^http/, 'ws') }, 'alice');
    const blocker = await alice.start({ kind: 'demo.sleep', input: { ms: 600_000, steps: 1 } });
    await waitFor(async () => (await alice.get(blocker.id))?.status === 'RUNNING', 'a busy slot');
    const queued = await alice.start({ kind: 'demo.sleep', input: { ms: 50, steps: 1 } });

    const port = new URL(url).port;
    const { code, output } = await refusal(spawnServer({ PORT: port }, first.dataDir));
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`^longrun: failed to start: .*EADDRINUSE.*:${port}$`, 'm'));
    // The failed process never ran anything: the op is still waiting for the first one.
    expect(await alice.get(queued.id)).toMatchObject({ status: 'PENDING', revision: 1 });

    expect((await alice.cancel(blocker.id)).__typename).toBe('CancelOperationSuccess');
    const done = await waitFor(async () => {
      const current = await alice.get(queued.id);
      return current?.done ? current : null;
    }, 'the queued op to run on the first process');
    expect(done).toMatchObject({ status: 'SUCCEEDED', revision: 4, result: { slept: 50 } });
  });
});
