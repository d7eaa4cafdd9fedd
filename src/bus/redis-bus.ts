import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import type { BusCounts, BusEvents, BusListener, BusScope, EventBus } from '../operations/ports.js';
import { channelOf, channelsOf } from './channels.js';
import { encodeEvent } from './codec.js';
import { Subscriptions, settlesWithin } from './redis-subscriptions.js';
import { busUnavailable } from './unavailable.js';

/** Options of `createRedisBus`. */
export interface RedisBusOptions {
  /** Prefix of every channel name: instances share events only with the same prefix. @default 'longrun:' */
  readonly channelPrefix?: string;
  /**
   * How long `publish`, `ping`, `close` and the heartbeat wait for an answer. While Redis is known
   * to be away they fail at once; this bounds a command caught in a connection as it breaks.
   * @default 1_000
   */
  readonly commandTimeoutMs?: number;
  /**
   * How often the subscriber connection is pinged. Bounds how far back `onResync` dates a break,
   * and finds a connection that died without closing. @default 5_000
   */
  readonly heartbeatMs?: number;
  /**
   * Longest wait between two reconnection attempts (the backoff doubles from 50 ms up to it).
   * A `subscribe` made while Redis is away fails after two attempts. @default 2_000
   */
  readonly reconnectMaxDelayMs?: number;
  /**
   * Names the connections in Redis (`CLIENT LIST`): `<clientName>:publisher` and
   * `<clientName>:subscriber`. @default unnamed
   */
  readonly clientName?: string;
  /** Hears each connection (`publisher` or `subscriber`) come back after a break. */
  readonly onReconnect?: (connection: 'publisher' | 'subscriber') => void;
}

/** How long one connection attempt may take (ioredis waits 10 s by default). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * PUBLISH of one payload (ARGV[1]) on several channels (ARGV[2..]) in one round trip, sending the
 * payload once; a script runs whole, so every channel gets it before any later message. The
 * channels are not keys, hence ARGV.
 */
const PUBLISH_ALL = `local n = 0
for i = 2, #ARGV do n = n + redis.call('PUBLISH', ARGV[i], ARGV[1]) end
return n`;

type Publisher = Redis & { publishAll(payload: string, ...channels: string[]): Promise<number> };

/** The event bus over Redis pub/sub: one connection publishes, one subscribes. */
class RedisBus implements EventBus {
  readonly #publisher: Publisher;
  readonly #subscriber: Redis;
  readonly #subscriptions: Subscriptions;
  readonly #channelPrefix: string;
  readonly #commandTimeoutMs: number;
  #closed = false;

