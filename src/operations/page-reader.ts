import { setImmediate as nextTurn } from 'node:timers/promises';
import { inBatches } from './batches.js';
import type { OperationRecord } from './model.js';
import type { OperationStore, PageQuery, SizedKey } from './ports.js';

/**
 * Bounds of reading one page of `operations`. Inputs (up to 64 KB each) and results (up to 1 MB)
 * are parsed when read and serialized again in the response, all on the event loop: parsing 64 KB
 * of JSON with many members takes about a millisecond, and 25 rows of them with their results
 * held the loop for 100 ms and more (`npm run bench:loop`). So a page first reads the keys and
 * sizes of `rowsPerStatement` rows (no input or result), decides how many it will answer with,
 * and reads only those, in statements of at most `bytesPerStatement` (or one row), yielding
 * between statements. It ends once its inputs and results pass `maxBytes` (it holds at least one
 * operation, and says `hasNextPage`).
 */
export const PAGE_READ = {
  rowsPerStatement: 25,
  bytesPerStatement: 262_144,
  maxBytes: 1_048_576,
} as const;

/** The rows of one statement: at most `bytesPerStatement` of them (a larger row alone). */
const STATEMENT_BOUNDS = {
  weigh: (key: SizedKey) => key.bytes,
  maxWeight: PAGE_READ.bytesPerStatement,
};

/** What a page read found: the records nearest the starting key first, and whether more follow. */
export interface PageRead {
  readonly records: OperationRecord[];
  readonly more: boolean;
}

/**
 * Up to `query.limit` records from `query.key` in `query.direction`, nearest first, within
 * `PAGE_READ`; `more` tells whether any record follows the last one returned.
 */
export async function readPage(store: OperationStore, query: PageQuery): Promise<PageRead> {
  const newer = query.direction === 'newer';
  const records: OperationRecord[] = [];
  let bytes = 0;
  let key = query.key;
  for (;;) {
    // One more than the page holds tells whether another page follows.
    const want = Math.min(PAGE_READ.rowsPerStatement, query.limit + 1 - records.length);
    const sizes = await store.listSizes({ ...query, key, limit: want });
    // Both answer newest first; going to newer rows, the nearest is the oldest.
    const nearestFirst = newer ? sizes.reverse() : sizes;
    const keep: SizedKey[] = [];
    let full = false;
    for (const sized of nearestFirst) {
      const count = records.length + keep.length;
      if (count === query.limit || (count > 0 && bytes >= PAGE_READ.maxBytes)) {
        full = true;
        break;
      }
      keep.push(sized);
      bytes += sized.bytes;
    }
    // The rows just sized, read again: a row that stopped matching meanwhile (a status filter,
    // retention) is not there, and a row inserted meanwhile is not read in place of one.
    for (const run of inBatches(keep, STATEMENT_BOUNDS)) {
      const first = run[0];
      const last = run.at(-1);
      if (first === undefined || last === undefined) continue;
      await nextTurn();
      const chunk = await store.list({ ...query, key, within: { first, last }, limit: run.length });
      records.push(...(newer ? chunk.reverse() : chunk));
      key = last;
    }
    if (full) return { records, more: true };
    if (sizes.length < want) return { records, more: false };
    await nextTurn();
  }
}
