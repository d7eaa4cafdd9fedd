import type { Kysely } from 'kysely';
import { RateLimitedError } from '../operations/errors.js';
import type { OperationRecord } from '../operations/model.js';
import type { StartQuota } from '../operations/ports.js';
import type { Database } from './database.js';
import type { DialectTraits } from './dialect-traits.js';
import { selectActiveAt, selectStartBack, sumStartsFrom } from './statements.js';
import { toMs } from './store-rows.js';

function seconds(ms: number): string {
  return `${Math.ceil(ms / 100) / 10} s`;
}

/** The epoch second an operation created at `ms` counts its start in (`owner_starts`). */
export function startSecond(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * Throws `RateLimitedError` when `record`'s owner is over `quota` at `record.createdAt`. Runs in
 * the insert's write transaction, after `DialectTraits.lockOwner`, so no other insert of this
 * owner commits between the count and the insert. Each limit reads at most `limit` index entries:
 * the row `limit` places from the newest, if there is one, is the proof of being over it.
 *
 * The start rate first sums the owner's starts per second over the window (one row per second
 * of it, whatever the limit): every insert counts there, so the sum is at least the starts in
 * the window, and an owner below the limit by it is below it. Only a sum at the limit reads the
 * rows themselves, at most `maxStarts` of them.
 */
export async function enforceQuota(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  record: OperationRecord,
  quota: StartQuota,
): Promise<void> {
  const now = toMs(record.createdAt);
  let rateWaitMs = 0;
  if (quota.maxStarts !== null && (await startsAtLeast(tx, dialect, record, quota))) {
    // The start `maxStarts` places back leaves the window at its created_at + windowMs; only then
    // are fewer than `maxStarts` starts in it. (A start is a row: a refused one stores nothing,
    // an idempotent repeat stores nothing new.)
    const [boundary] = (
      await selectStartBack.execute(tx, dialect, {
        ownerId: record.ownerId,
        after: now - quota.windowMs,
        skip: quota.maxStarts - 1,
      })
    ).rows;
    if (boundary !== undefined) {
      // Clamped: another instance's clock may run a little ahead of ours.
      const leaves = Number(boundary.created_at) + quota.windowMs - now;
      rateWaitMs = Math.min(quota.windowMs, Math.max(1, leaves));
    }
  }
  let activeFull = false;
  if (quota.maxActive !== null) {
    const [last] = (
      await selectActiveAt.execute(tx, dialect, {
        ownerId: record.ownerId,
        skip: quota.maxActive - 1,
      })
    ).rows;
    activeFull = last !== undefined;
  }
  if (activeFull && quota.activeRetryMs >= rateWaitMs) {
    throw new RateLimitedError(
      `Too many active operations: an owner may have at most ${quota.maxActive} PENDING, RUNNING or CANCELLING at once. Retry once one of them is done (in about ${seconds(quota.activeRetryMs)}).`,
      quota.activeRetryMs,
      'active',
    );
  }
  if (rateWaitMs > 0) {
    throw new RateLimitedError(
      `Too many starts: an owner may start at most ${quota.maxStarts} operations in any ${seconds(quota.windowMs)}. Retry in ${seconds(rateWaitMs)}.`,
      rateWaitMs,
      'rate',
    );
  }
}

/**
 * Whether the starts counted per second over `quota`'s window (its first second whole) reach
 * `maxStarts`: one range of the counts' primary key, a row per second of the window at most.
 * Counts older than the window are left to retention (`deleteFinishedBefore`).
 */
async function startsAtLeast(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  record: OperationRecord,
  quota: StartQuota,
): Promise<boolean> {
  const from = startSecond(toMs(record.createdAt) - quota.windowMs);
  const [row] = (await sumStartsFrom.execute(tx, dialect, { ownerId: record.ownerId, from })).rows;
  return Number(row?.starts ?? 0) >= (quota.maxStarts ?? 0);
}
