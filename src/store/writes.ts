import type { Kysely } from 'kysely';
import type { OperationRecord } from '../operations/model.js';
import type { ChangeMeta, InsertResult, StartQuota, WriteCondition } from '../operations/ports.js';
import type { Database } from './database.js';
import type { DialectTraits, WriteTransactions } from './dialect-traits.js';
import { logChange } from './log-writes.js';
import { enforceQuota, startSecond } from './quota.js';
import {
  countStart,
  insertEventRow,
  insertOperationRow,
  releaseKey,
  selectByKey,
  updateRowIfCurrent,
} from './statements.js';
import { mutableColumns, toEventRow, toMs, toRecord, toRow } from './store-rows.js';

// Two racing first inserts of one key: the loser's unique violation means the winner has
// committed, so one more lookup finds it. A third attempt only guards against odd drivers.
const INSERT_ATTEMPTS = 3;

/**
 * Inserts `record` and its log entry, and counts it among its owner's starts (`enforceQuota`);
 * the caller's transaction makes them one.
 */
async function insertWithEvent(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  record: OperationRecord,
  meta: ChangeMeta,
) {
  await insertOperationRow.execute(tx, dialect, toRow(record));
  await insertEventRow.execute(tx, dialect, toEventRow(record, meta));
  await countStart.execute(tx, dialect, {
    ownerId: record.ownerId,
    second: startSecond(toMs(record.createdAt)),
  });
}

/**
 * The insert in one write transaction: with a key, the operation of the same owner and key created
 * at or after `cutoff` wins (and is never refused), and an older one gives its key up to `record`;
 * with a quota, the owner's other inserts wait, and an owner over it is refused.
 */
function insertOnce(
  writes: WriteTransactions,
  dialect: DialectTraits,
  record: OperationRecord,
  cutoff: Date,
  meta: ChangeMeta,
  quota: StartQuota | null,
): Promise<InsertResult> {
  const key = record.idempotencyKey;
  return writes.run(async (tx): Promise<InsertResult> => {
    if (quota !== null) await dialect.lockOwner(tx, record.ownerId);
    if (key !== null) {
      const [found] = (await selectByKey.execute(tx, dialect, { ownerId: record.ownerId, key }))
        .rows;
      if (found !== undefined) {
        const existing = toRecord(found);
        if (toMs(existing.createdAt) >= toMs(cutoff)) return { inserted: false, existing };
        await releaseKey.execute(tx, dialect, { id: found.id });
      }
    }
    if (quota !== null) await enforceQuota(tx, dialect, record, quota);
    await insertWithEvent(tx, dialect, record, meta);
    return { inserted: true, record };
  });
}

/** `OperationStore.insert`. */
export async function insertOperation(
  writes: WriteTransactions,
  dialect: DialectTraits,
  record: OperationRecord,
  cutoff: Date,
  meta: ChangeMeta,
  quota: StartQuota | null,
): Promise<InsertResult> {
  if (record.idempotencyKey === null && quota === null) {
    await writes.run((tx) => insertWithEvent(tx, dialect, record, meta));
    return { inserted: true, record };
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertOnce(writes, dialect, record, cutoff, meta, quota);
    } catch (error) {
      if (attempt >= INSERT_ATTEMPTS || !dialect.isUniqueViolation(error)) throw error;
    }
  }
}

/** The compare-and-set write of `next`, without its log entry; true when the row was written. */
export async function writeIfCurrent(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  next: OperationRecord,
  expected: WriteCondition,
): Promise<boolean> {
  const columns = mutableColumns(next);
  // `renewLeases` does not bump the revision, so `next` may carry an expiry read before a
  // renewal that committed since: the statement keeps the later one, or this write would undo
  // the heartbeat and the lease of a healthy worker could run out (taken back as INTERRUPTED).
  const shape =
    columns.lease_expires_at === null ? updateRowIfCurrent.unleased : updateRowIfCurrent.leased;
  const statement = expected.leaseOwner === undefined ? shape.anyOwner : shape.sameOwner;
  const { numAffectedRows } = await statement.execute(tx, dialect, {
    ...columns,
    id: next.id,
    expectedRevision: expected.revision,
    expectedLeaseOwner: expected.leaseOwner ?? null,
  });
  return numAffectedRows === 1n;
}

/**
 * `OperationStore.update`: the compare-and-set write and its log entry in one transaction,
 * progress coalesced as `logChange` says.
 */
export async function updateOperation(
  writes: WriteTransactions,
  dialect: DialectTraits,
  next: OperationRecord,
  expected: WriteCondition,
  meta: ChangeMeta,
  progressLogIntervalMs: number,
): Promise<boolean> {
  try {
    return await writes.run(async (tx) => {
      if (!(await writeIfCurrent(tx, dialect, next, expected))) return false;
      await logChange(tx, dialect, next, meta, progressLogIntervalMs, expected.status);
      return true;
    });
  } catch (error) {
    // The log entry of this revision exists: another writer won it, and throwing rolled back our
    // row write. The update itself cannot violate a unique constraint.
    if (dialect.isUniqueViolation(error)) return false;
    throw error;
  }
}
