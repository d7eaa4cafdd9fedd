import type { Kysely } from 'kysely';
import { RateLimitedError } from '../operations/errors.js';
import type { OperationRecord } from '../operations/model.js';
import type { StartQuota } from '../operations/ports.js';
import type { Database } from './database.js';
import type { DialectTraits } from './dialect-traits.js';
import { selectActiveAt, selectStartBack } from './statements.js';
import { toMs } from './store-rows.js';

function seconds(ms: number): string {
  return `${Math.ceil(ms / 100) / 10} s`;
}

/**
 * Throws `RateLimitedError` when `record`'s owner is over `quota` at `record.createdAt`. Runs in
 * the insert's write transaction, after `DialectTraits.lockOwner`, so no other insert of this
 * owner commits between the count and the insert. Each limit reads at most `limit` index entries:
 * the row `limit` places from the newest, if there is one, is the proof of being over it.
 */
export async function enforceQuota(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  record: OperationRecord,
  quota: StartQuota,
): Promise<void> {
  const now = toMs(record.createdAt);
  let rateWaitMs = 0;
  if (quota.maxStarts !== null) {
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
