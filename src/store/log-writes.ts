import type { Kysely } from 'kysely';
import type { OperationRecord } from '../operations/model.js';
import type { ChangeMeta } from '../operations/ports.js';
import type { OperationStatus } from '../operations/status.js';
import type { Database } from './database.js';
import type { DialectTraits } from './dialect-traits.js';
import { insertEventRow, replaceEventRow, selectLatestEntries } from './statements.js';
import { toEventRow, toMs } from './store-rows.js';

/**
 * How far apart in time the log keeps an operation's progress entries, by default. A handler
 * reporting as fast as it can (10,000 reports in a few seconds) leaves a few entries a second
 * instead of one per report: 8 such operations grew the SQLite file by 86 MB when every report
 * was logged with its whole state.
 */
export const PROGRESS_LOG_INTERVAL_MS = 1_000;

/**
 * Logs `next`, written in this transaction, as `meta` says. A status change always gets an entry
 * of its own. A progress-only change (the status stays) replaces the operation's latest entry
 * when that entry is progress-only too and the entry before it is less than `intervalMs` older
 * than the change; otherwise it gets an entry of its own. So between two status changes the log
 * keeps about one progress entry per `intervalMs`, each the last report of its stretch, and its
 * newest entry is always the operation's latest progress. `intervalMs` 0 logs every report.
 *
 * Only progress keeps the status (`transitions.ts`), and no other change is ever coalesced, so
 * the operation's status before `next` is the status of its latest entry. When the caller knows
 * it (`previous`, read at the revision `next` replaced) and it differs, the entries are not read.
 */
export async function logChange(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  next: OperationRecord,
  meta: ChangeMeta,
  intervalMs: number,
  previous?: OperationStatus,
): Promise<void> {
  const row = toEventRow(next, meta);
  if (previous !== undefined && previous !== next.status) {
    await insertEventRow.execute(tx, dialect, row);
    return;
  }
  const { rows } = await selectLatestEntries.execute(tx, dialect, { id: next.id });
  const [latest, before] = rows;
  const coalesce =
    latest !== undefined &&
    before !== undefined &&
    // An entry at or past this revision means another writer won it: the insert fails.
    latest.revision < next.revision &&
    next.status === latest.status &&
    latest.status === before.status &&
    toMs(next.updatedAt) - Number(before.at) < intervalMs;
  if (!coalesce) {
    await insertEventRow.execute(tx, dialect, row);
    return;
  }
  await replaceEventRow.execute(tx, dialect, { ...row, replaced: latest.revision });
}
