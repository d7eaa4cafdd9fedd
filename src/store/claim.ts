import { type Kysely, sql } from 'kysely';
import type { OperationRecord } from '../operations/model.js';
import type { ChangeMeta, ClaimShares } from '../operations/ports.js';
import { OperationStatus } from '../operations/status.js';
import type { Database } from './database.js';
import type { DialectTraits, WriteTransactions } from './dialect-traits.js';
import {
  insertEventRow,
  selectAnyPending,
  selectPendingOf,
  selectPendingOwners,
} from './statements.js';
import { type OperationRow, toEventRow, toRecord } from './store-rows.js';
import { writeIfCurrent } from './writes.js';

/** A count written into the statement (PostgreSQL would take a parameter in a CASE for text). */
const count = (n: number) => sql.lit(Math.max(0, Math.trunc(n)));

/** How many of its PENDING operations each owner may have taken in this claim. */
function allowance(shares: ClaimShares) {
  if (shares.byOwner.size === 0) return count(shares.perOwner);
  const cases = [...shares.byOwner].map(([owner, n]) => sql`when ${owner} then ${count(n)}`);
  return sql<number>`case p.owner_id ${sql.join(cases, sql` `)} else ${count(shares.perOwner)} end`;
}

/**
 * `OperationStore.claimPending`: one write transaction that takes and logs the claimed rows.
 *
 * Which rows, fairly: each owner's PENDING operations are numbered oldest first (`turn`), and a
 * row's place in line is its owner's running operations (every instance's) plus its turn, so one
 * claim takes the first of every owner before the second of any, and an owner already running
 * more waits behind one running less. Ties go to the owner served longest ago (the newest
 * `started_at` of theirs), so single slots freed one after another go round the owners in turn;
 * then to the older operation. Owners over their allowance are left out.
 */
export async function claimPending(
  db: Kysely<Database>,
  writes: WriteTransactions,
  dialect: DialectTraits,
  limit: number,
  claim: (pending: OperationRecord) => OperationRecord | null,
  meta: ChangeMeta,
  shares: ClaimShares,
): Promise<OperationRecord[]> {
  // Most claims find nothing (a runner claims again each time a run ends): one index probe
  // answers them without a write transaction or the ranking below. A row inserted after the
  // probe publishes `operation.pending`, which asks for another claim.
  const probe = await selectAnyPending.execute(db, dialect, {});
  if (probe.rows.length === 0) return [];
  return writes.run(async (tx) => {
    const owners = await selectPendingOwners.execute(tx, dialect, {});
    const [only, other] = owners.rows;
    if (only === undefined) return [];
    const rows =
      other === undefined
        ? await oneOwnersTurn(tx, dialect, only.owner_id, limit, shares)
        : await rankedPending(tx, dialect, limit, shares);
    const written: OperationRecord[] = [];
    for (const row of rows) {
      const pending = toRecord(row);
      const next = claim(pending);
      // The rows are ours until commit, so the compare-and-set only guards against misuse.
      if (next !== null && (await writeIfCurrent(tx, dialect, next, pending))) written.push(next);
    }
    if (written.length === 1) {
      await insertEventRow.execute(tx, dialect, toEventRow(written[0] as OperationRecord, meta));
    } else if (written.length > 1) {
      const events = written.map((record) => toEventRow(record, meta));
      await tx.insertInto('operation_events').values(events).execute();
    }
    return written;
  });
}

/**
 * The rows to claim when one owner has all the PENDING operations: its oldest, as many as its
 * allowance and `limit` let through (the order `rankedPending` gives a single owner's queue).
 */
function oneOwnersTurn(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  ownerId: string,
  limit: number,
  shares: ClaimShares,
): Promise<OperationRow[]> {
  const allowed = Math.min(
    limit,
    Math.max(0, Math.trunc(shares.byOwner.get(ownerId) ?? shares.perOwner)),
  );
  if (allowed === 0) return Promise.resolve([]);
  const statement = dialect.lockRowsToClaim ? selectPendingOf.locked : selectPendingOf.unlocked;
  return statement.execute(tx, dialect, { ownerId, limit: allowed }).then(({ rows }) => rows);
}

/** The rows to claim in the fair order `claimPending` describes, whatever the owners. */
async function rankedPending(
  tx: Kysely<Database>,
  dialect: DialectTraits,
  limit: number,
  shares: ClaimShares,
): Promise<OperationRow[]> {
  // PostgreSQL: the lock is on the operations rows only (the window and counts are read as of
  // the statement's start; a row another claim took meanwhile fails the status re-check or the
  // compare-and-set below).
  // No owner gets more than `limit` in one claim, nor more than its largest allowance: later
  // turns are left out before the join and the sort.
  const deepest = Math.min(limit, Math.max(shares.perOwner, ...shares.byOwner.values()));
  const lock = dialect.lockRowsToClaim ? sql`for update of o skip locked` : sql``;
  const { rows } = await sql<OperationRow>`
      with queued as (
        select id, owner_id, created_at,
          row_number() over (partition by owner_id order by created_at, id) as turn
        from operations
        where status = ${OperationStatus.Pending}
      ),
      pending as (select * from queued where turn <= ${count(deepest)}),
      owners as (
        select w.owner_id,
          (select count(*) from operations r
            where r.status in (${OperationStatus.Running}, ${OperationStatus.Cancelling})
              and r.owner_id = w.owner_id) as running,
          coalesce((select max(s.started_at) from operations s where s.owner_id = w.owner_id), 0)
            as served
        from (select distinct owner_id from pending) w
      )
      select o.* from operations o
      join pending p on p.id = o.id
      join owners w on w.owner_id = p.owner_id
      where o.status = ${OperationStatus.Pending} and p.turn <= ${allowance(shares)}
      order by w.running + p.turn, w.served, p.created_at, p.id
      limit ${limit}
      ${lock}`.execute(tx);
  return rows;
}
