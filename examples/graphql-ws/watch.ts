/**
 * graphql-ws directly: a socket that survives server restarts, and a watch that resumes after the
 * last revision it saw, so no status change is lost while the connection was down.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** An operation's state as this recipe selects it. */
export interface WatchedOperation {
  readonly id: string;
  readonly status: string;
  readonly progress: number | null;
  readonly revision: number;
  readonly done: boolean;
}

/**
 * A graphql-ws client that keeps reconnecting. graphql-ws's default `shouldRetry` retries only
 * after a close event; a refused connection (the server restarting) is an error event, so by
 * default the first refused attempt ends every subscription. Here every failure is retried,
 * with a capped, jittered backoff.
 */
export function createRetryingClient(options: {
  readonly url: string;
  readonly getToken: () => string;
}): Client {
  return createClient({
    url: options.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket, // browsers have their own
    // Asked at every (re)connection, so a renewed token is used.
    connectionParams: () => ({ authorization: `Bearer ${options.getToken()}` }),
    shouldRetry: () => true,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: async (retries) => {
      const delay = Math.min(250 * 2 ** retries, 5_000) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    },
  });
}

const WATCH = `subscription Watch($id: ID!, $afterRevision: Int) {
  operationUpdated(id: $id, afterRevision: $afterRevision) { id status progress revision done }
}`;

/**
 * Every state of operation `id` until it is done. graphql-ws sends the same payload object again
 * after a reconnection, so keeping `afterRevision` in it current makes the server replay exactly
 * what was missed (SEMANTICS.md, "Live updates"). Ends with an error for a GraphQL error
 * (NOT_FOUND, an expired token, ...).
 */
export async function* watch(client: Client, id: string): AsyncGenerator<WatchedOperation> {
  const variables: { id: string; afterRevision?: number } = { id };
  for await (const result of client.iterate<{ operationUpdated: WatchedOperation }>({
    query: WATCH,
    variables,
  })) {
    if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join('; '));
    const op = result.data?.operationUpdated;
    if (!op) continue;
    variables.afterRevision = op.revision;
    yield op;
  }
}
