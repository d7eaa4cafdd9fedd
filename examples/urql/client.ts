/**
 * urql 6 against longrun, with subscriptions over graphql-ws, graphql-sse, or urql's own fetch
 * transport (Server-Sent Events). Two things to know, both handled here:
 * - urql repeats the last result with `hasNext: false` when a subscription completes, so the
 *   terminal state arrives twice; `watchStates` skips a repeated revision.
 * - graphql-ws hands a socket close to the sink as a CloseEvent, which urql shows as
 *   "[Network] undefined"; `closeAsError` turns it into an Error that says the code and reason.
 */
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createSseClient } from 'graphql-sse';
import type { Client as WsClient } from 'graphql-ws';

/** Which transport carries subscriptions. */
export type UrqlTransport =
  | { readonly kind: 'graphql-ws'; readonly client: WsClient }
  | { readonly kind: 'graphql-sse' }
  | { readonly kind: 'fetch' };

/** A graphql-ws close event as an Error whose message names the close code and reason. */
export function closeAsError(error: unknown): Error {
  if (error instanceof Error) return error;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code, reason } = error as { code: number; reason?: string };
    return new Error(`The WebSocket closed with ${code}${reason ? `: ${reason}` : ''}`);
  }
  return new Error(String(error));
}

/** An urql client for longrun; the token is asked for on every request. */
export function createUrql(options: {
  readonly url: string;
  readonly getToken: () => string;
  readonly transport: UrqlTransport;
}): Client {
  const headers = () => ({ authorization: `Bearer ${options.getToken()}` });
  const { transport } = options;
  if (transport.kind === 'fetch') {
    return new Client({
      url: options.url,
      fetchSubscriptions: true, // subscriptions over fetch, as text/event-stream
      fetchOptions: () => ({ headers: headers() }),
      exchanges: [cacheExchange, fetchExchange],
    });
  }
  const sse =
    transport.kind === 'graphql-sse' ? createSseClient({ url: options.url, headers }) : null;
  return new Client({
    url: options.url,
    fetchOptions: () => ({ headers: headers() }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const forward = {
                next: (value: unknown) => sink.next(value as never),
                complete: () => sink.complete(),
                error: (error: unknown) => sink.error(closeAsError(error)),
              };
              const unsubscribe =
                transport.kind === 'graphql-ws'
                  ? transport.client.subscribe(input, forward)
                  : (sse as NonNullable<typeof sse>).subscribe(input, forward);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}

const WATCH = `subscription Watch($id: ID!) {
  operationUpdated(id: $id) { id status progress revision done }
}`;

/** An operation's state as this recipe selects it. */
export interface UrqlOperation {
  readonly id: string;
  readonly status: string;
  readonly progress: number | null;
  readonly revision: number;
  readonly done: boolean;
}

/**
 * Calls `onState` once per revision of operation `id` (urql's repeat of the last result on
 * completion is skipped) and resolves when the subscription completes; rejects with urql's
 * CombinedError when it fails.
 */
export function watchStates(
  client: Client,
  id: string,
  onState: (op: UrqlOperation) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastRevision = 0;
    const { unsubscribe } = client
      .subscription<{ operationUpdated: UrqlOperation }>(WATCH, { id })
      .subscribe((result) => {
        if (result.error) {
          unsubscribe();
          reject(result.error);
          return;
        }
        const op = result.data?.operationUpdated;
        if (op && op.revision > lastRevision) {
          lastRevision = op.revision;
          onState(op);
        }
        if (result.hasNext === false) resolve();
      });
  });
}
