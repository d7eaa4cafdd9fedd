import { setImmediate as nextTurn } from 'node:timers/promises';
import type { OperationRecord } from './model.js';
import type { OperationStore, PageKey, PageQuery } from './ports.js';

/**
 * Bounds of reading one page of `operations`. Inputs (up to 64 KB each) and results are parsed
 * when read and serialized again in the response, all on the event loop: 100 operations with
 * 64 KB of each made a 13 MB answer that held the loop for half a second and more
 * (`npm run bench:loop`). A page is read `rowsPerStatement` rows at a time, yielding between
 * statements, and ends once its inputs and results pass `maxBytes` (it holds at least one
 * operation, and says `hasNextPage`).
 */
export const PAGE_READ = { rowsPerStatement: 25, maxBytes: 1_048_576 } as const;

/** What a page read found: the records nearest the starting key first, and whether more follow. */
export interface PageRead {
  readonly records: OperationRecord[];
  readonly more: boolean;
}

const jsonLength = (value: unknown) => (value == null ? 0 : JSON.stringify(value).length);

/** The bytes a record adds to an answer beyond its small fields. */
const weightOf = (record: OperationRecord) => jsonLength(record.input) + jsonLength(record.result);

const keyOf = (record: OperationRecord): PageKey => ({
  createdAt: record.createdAt,
  id: record.id,
});

/**
 * Up to `query.limit` records from `query.key` in `query.direction`, nearest first, within
 * `PAGE_READ`; `more` tells whether any record follows the last one returned.
 */
export async function readPage(store: OperationStore, query: PageQuery): Promise<PageRead> {
  const records: OperationRecord[] = [];
  let bytes = 0;
  let key = query.key;
  for (;;) {
    // One more than the page holds tells whether another page follows.
    const want = Math.min(PAGE_READ.rowsPerStatement, query.limit + 1 - records.length);
    const chunk = await store.list({ ...query, key, limit: want });
    // `list` answers newest first; going to newer rows, the nearest is the oldest.
    const nearestFirst = query.direction === 'newer' ? chunk.reverse() : chunk;
    for (const record of nearestFirst) {
      const spent = records.length > 0 && bytes >= PAGE_READ.maxBytes;
      if (records.length === query.limit || spent) return { records, more: true };
      records.push(record);
      bytes += weightOf(record);
    }
    const last = nearestFirst.at(-1);
    if (chunk.length < want || last === undefined) return { records, more: false };
    key = keyOf(last);
    await nextTurn();
  }
}
