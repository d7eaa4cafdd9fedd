import type { Kysely } from 'kysely';
import { RateLimitedError } from '../operations/errors.js';
import type { OperationRecord } from '../operations/model.js';
import type { StartQuota } from '../operations/ports.js';
import { OperationStatus } from '../operations/status.js';
import type { Database } from './database.js';
import { toMs } from './store-rows.js';

/** The statuses that count against `StartQuota.maxActive`. */
const COUNTED = [OperationStatus.Pending, OperationStatus.Running, OperationStatus.Cancelling];

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
  record: OperationRecord,
  quota: StartQuota,
): Promise<void> {
  const now = toMs(record.createdAt);
  let rateWaitMs = 0;
  if (quota.maxStarts !== null) {
    // The start `maxStarts` places back leaves the window at its created_at + windowMs; only then
    // are fewer than `maxStarts` starts in it. (A start is a row: a refused one stores nothing,
    // an idempotent repeat stores nothing new.)
    const boundary = await tx
      .selectFrom('operations')
      .select('created_at')
      .where('owner_id', '=', record.ownerId)
      .where('created_at', '>', now - quota.windowMs)
      .orderBy('created_at', 'desc')
      .offset(quota.maxStarts - 1)
      .limit(1)
      .executeTakeFirst();
    if (boundary !== undefined) {
      // Clamped: another instance's clock may run a little ahead of ours.
      const leaves = Number(boundary.created_at) + quota.windowMs - now;
      rateWaitMs = Math.min(quota.windowMs, Math.max(1, leaves));
    }
  }
  let activeFull = false;
  if (quota.maxActive !== null) {
    const last = await tx
      .selectFrom('operations')
      .select('id')
      .where('status', 'in', COUNTED)
      .where('owner_id', '=', record.ownerId)
      .offset(quota.maxActive - 1)
      .limit(1)
      .executeTakeFirst();
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
