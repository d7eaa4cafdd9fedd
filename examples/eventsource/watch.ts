/**
 * EventSource (the `eventsource` package on Node; browsers have their own) against longrun's GET
 * subscriptions over Server-Sent Events. Each state's event carries its revision as `id:`; when a
 * stream is cut off (server restart, token expiry) it ends with an error event and EventSource
 * reconnects by itself, sending `Last-Event-ID`, and the server resumes after that revision. The
 * token travels in a header through the `fetch` option, asked for at every (re)connection.
 */
import { EventSource } from 'eventsource';

/** What a watch reports. */
export interface EventSourceWatch {
  /** Each operation state, in revision order. */
  onState(op: { status: string; revision: number }): void;
  /** Each error the server sent (the connection is then retried). */
  onError?(error: { message: string; extensions?: { code?: string } }): void;
}

const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';

/** Watches operation `id` until its `complete` event; resolves then. */
export function watchWithEventSource(
  options: { readonly url: string; readonly getToken: () => string; readonly id: string },
  watch: EventSourceWatch,
): { done: Promise<void>; close(): void } {
  const url = new URL(options.url);
  url.searchParams.set('query', WATCH);
  url.searchParams.set('variables', JSON.stringify({ id: options.id }));
  const source = new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${options.getToken()}` },
      }),
  });
  const done = new Promise<void>((resolve, reject) => {
    source.addEventListener('next', (event) => {
      const result = JSON.parse(event.data) as {
        data?: { operationUpdated: { status: string; revision: number } };
        errors?: Array<{ message: string; extensions?: { code?: string } }>;
      };
      for (const error of result.errors ?? []) watch.onError?.(error);
      if (result.data) watch.onState(result.data.operationUpdated);
    });
    source.addEventListener('complete', () => {
      source.close();
      resolve();
    });
    // A refused reconnection (401, 404 ...) closes the source for good; a lost one is retried.
    source.addEventListener('error', (event) => {
      if (source.readyState === source.CLOSED)
        reject(new Error(`EventSource failed: ${event.message ?? event.code}`));
    });
  });
  return { done, close: () => source.close() };
}
