import type { Viewer } from '../auth/viewer.js';
import type { HistoryReader, OperationsService } from '../operations/service.js';

/** What every resolver gets: who asks, the use cases, and when its streams must end. */
export interface Context {
  readonly viewer: Viewer;
  readonly operations: OperationsService;
  /** This request's reader of transition logs (`Operation.events`), batched per tick. */
  readonly history: HistoryReader;
  /** Aborts when the request or socket ends, the token expires, or the server stops. */
  readonly signal: AbortSignal;
}
