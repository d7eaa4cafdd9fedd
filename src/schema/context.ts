import type { Viewer } from '../auth/viewer.js';
import type { HistoryReader, OperationsService } from '../operations/service.js';
import type { WatchLinks } from '../operations/watch-links.js';

/** Event ids of a transport that numbers its events (SSE); absent on the others. */
export interface EventIds {
  /** The revision a reconnecting client saw last (`Last-Event-ID`), or null. */
  readonly lastEventId: number | null;
  /**
   * Told of each operation state as it is sent, in order: `revision` becomes the event's id, and
   * `last` says the stream ends after it (so it completes rather than being cut off).
   */
  sending(revision: number, last: boolean): void;
}

/** What `renewSession` made of a token (the WebSocket edge decides; the resolver reports). */
export type RenewOutcome =
  /** The socket now runs on the new token; its expiry moved to the new `exp`. */
  | { readonly kind: 'renewed'; readonly viewer: Viewer }
  /** Not a valid token: nothing changed, the old token holds until it expires. */
  | { readonly kind: 'invalid'; readonly reason: string }
  /** A valid token for someone else: the socket is being closed with 4403. */
  | { readonly kind: 'other-principal' };

/** The authenticated session of one WebSocket, which `renewSession` renews in band. */
export interface SocketSession {
  /** The token's viewer now; a renewal replaces it. */
  readonly viewer: Viewer;
  /** Swaps the socket's token for `token` when it names the same principal. */
  renew(token: string): RenewOutcome;
}

/** What every resolver gets: who asks, the use cases, and when its streams must end. */
export interface Context {
  readonly viewer: Viewer;
  readonly operations: OperationsService;
  /** This request's reader of transition logs (`Operation.events`), batched per tick. */
  readonly history: HistoryReader;
  readonly watchLinks: WatchLinks;
  /** Where browsers reach this server (ends in `/`), for the links it hands out. */
  readonly publicBase: URL;
  /** The WebSocket's session; null over HTTP and SSE, where there is nothing to renew. */
  readonly session: SocketSession | null;
  /**
   * Aborts when the request or socket ends, the token expires, or the server stops. Over HTTP it
   * is made on the first call: only streams and waits need it.
   */
  streamSignal(): AbortSignal;
  readonly eventIds?: EventIds;
}
