import type { Logger } from '../logger.js';
import { UnavailableError } from './errors.js';
import type { FeedStream } from './feed-stream.js';
import type { OperationRecord } from './model.js';
import type { BusScope, EventBus } from './ports.js';

/**
 * The streams of this process that watch one bus scope (one operation, one owner, or everything),
 * and the one bus subscription they share: taken when the first stream arrives, dropped when the
 * last leaves, so the process receives only what its own streams watch.
 */
export class Audience {
  readonly streams = new Set<FeedStream>();
  /** Settles once the bus subscription is live; a bus that is away does not fail it. */
  readonly live: Promise<void>;
  readonly #leave = new AbortController();

  constructor(
    bus: EventBus,
    readonly scope: BusScope,
    logger: Logger,
  ) {
    this.live = bus
      .subscribe(
        'operation.changed',
        scope,
        (record) => {
          for (const stream of [...this.streams]) stream.deliver(record);
        },
        this.#leave.signal,
      )
      .catch((error: unknown) => {
        if (!(error instanceof UnavailableError)) throw error;
        // The bus subscribes it once it is back and reports the break; the log covers meanwhile.
        logger.warn('the event bus is away; a live stream follows the transition log meanwhile', {
          scope,
          error,
        });
      });
  }

  /** Hands a state read from the log to every stream, as if it had just arrived. */
  replay(record: OperationRecord, at: number): void {
    for (const stream of [...this.streams]) stream.deliver(record, at);
  }

  /** Drops the bus subscription. */
  close(): void {
    this.#leave.abort();
  }
}
