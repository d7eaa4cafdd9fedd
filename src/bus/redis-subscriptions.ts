import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { BusCounts, BusEvents } from '../operations/ports.js';
import { zeroCounts } from './channels.js';
import { decodeEvent } from './codec.js';

export type AnyListener = (event: unknown) => void;

/** One Redis channel = one scope of one topic, shared by every local listener of it. */
interface Channel {
  readonly topic: keyof BusEvents;
  readonly listeners: Set<AnyListener>;
  /** Settles when Redis acknowledged the SUBSCRIBE (again after a break, once resubscribed). */
  ready: Promise<void>;
}

/** The settings of `RedisBusOptions` that the subscriber connection reads. */
export interface SubscriberSettings {
  readonly commandTimeoutMs: number;
  readonly heartbeatMs: number;
}

/**
 * The subscribing connection: one Redis channel per scope in use, shared by its local listeners,
 * and the recovery after a break (resubscribe, then tell `onResync` listeners since when events
 * may have been lost). A heartbeat finds a connection that died without closing.
 */
export class Subscriptions {
  readonly #client: Redis;
  readonly #logger: Logger;
  readonly #settings: SubscriberSettings;
  readonly #channels = new Map<string, Channel>();
  readonly #resyncListeners = new Set<(brokenSince: Date) => void>();
  readonly #received = zeroCounts();
  readonly #heartbeat: NodeJS.Timeout;
  #malformed = 0;
  #closed = false;
  #pinging = false;
  // Every break of the connection bumps `#epoch`. `#aliveAt` is the send time of the last command
  // Redis answered on the current connection: whatever was published before it has been
  // delivered, so a break began no earlier than that.
  #epoch = 0;
  #aliveAt = new Date();
  #brokenSince: Date | null = null;

  constructor(client: Redis, logger: Logger, settings: SubscriberSettings) {
    this.#client = client;
    this.#logger = logger;
    this.#settings = settings;
    client.on('close', () => {
      this.#epoch++;
      this.#brokenSince ??= this.#aliveAt;
    });
    client.on('end', () => {
      this.#brokenSince ??= this.#aliveAt;
    });
    client.on('error', () => {
      if (client.status !== 'ready') this.#brokenSince ??= this.#aliveAt;
    });
    client.on('ready', () => {
      // resync owns its failures: it logs them, and the next 'ready' tries again.
      if (this.#brokenSince !== null && !this.#closed) void this.#resync();
    });
    client.on('message', (name: string, payload: string) => this.#deliver(name, payload));
    this.#heartbeat = setInterval(() => {
      if (!this.#pinging && client.status === 'ready') void this.#beat();
    }, settings.heartbeatMs);
    this.#heartbeat.unref();
  }

  /**
   * Adds `listener` to channel `name` (of `topic`) until `signal` aborts; resolves once Redis
   * acknowledged the channel's SUBSCRIBE, rejects with Redis's error while it is away.
   */
  join(name: string, topic: keyof BusEvents, listener: AnyListener, signal: AbortSignal) {
    const channel = this.#channels.get(name) ?? this.#open(name, topic);
    // One entry per call, so the same function subscribed twice is removed once per signal.
    const entry: AnyListener = (event) => listener(event);
    channel.listeners.add(entry);
    const leave = () => {
      channel.listeners.delete(entry);
      if (channel.listeners.size === 0 && this.#channels.get(name) === channel) {
        this.#release(name);
      }
    };
    signal.addEventListener('abort', leave, { once: true });
    return channel.ready;
  }

  onResync(listener: (brokenSince: Date) => void, signal: AbortSignal): void {
    const entry = (brokenSince: Date) => listener(brokenSince);
    this.#resyncListeners.add(entry);
    signal.addEventListener('abort', () => this.#resyncListeners.delete(entry), { once: true });
  }

  counts(): BusCounts {
    return { received: { ...this.#received }, malformed: this.#malformed };
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#channels.clear();
    this.#resyncListeners.clear();
  }

  #deliver(name: string, payload: string): void {
    const channel = this.#channels.get(name);
    if (!channel) return; // a late message for a channel we just left
    this.#received[channel.topic]++;
    const event = decodeEvent(channel.topic, payload);
    if (event === null) {
      this.#malformed++;
      this.#logger.warn('dropped a malformed bus message', {
        channel: name,
        bytes: payload.length,
      });
      return;
    }
    for (const listener of [...channel.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error('an event listener failed', { topic: channel.topic, error });
      }
    }
  }

  /** Redis answered a command sent at `sentAt` on connection `sentIn`. */
  #alive(sentAt: Date, sentIn: number): void {
    if (sentIn === this.#epoch && this.#brokenSince === null && sentAt > this.#aliveAt) {
      this.#aliveAt = sentAt;
    }
  }

  #open(name: string, topic: keyof BusEvents): Channel {
    const at = this.#epoch;
    const sentAt = new Date();
    const channel: Channel = { topic, listeners: new Set(), ready: Promise.resolve() };
    this.#channels.set(name, channel);
    // A failed SUBSCRIBE keeps the channel: `#resync` subscribes it once Redis is back.
    channel.ready = this.#client.subscribe(name).then(() => this.#alive(sentAt, at));
    // Listeners that joined meanwhile each see the failure; this one only keeps it from going
    // unhandled when they have all left.
    channel.ready.catch(() => undefined);
    return channel;
  }

  #release(name: string): void {
    this.#channels.delete(name);
    const at = this.#epoch;
    const sentAt = new Date();
    // Ordered after any SUBSCRIBE of the same channel on this connection; after a break nothing
    // is left to leave, as `#resync` subscribes only the channels still in use.
    this.#client.unsubscribe(name).then(
      () => this.#alive(sentAt, at),
      (error: unknown) => this.#logger.debug('UNSUBSCRIBE failed', { channel: name, error }),
    );
  }

  async #resync(): Promise<void> {
    const at = this.#epoch;
    const since = this.#brokenSince;
    const names = [...this.#channels.keys()];
    const sentAt = new Date();
    try {
      if (names.length > 0) await this.#client.subscribe(...names);
    } catch (error) {
      this.#logger.warn('resubscribing after a Redis break failed; retrying on reconnect', {
        error,
      });
      return;
    }
    // Broke again meanwhile (the next 'ready' resyncs), or another resync got here first.
    if (at !== this.#epoch || this.#closed || since === null || this.#brokenSince !== since) {
      return;
    }
    this.#brokenSince = null;
    this.#aliveAt = sentAt;
    for (const name of names) {
      const channel = this.#channels.get(name);
      if (channel) channel.ready = Promise.resolve();
    }
    this.#logger.info('Redis subscriptions restored', {
      channels: names.length,
      brokenSince: since,
    });
    for (const listener of [...this.#resyncListeners]) {
      try {
        listener(since);
      } catch (error) {
        this.#logger.error('a bus resync listener failed', { error });
      }
    }
  }

  async #beat(): Promise<void> {
    this.#pinging = true;
    const at = this.#epoch;
    const sentAt = new Date();
    const { commandTimeoutMs } = this.#settings;
    try {
      if (await settlesWithin(this.#client.ping(), commandTimeoutMs)) this.#alive(sentAt, at);
      else if (at === this.#epoch && !this.#closed) {
        this.#logger.warn('Redis subscriber did not answer a ping; reconnecting', {
          commandTimeoutMs,
        });
        this.#client.disconnect(true);
      }
    } catch {
      // The connection broke: its 'close' starts the recovery.
    } finally {
      this.#pinging = false;
    }
  }
}

/** True when `promise` resolves within `ms`, false when it is still pending; rejects as it does. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
