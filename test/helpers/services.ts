import { it } from 'vitest';

/** The PostgreSQL server of the tests about PostgreSQL (`TEST_DATABASE_URL`), or undefined. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
/** The Redis server of the tests about Redis (`TEST_REDIS_URL`), or undefined. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL;

/** Why the PostgreSQL tests cannot run, or null when `TEST_DATABASE_URL` is set. */
export const POSTGRES_SKIP_REASON = TEST_DATABASE_URL
  ? null
  : 'TEST_DATABASE_URL is unset (e.g. postgres://postgres@127.0.0.1:5432/test; .ci/run sets it)';
/** Why the Redis tests cannot run, or null when `TEST_REDIS_URL` is set. */
export const REDIS_SKIP_REASON = TEST_REDIS_URL
  ? null
  : 'TEST_REDIS_URL is unset (e.g. redis://127.0.0.1:6379; .ci/run sets it)';
/** Why the scale-out tests (PostgreSQL and Redis) cannot run, or null when both are set. */
export const CLUSTER_SKIP_REASON =
  POSTGRES_SKIP_REASON && REDIS_SKIP_REASON
    ? 'TEST_DATABASE_URL and TEST_REDIS_URL are unset (.ci/run sets both)'
    : (POSTGRES_SKIP_REASON ?? REDIS_SKIP_REASON);

/**
 * When `skipReason` is set, registers one test named `what` that is skipped with `skipReason` as
 * its note, beside the suite skipped for that reason: a run without the service then says in one
 * line why (test/helpers/skip-notes-reporter.ts prints the notes) instead of only counting skipped
 * tests. Skipped tests still fail `.ci/run`.
 */
export function sayWhySkipped(skipReason: string | null, what: string): void {
  if (skipReason !== null) it(what, (context) => context.skip(skipReason));
}
