import type { OperationRecord } from '../operations/model.js';

/** The topics of the event bus and what each carries. */
export interface BusEvents {
  /** An operation's full state right after a committed change (or its creation). */
  'operation.changed': OperationRecord;
  /** Cancellation was requested for a RUNNING operation: whoever runs it aborts its handler. */
  'operation.cancel': { readonly id: string };
}

/** A listener of one topic. It must not throw and must return quickly (it may queue). */
export type BusListener<K extends keyof BusEvents> = (event: BusEvents[K]) => void;

/**
 * Carries events between the parts of one process or, with a shared transport, between
 * processes. Delivery is at most once; the store's transition log is the recovery path.
 * Implementations: `memory-bus.ts` (in-process), `redis-bus.ts` (Redis pub/sub).
 */
export interface EventBus {
  /** Resolves once delivery is handed to the transport; callers publish only after commit. */
  publish<K extends keyof BusEvents>(topic: K, event: BusEvents[K]): Promise<void>;
  /**
   * Calls `listener` for every later event of `topic` until `signal` aborts. Resolves once the
   * subscription is live, so no event published after it resolves can be missed.
   */
  subscribe<K extends keyof BusEvents>(
    topic: K,
    listener: BusListener<K>,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Calls `listener` whenever the transport came back after a break (events published meanwhile
   * may be lost), with the time the break began; until `signal` aborts. Listeners recover from the
   * store's transition log. Never called in process.
   */
  onResync(listener: (brokenSince: Date) => void, signal: AbortSignal): void;
  /** Resolves when the transport answers (always, in process). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
