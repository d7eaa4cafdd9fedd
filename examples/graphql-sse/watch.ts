/**
 * graphql-sse's client ("distinct connections" mode) against longrun. A stream the server cuts
 * off (token expiry, shutdown) ends with an error result and no `complete`; graphql-sse treats
 * that as a lost connection and retries, asking `headers()` again, so a renewed token
 * re-authenticates and the subscription goes on.
 */
import { createClient } from 'graphql-sse';

/** A graphql-sse client for longrun. */
export function createSseClient(options: {
  readonly url: string;
  readonly getToken: () => string;
  /** How long to wait before retry number `retries` (from 0). @default 1 s doubling, jittered */
  readonly retryDelayMs?: (retries: number) => number;
}) {
  const delay = options.retryDelayMs ?? ((retries) => 1_000 * 2 ** retries + Math.random() * 1_000);
  return createClient({
    url: options.url,
    headers: () => ({ authorization: `Bearer ${options.getToken()}` }),
    retryAttempts: 5,
    retry: (retries) => new Promise((resolve) => setTimeout(resolve, delay(retries))),
  });
}

export const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }';
