import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import type { OperationRecord } from '../../src/operations/model.js';
import { OperationStatus } from '../../src/operations/status.js';
import { create } from '../../src/operations/transitions.js';
import { openSqlite } from '../../src/store/connect.js';
import { toEventRow, toRow } from '../../src/store/store-rows.js';

/**
 * Writes into the SQLite database of `dataDir` (before a server opens it) a SUCCEEDED operation
 * of `owner` whose log holds every one of its `revisions`: PENDING, RUNNING, a progress entry per
 * revision, SUCCEEDED. Progress is coalesced when a server writes it, so a log this long has to
 * be made by hand. Resolves with the operation's final state.
 */
export async function seedLongLog(
  dataDir: string,
  owner: string,
  revisions: number,
): Promise<OperationRecord> {
  const { db, store } = await openSqlite(
    join(dataDir, 'longrun.sqlite'),
    createLogger('error', () => {}),
  );
  const t0 = Date.now() - revisions;
  const base = create(
    {
      id: randomUUID(),
      kind: 'demo.sleep',
      ownerId: owner,
      input: { ms: revisions },
      idempotencyKey: null,
      timeoutMs: null,
      retryOf: null,
    },
    new Date(t0),
  );
  const state = (revision: number): OperationRecord => {
    const status =
      revision === 1
        ? OperationStatus.Pending
        : revision === revisions
          ? OperationStatus.Succeeded
          : OperationStatus.Running;
    const done = status === OperationStatus.Succeeded;
    return {
      ...base,
      status,
      progress: revision <= 2 ? null : (revision - 2) / (revisions - 2),
      message: revision <= 2 ? null : `step ${revision - 2}`,
      result: done ? { slept: revisions } : null,
      updatedAt: new Date(t0 + revision),
      startedAt: revision === 1 ? null : new Date(t0 + 2),
      finishedAt: done ? new Date(t0 + revision) : null,
      revision,
    };
  };
  const final = state(revisions);
  try {
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('operations').values(toRow(final)).execute();
      for (let from = 1; from <= revisions; from += 1_000) {
        const rows = [];
        for (let revision = from; revision < from + 1_000 && revision <= revisions; revision++) {
          rows.push(toEventRow(state(revision), { actor: 'worker:seed', reason: null }));
        }
        await tx.insertInto('operation_events').values(rows).execute();
      }
    });
  } finally {
    await store.close();
  }
  return final;
}
