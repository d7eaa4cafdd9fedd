import { setImmediate as nextTurn } from 'node:timers/promises';
import DataLoader from 'dataloader';
import { inBatches } from './batches.js';
import type { LogEntry } from './model.js';
import type { LogPageQuery, OperationStore } from './ports.js';

/**
 * Bounds of one statement of log pages. SQLite runs a statement on the event loop, so a bound on
 * rows is a bound on how long the loop is held: 2,000 entries without their states take a few
 * milliseconds to read (`npm run bench:loop`). No request within the default MAX_QUERY_COST
 * can ask for more than about 1,700 entries, so its pages go out in one statement. The page
 * bound stays under SQLite's 500 members of one compound statement.
 */
export const LOG_BATCH = { maxRows: 2_000, maxPages: 100 } as const;

/** Reads one log page; the pages asked for in one turn of the event loop are read together. */
export type LogPageReader = (query: LogPageQuery) => Promise<LogEntry[]>;

/** `LOG_BATCH` as batch bounds: rows asked for, and pages. */
const LOG_BATCH_BOUNDS = {
  weigh: (query: LogPageQuery) => query.limit,
  maxWeight: LOG_BATCH.maxRows,
  maxItems: LOG_BATCH.maxPages,
};

const keyOf = (query: LogPageQuery) =>
  `${query.operationId}\u0000${query.afterRevision}\u0000${query.limit}`;

/** Reads every distinct page once, batch after batch, letting other work run between them. */
async function readPages(
  store: OperationStore,
  queries: readonly LogPageQuery[],
): Promise<LogEntry[][]> {
  const distinct = new Map<string, LogPageQuery>();
  for (const query of queries) distinct.set(keyOf(query), query);
  const read = new Map<string, LogEntry[]>();
  let first = true;
  for (const batch of inBatches([...distinct.values()], LOG_BATCH_BOUNDS)) {
    if (!first) await nextTurn();
    first = false;
    const pages = await store.logPages(batch);
    batch.forEach((query, i) => {
      read.set(keyOf(query), pages[i] ?? []);
    });
  }
  return queries.map((query) => read.get(keyOf(query)) ?? []);
}

/**
 * A reader of log pages for one request: `Operation.events` on a page of operations becomes one
 * statement instead of one per operation. Nothing is cached (a subscription's context lives on,
 * and its next event must see the log as it is then); identical pages asked at once are read
 * once. Make one per request or subscription, never share one between viewers.
 */
export function createLogPageReader(store: OperationStore): LogPageReader {
  let loader: DataLoader<LogPageQuery, LogEntry[], string> | null = null;
  return (query) => {
    loader ??= new DataLoader((queries) => readPages(store, queries), { cache: false });
    return loader.load(query);
  };
}
