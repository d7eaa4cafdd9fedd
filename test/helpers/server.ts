import { createSecretKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { mintToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import type { Handler } from '../../src/handlers/handler.js';
import { createLogger } from '../../src/logger.js';
import { parseOperationId } from '../../src/schema/ids.js';
import type { StatementObserver } from '../../src/store/connect.js';
import { waitFor } from './wait.js';

/** The HS256 secret every test server uses. */
export const TEST_SECRET = 'longrun-test-secret-0123456789-abcdefghijklmnop';

/** The key of watch tokens every test server uses (its own, as in production). */
export const TEST_WATCH_SECRET = 'longrun-test-watch-secret-0123456789-abcdefghij';
const testKey = createSecretKey(Buffer.from(TEST_SECRET, 'utf8'));

/** A token for `sub` signed with the test secret. */
export function tokenFor(sub: string, options: { admin?: boolean; ttlSec?: number } = {}): string {
  return mintToken(
    { sub, admin: options.admin ?? false, ttlSec: options.ttlSec ?? 3600 },
    testKey,
    'HS256',
  );
}

/**
 * Env for tests that may leave a handler blocked: quick teardown, and a cancel grace no test
 * outlasts by accident.
 */
export const FAST = { SHUTDOWN_GRACE_MS: '100', CANCEL_GRACE_MS: '10000' };

/** Env for tests whose handlers run until aborted: teardown stops them at once. */
export const NO_SHUTDOWN_GRACE = { SHUTDOWN_GRACE_MS: '0' };

/**
 * Env for tests that start many operations for one user on purpose, about something other than
 * the per-owner quotas: lifts them.
 */
export const NO_QUOTAS = { MAX_ACTIVE_PER_OWNER: '0', START_RATE_PER_MINUTE: '0' };

/** An app listening on a free port with a fresh SQLite file; stopped after the test. */
export interface TestServer {
  readonly app: App;
  /** `http://127.0.0.1:PORT/graphql` */
  readonly url: string;
  /** `ws://127.0.0.1:PORT/graphql` */
  readonly wsUrl: string;
  /** The origin, for /healthz and /readyz. */
  readonly origin: string;
  readonly dataDir: string;
  /** Every log line the app wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

const running = new Set<TestServer>();
const dirs = new Set<string>();

afterEach(async () => {
  await Promise.all([...running].map((server) => server.stop()));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts an in-process app. `env` overrides the test defaults (fast leases and graces); a key set
 * to `undefined` removes that default (e.g. `JWT_SECRET: undefined` with `JWT_PUBLIC_KEY`).
 */
export async function startTestServer(
  env: Record<string, string | undefined> = {},
  options: {
    handlers?: Handler[];
    dataDir?: string;
    dashboardDir?: string;
    onStatement?: StatementObserver;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'longrun-test-'));
  dirs.add(dataDir);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_SECRET,
    WATCH_TOKEN_SECRET: TEST_WATCH_SECRET,
    LOG_LEVEL: 'debug',
    CANCEL_GRACE_MS: '2000',
    LEASE_MS: '3000',
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger(config.logLevel, (line) => {
    const entry = JSON.parse(line) as Record<string, unknown>;
    logs.push(entry);
    if (entry.level === 'error') process.stderr.write(`[app] ${line}\n`);
  });
  const app = await createApp(config, {
    logger,
    handlers: options.handlers ?? [],
    dashboardDir: options.dashboardDir,
    onStatement: options.onStatement,
  });
  await app.start();
  const origin = `http://127.0.0.1:${app.port}`;
  let stopped: Promise<void> | null = null;
  const server: TestServer = {
    app,
    url: `${origin}/graphql`,
    wsUrl: `ws://127.0.0.1:${app.port}/graphql`,
    origin,
    dataDir,
    logs,
    stop() {
      running.delete(server);
      stopped ??= app.stop();
      return stopped;
    },
  };
  running.add(server);
  return server;
}

/**
 * Resolves once the server logged that it discarded the late outcome of operation `id`'s handler
 * (`what` names the wait).
 */
export async function lateOutcomeDiscarded(
  server: TestServer,
  id: string,
  what: string,
): Promise<void> {
  const rawId = parseOperationId(id);
  await waitFor(
    () =>
      server.logs.some(
        (l) => l.message === 'discarded the late outcome of a handler' && l.id === rawId,
      ),
    what,
  );
}
