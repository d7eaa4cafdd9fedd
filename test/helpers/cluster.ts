import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { type ServerProcess, spawnServer } from './process.js';

import { CLUSTER_SKIP_REASON, TEST_DATABASE_URL, TEST_REDIS_URL } from './services.js';

export { CLUSTER_SKIP_REASON, TEST_DATABASE_URL, TEST_REDIS_URL };

const created: string[] = [];

afterAll(async () => {
  if (!TEST_DATABASE_URL || created.length === 0) return;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  for (const name of created.splice(0)) {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  await admin.end();
});

/** A fresh, empty PostgreSQL database for one test (dropped after the file); its URL. */
export async function createTestDatabase(): Promise<string> {
  if (!TEST_DATABASE_URL) throw new Error(CLUSTER_SKIP_REASON ?? 'no TEST_DATABASE_URL');
  const name = `longrun_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  created.push(name);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Settings shared by the instances of one test cluster. */
export interface ClusterEnv {
  readonly DATABASE_URL: string;
  readonly REDIS_URL: string;
  readonly REDIS_PREFIX: string;
  readonly [key: string]: string | undefined;
}

/** A fresh database and Redis channel prefix, with fast leases and graces for tests. */
export async function clusterEnv(extra: Record<string, string> = {}): Promise<ClusterEnv> {
  if (!TEST_REDIS_URL) throw new Error(CLUSTER_SKIP_REASON ?? 'no TEST_REDIS_URL');
  return {
    DATABASE_URL: await createTestDatabase(),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `longrun-test-${randomBytes(6).toString('hex')}:`,
    LEASE_MS: '1500',
    CANCEL_GRACE_MS: '3000',
    SHUTDOWN_GRACE_MS: '500',
    ...extra,
  };
}

/** Starts `count` instances sharing `env` (one after another, so migrations are tested apart). */
export async function startInstances(
  env: ClusterEnv,
  count: number,
  perInstance: (index: number) => Record<string, string> = () => ({}),
): Promise<Array<ServerProcess & { url: string }>> {
  const instances: Array<ServerProcess & { url: string }> = [];
  for (let i = 0; i < count; i++) {
    const instance = spawnServer({ ...env, ...perInstance(i) });
    instances.push({ ...instance, url: await instance.listening });
  }
  return instances;
}
