import type { ConnectionState, Operation, OperationsClient } from '../client/index.js';

/** How many operations a (re)sync lists. */
const LIST_PAGE_SIZE = 50;

/** How long to wait for the socket before listing anyway, so a blocked socket shows a table. */
const LIST_FALLBACK_MS = 3_000;

/**
 * graphql-ws does not acknowledge a subscription, so a change committed between the connection
 * and the server's start of the stream would be in neither; one more list this long after each
 * connection closes that gap.
 */
const SETTLE_RELIST_MS = 1_000;

/** Where the sync hands what it learns. */
export interface LiveSyncListener {
  /** A state from the list or the stream; the receiver keeps the highest revision. */
  operation(op: Operation, source: 'list' | 'live'): void;
  connection(state: ConnectionState): void;
  /** A list finished; the table now holds everything committed before it was read. */
  listed(): void;
  /** How many operations the viewer has in all, and whether older pages are left to load. */
  pages(info: { readonly total: number; readonly hasOlder: boolean }): void;
  /** A list failed, or the stream ended with an error it cannot retry. */
  error(error: unknown, fatal: boolean): void;
}

/**
 * Keeps a dashboard in step with the server: subscribes to every change first, then lists, and
 * lists again each time the socket is (re)connected, since `operationsUpdated` is live only and
 * changes made while it was down are not replayed (SEMANTICS.md, "Live updates"). Older pages
 * load on request; a resync re-reads the newest page only.
 */
/** A running sync: `loadOlder` fetches the next page; `stop` ends it. */
export interface LiveSync {
  loadOlder(): Promise<void>;
  stop(): void;
}

export function startLiveSync(client: OperationsClient, listener: LiveSyncListener): LiveSync {
  const stopped = new AbortController();
  let listing: Promise<void> | null = null;
  let listAgain = false;
  let fallback: ReturnType<typeof setTimeout> | undefined;
  let loadedBeyondFirst = false;
  let settle: ReturnType<typeof setTimeout> | undefined;

  /** Where the oldest loaded page ended; null until the first list. */
  let older: { cursor: string | null; hasOlder: boolean } | null = null;
  let loadingOlder: Promise<void> | null = null;

  const list = async () => {
    try {
      const page = await client.listPage({ first: LIST_PAGE_SIZE });
      if (stopped.signal.aborted) return;
      for (const op of page.operations) listener.operation(op, 'list');
      // Pages loaded beyond the first keep their place; otherwise the first page sets it.
      if (!loadedBeyondFirst) {
        older = { cursor: page.endCursor, hasOlder: page.hasNextPage };
      }
      listener.pages({ total: page.totalCount, hasOlder: older?.hasOlder ?? page.hasNextPage });
      listener.listed();
    } catch (error) {
      if (!stopped.signal.aborted) listener.error(error, false);
    }
  };

  // One list at a time; a reconnection during a list asks for one more afterwards.
  const resync = () => {
    if (listing) {
      listAgain = true;
      return;
    }
    listing = list().finally(() => {
      listing = null;
      if (listAgain && !stopped.signal.aborted) {
        listAgain = false;
        resync();
      }
    });
  };

  // Registered before the stream opens the socket, so the first `connected` is seen. Listing on
  // `connected` rather than at once narrows the gap: the subscription goes out before the list.
  const unlisten = client.onConnectionChange((state) => {
    listener.connection(state);
    if (state === 'connected') {
      clearTimeout(fallback);
      clearTimeout(settle);
      resync();
      settle = setTimeout(resync, SETTLE_RELIST_MS);
    }
  });
  listener.connection(client.connectionState);

  void (async () => {
    try {
      // No status or kind filter on the server: the page filters, so a row that leaves a
      // filter is seen leaving it.
      for await (const op of client.watchAll({}, { signal: stopped.signal })) {
        listener.operation(op, 'live');
      }
    } catch (error) {
      if (!stopped.signal.aborted) listener.error(error, true);
    }
  })();

  fallback = setTimeout(resync, LIST_FALLBACK_MS);

  const loadOlder = async () => {
    const from = older;
    if (from === null || !from.hasOlder || from.cursor === null) return;
    try {
      const page = await client.listPage({ first: LIST_PAGE_SIZE, after: from.cursor });
      if (stopped.signal.aborted) return;
      for (const op of page.operations) listener.operation(op, 'list');
      loadedBeyondFirst = true;
      older = { cursor: page.endCursor, hasOlder: page.hasNextPage };
      listener.pages({ total: page.totalCount, hasOlder: page.hasNextPage });
    } catch (error) {
      if (!stopped.signal.aborted) listener.error(error, false);
    }
  };

  return {
    loadOlder() {
      loadingOlder ??= loadOlder().finally(() => {
        loadingOlder = null;
      });
      return loadingOlder;
    },
    stop() {
      stopped.abort();
      clearTimeout(fallback);
      clearTimeout(settle);
      unlisten();
    },
  };
}
