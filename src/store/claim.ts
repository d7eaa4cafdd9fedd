import type { Kysely } from 'kysely';
import type { OperationRecord } from '../operations/model.js';
import type { ChangeMeta } from '../operations/ports.js';
import { OperationStatus } from '../operations/status.js';
import type { Database } from './database.js';
import type { DialectTraits } from './dialect-traits.js';
import { toEventRow, toRecord } from './store-rows.js';
import { writeIfCurrent } from './writes.js';

/** `OperationStore.claimPending`: one write transaction that takes and logs the claimed rows. */
export function claimPending(
  db: Kysely<Database>,
  dialect: DialectTraits,
  limit: number,
  claim: (pending: OperationRecord) => OperationRecord | null,
  meta: ChangeMeta,
): Promise<OperationRecord[]> {
  return dialect.writeTransaction(db, async (tx) => {
    const query = tx
      .selectFrom('operations')
      .selectAll()
      .where('status', '=', OperationStatus.Pending)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit);
    const rows = await (dialect.lockRowsToClaim ? query.forUpdate().skipLocked() : query).execute();
    const written: OperationRecord[] = [];
    for (const row of rows) {
      const pending = toRecord(row);
      const next = claim(pending);
      // The rows are ours until commit, so the compare-and-set only guards against misuse.
      if (next !== null && (await writeIfCurrent(tx, next, pending))) written.push(next);
    }
    if (written.length > 0) {
      const events = written.map((record) => toEventRow(record, meta));
      await tx.insertInto('operation_events').values(events).execute();
    }
    return written;
  });
}
