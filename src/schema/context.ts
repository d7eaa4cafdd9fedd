import type { Viewer } from '../auth/viewer.js';
import type { HistoryReader, OperationsService } from '../operations/service.js';

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

/** What every resolver gets: who asks, the use cases, and when its streams must end. */
export interface Context {
  readonly viewer: Viewer;
  readonly operations: OperationsService;
  /** This request's reader of transition logs (`Operation.events`), batched per tick. */
  readonly history: HistoryReader;
  /** Aborts when the request or socket ends, the token expires, or the server stops. */
  readonly signal: AbortSignal;
  readonly eventIds?: EventIds;
}
