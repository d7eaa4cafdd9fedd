import type { Logger } from '../logger.js';
import type { OperationRecord } from './model.js';
import type { OperationStore } from './ports.js';
import { isDone } from './status.js';
import { UpdateQueue } from './update-queue.js';

/**
 * Entries of one read of the transition log for a stream. SQLite reads on the event loop: a page
 * with its states rebuilt takes a few milliseconds (`npm run bench:loop`).
 */
const REPLAY_PAGE = 500;

/** Where a stream fills gaps from, and when to stop trying (the feed stopped). */
export interface GapFiller {
  readonly store: OperationStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Runs one read of the log when its turn comes, shared with every other stream's reads. */
  read<T>(read: () => Promise<T>): Promise<T>;
}

/**
 * One open live stream: its queue, the filter decided at subscribe time, and per operation the
 * newest revision seen. A state that arrives after a gap waits while the missing revisions are
 * read from the transition log, so the stream never skips a status change and stays in revision
 * order however the bus delivers (late, twice, or not at all).
 */
export class FeedStream {
  readonly queue: UpdateQueue;
  /** When the stream opened: log entries from before it are history, not its business. */
  readonly openedAt = Date.now();
  readonly #log: GapFiller;
  readonly #accept: (record: OperationRecord) => boolean;
  /** The newest revision seen per unfinished operation, to notice gaps. */
  readonly #seen = new Map<string, number>();
  /** Per operation, the replay in flight; later states wait behind it. Made on the first one. */
  #chains: Map<string, Promise<void>> | null = null;

  /**
   * @param completeOnTerminal end after a terminal state (one operation's stream).
   * @param accept visibility and filters, decided once at subscribe time.
   * @param onClose called once when the stream ends for any reason.
   */
  constructor(
    log: GapFiller,
    completeOnTerminal: boolean,
    accept: (record: OperationRecord) => boolean,
    onClose: () => void,
  ) {
    this.#log = log;
    this.#accept = accept;
    this.queue = new UpdateQueue(completeOnTerminal, onClose);
  }

  /**
   * Hands the stream a state from the bus or, with `at` (its commit time), from the log. A gap
   * since the last revision seen is filled from the log first.
   */
  deliver(record: OperationRecord, at?: number): void {
    if (this.#chains?.has(record.id)) {
      this.#chain(record.id, () => this.#settle(record, at));
      return;
    }
    const replaying = this.#settle(record, at);
    if (replaying) this.#chain(record.id, () => replaying);
  }

  /** The stream's signal aborted (its request or socket ended): the stream ends. */
  handleEvent(): void {
    this.queue.close();
  }

  /** Starts the stream of `current`'s operation with every revision after `afterRevision`. */
  resume(current: OperationRecord, afterRevision: number): void {
    const { id } = current;
    this.#chain(id, async () => {
      if (!this.#seen.has(id)) this.#seen.set(id, afterRevision);
      await this.#replay(id, afterRevision, current.revision);
      this.#take(current);
    });
  }

  #take(record: OperationRecord): void {
    const seen = this.#seen.get(record.id) ?? 0;
    if (record.revision <= seen) return;
    if (isDone(record.status)) this.#seen.delete(record.id);
    else this.#seen.set(record.id, record.revision);
    if (this.#accept(record)) this.queue.push(record);
    // An operation that ends outside a filter would otherwise stay tracked for the feed's life.
    else if (isDone(record.status)) this.queue.forget(record);
  }

  /** Takes the logged revisions after `after` up to `upTo`, page by page. */
  async #replay(id: string, after: number, upTo: number): Promise<void> {
    let from = after;
    // Progress entries may be coalesced in the log, so a page can end short of `upTo` and still
    // be followed by others: only a page shorter than asked is the end.
    while (from < upTo && !this.#log.signal.aborted && !this.queue.ended) {
      const events = await this.#log.read(() => this.#log.store.events(id, from, REPLAY_PAGE));
      for (const event of events) {
        if (event.revision > upTo) return;
        this.#take(event.state);
      }
      const last = events.at(-1);
      if (events.length < REPLAY_PAGE || last === undefined) return;
      from = last.revision;
    }
  }

  #chain(id: string, work: () => Promise<void> | void): void {
    if (this.#chains === null) this.#chains = new Map();
    const chains = this.#chains;
    const previous = chains.get(id) ?? Promise.resolve();
    const tail = previous.then(work).catch((error: unknown) => {
      this.#log.logger.error('replaying operation changes from the log failed', { id, error });
    });
    chains.set(id, tail);
    void tail.then(() => {
      if (chains.get(id) === tail) chains.delete(id);
    });
  }

  /** Takes `record`, first replaying from the log any revision between it and the last seen. */
  #settle(record: OperationRecord, at?: number): Promise<void> | undefined {
    const seen = this.#seen.get(record.id);
    if (seen === undefined && at !== undefined && at < this.openedAt) return undefined;
    if (seen !== undefined && record.revision > seen + 1) {
      return this.#replay(record.id, seen, record.revision - 1).then(() => this.#take(record));
    }
    this.#take(record);
    return undefined;
  }
}