  constructor(
    publisher: Publisher,
    subscriber: Redis,
    subscriptions: Subscriptions,
    options: { readonly channelPrefix: string; readonly commandTimeoutMs: number },
  ) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#subscriptions = subscriptions;
    this.#channelPrefix = options.channelPrefix;
    this.#commandTimeoutMs = options.commandTimeoutMs;
  }

  async publish<K extends keyof BusEvents>(topic: K, event: BusEvents[K]): Promise<void> {
    this.#open();
    const payload = encodeEvent(topic, event);
    const names = channelsOf(topic, event).map((name) => this.#channelPrefix + name);
    const [only] = names;
    await (names.length === 1 && only !== undefined
      ? this.#publisher.publish(only, payload)
      : this.#publisher.publishAll(payload, ...names)
    ).catch((error: unknown) => {
      throw busUnavailable(error);
    });
  }

  async subscribe<K extends keyof BusEvents>(
    topic: K,
    scope: BusScope,
    listener: BusListener<K>,
    signal: AbortSignal,
  ): Promise<void> {
    this.#open();
    if (signal.aborted) return;
    const name = this.#channelPrefix + channelOf(topic, scope);
    const ready = this.#subscriptions.join(
      name,
      topic,
      (event) => listener(event as BusEvents[K]),
      signal,
    );
    try {
      await ready;
    } catch (error) {
      throw busUnavailable(error);
    }
  }

  onResync(listener: (brokenSince: Date) => void, signal: AbortSignal): void {
    if (this.#closed || signal.aborted) return;
    this.#subscriptions.onResync(listener, signal);
  }

  counts(): BusCounts {
    return this.#subscriptions.counts();
  }

  async ping(): Promise<void> {
    this.#open();
    await this.#publisher.ping().catch((error: unknown) => {
      throw busUnavailable(error);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.close();
    await Promise.all([
      quit(this.#publisher, this.#commandTimeoutMs),
      quit(this.#subscriber, this.#commandTimeoutMs),
    ]);
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Throws once the bus is closed. */
  #open(): void {
    if (this.#closed) throw new Error('The event bus is closed.');
  }
}

/** Logs a connection's breaks and recoveries, and tells `onReconnect` of each recovery. */
function watchConnection(
  client: Redis,
  role: 'publisher' | 'subscriber',
  logger: Logger,
  onReconnect: (role: 'publisher' | 'subscriber') => void,
  isClosed: () => boolean,
): void {
  let down = false;
  client.on('error', (error: unknown) => {
    if (isClosed()) return;
    if (down) logger.debug('Redis connection attempt failed', { role, error });
    else logger.warn('Redis connection failed; reconnecting', { role, error });
    down = true;
  });
  client.on('close', () => {
    if (!isClosed() && !down) logger.warn('Redis connection closed; reconnecting', { role });
    down = true;
  });
  client.on('ready', () => {
    if (down && !isClosed()) {
      logger.info('Redis connection restored', { role });
      onReconnect(role);
    }
    down = false;
  });
}

/**
 * The event bus over Redis pub/sub: one connection publishes, one subscribes. Resolves once both
 * connections made their first attempt, reachable or not: ioredis keeps reconnecting in the
 * background, `ping()` tells whether Redis answers, and `onResync` listeners hear when the
 * subscriber connection came back after a break (messages published meanwhile are lost).
 */
export async function createRedisBus(
  url: string,
  logger: Logger,
  options: RedisBusOptions = {},
): Promise<EventBus> {
  const {
    channelPrefix = 'longrun:',
    commandTimeoutMs = 1_000,
    heartbeatMs = 5_000,
    reconnectMaxDelayMs = 2_000,
    onReconnect = () => {},
    clientName,
  } = options;
  const named = (role: string) =>
    clientName === undefined ? {} : { connectionName: `${clientName}:${role}` };
  const common: RedisOptions = {
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(50 * 2 ** (attempt - 1), reconnectMaxDelayMs),
  };
  // No offline queue: while Redis is away a publish or ping fails at once instead of waiting.
  const publisher = new Redis(url, {
    ...common,
    ...named('publisher'),
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
  }) as Publisher;
  // EVALSHA, and EVAL once when Redis does not know the script yet (after a restart too).
  publisher.defineCommand('publishAll', { numberOfKeys: 0, lua: PUBLISH_ALL });
  // A SUBSCRIBE issued while (re)connecting waits in the offline queue and fails after one retry.
  // autoResubscribe is off because ioredis resubscribes fire-and-forget (an unhandled rejection if
  // the connection drops again) and never says when it is done; `Subscriptions` does it and then
  // reports.
  const subscriber = new Redis(url, {
    ...common,
    ...named('subscriber'),
    autoResubscribe: false,
  });
  const subscriptions = new Subscriptions(subscriber, logger, { commandTimeoutMs, heartbeatMs });
  const bus = new RedisBus(publisher, subscriber, subscriptions, {
    channelPrefix,
    commandTimeoutMs,
  });
  watchConnection(publisher, 'publisher', logger, onReconnect, () => bus.closed);
  watchConnection(subscriber, 'subscriber', logger, onReconnect, () => bus.closed);

  await Promise.all([firstAttempt(publisher), firstAttempt(subscriber)]);
  if (publisher.status !== 'ready' || subscriber.status !== 'ready') {
    logger.warn('Redis is not reachable yet; retrying in the background', {
      publisher: publisher.status,
      subscriber: subscriber.status,
    });
  }
  return bus;
}

/** Resolves on the first outcome of a connection attempt: ready, failed or given up. */
function firstAttempt(client: Redis): Promise<void> {
  return new Promise((resolve) => {
    const events = ['ready', 'error', 'close', 'end'] as const;
    const done = () => {
      for (const event of events) client.off(event, done);
      resolve();
    };
    for (const event of events) client.on(event, done);
  });
}

/** QUIT when connected (pending replies arrive first), else or when Redis does not answer, drop. */
async function quit(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') {
    try {
      if (await settlesWithin(client.quit(), ms)) return;
    } catch {
      // fall through to disconnect
    }
  }
  client.disconnect();
}
