import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import type { BusEvents, BusListener, BusScope, EventBus } from '../operations/ports.js';
import { channelOf, channelsOf, zeroCounts } from './channels.js';
import { decodeEvent, encodeEvent } from './codec.js';
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

type AnyListener = (event: unknown) => void;

/** One Redis channel = one scope of one topic, shared by every local listener of it. */
interface Channel {
  readonly topic: keyof BusEvents;
  readonly listeners: Set<AnyListener>;
  /** Settles when Redis acknowledged the SUBSCRIBE (again after a break, once resubscribed). */
  ready: Promise<void>;
}

/**
 * PUBLISH of one payload (ARGV[1]) on several channels (ARGV[2..]) in one round trip, sending the
 * payload once; a script runs whole, so every channel gets it before any later message. The
 * channels are not keys, hence ARGV.
 */
const PUBLISH_ALL = `local n = 0
for i = 2, #ARGV do n = n + redis.call('PUBLISH', ARGV[i], ARGV[1]) end
return n`;

type Publisher = Redis & { publishAll(payload: string, ...channels: string[]): Promise<number> };

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
  const pub = new Redis(url, {
    ...common,
    ...named('publisher'),
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
  }) as Publisher;
  // EVALSHA, and EVAL once when Redis does not know the script yet (after a restart too).
  pub.defineCommand('publishAll', { numberOfKeys: 0, lua: PUBLISH_ALL });
  // A SUBSCRIBE issued while (re)connecting waits in the offline queue and fails after one retry.
  // autoResubscribe is off because ioredis resubscribes fire-and-forget (an unhandled rejection if
  // the connection drops again) and never says when it is done; `resync` does it and then reports.
  const sub = new Redis(url, { ...common, ...named('subscriber'), autoResubscribe: false });

  const channels = new Map<string, Channel>();
  const resyncListeners = new Set<(brokenSince: Date) => void>();
  const received = zeroCounts();
  let malformed = 0;
  let closed = false;
  // Every break of the subscriber connection bumps `epoch`. `aliveAt` is the send time of the
  // last command Redis answered on the current connection: whatever was published before it has
  // been delivered, so a break began no earlier than that.
  let epoch = 0;
  let aliveAt = new Date();
  let brokenSince: Date | null = null;

  const alive = (sentAt: Date, sentIn: number) => {
    if (sentIn === epoch && brokenSince === null && sentAt > aliveAt) aliveAt = sentAt;
  };

  watch(pub, 'publisher');
  watch(sub, 'subscriber');
  sub.on('close', () => {
    epoch++;
    brokenSince ??= aliveAt;
  });
  sub.on('end', () => {
    brokenSince ??= aliveAt;
  });
  sub.on('error', () => {
    if (sub.status !== 'ready') brokenSince ??= aliveAt;
  });
  sub.on('ready', () => {
    // resync owns its failures: it logs them, and the next 'ready' tries again.
    if (brokenSince !== null && !closed) void resync();
  });
  sub.on('message', (name: string, payload: string) => {
    const channel = channels.get(name);
    if (!channel) return; // a late message for a channel we just left
    received[channel.topic]++;
    const event = decodeEvent(channel.topic, payload);
    if (event === null) {
      malformed++;
      logger.warn('dropped a malformed bus message', { channel: name, bytes: payload.length });
      return;
    }
    for (const listener of [...channel.listeners]) {
      try {
        listener(event);
      } catch (error) {
        logger.error('an event listener failed', { topic: channel.topic, error });
      }
    }
  });

  let pinging = false;
  const heartbeat = setInterval(() => {
    if (!pinging && sub.status === 'ready') void beat();
  }, heartbeatMs);
  heartbeat.unref();

  await Promise.all([firstAttempt(pub), firstAttempt(sub)]);
  if (pub.status !== 'ready' || sub.status !== 'ready') {
    logger.warn('Redis is not reachable yet; retrying in the background', {
      publisher: pub.status,
      subscriber: sub.status,
    });
  }

  function watch(client: Redis, role: 'publisher' | 'subscriber') {
    let down = false;
    client.on('error', (error: unknown) => {
      if (closed) return;
      if (down) logger.debug('Redis connection attempt failed', { role, error });
      else logger.warn('Redis connection failed; reconnecting', { role, error });
      down = true;
    });
    client.on('close', () => {
      if (!closed && !down) logger.warn('Redis connection closed; reconnecting', { role });
      down = true;
    });
    client.on('ready', () => {
      if (down && !closed) {
        logger.info('Redis connection restored', { role });
        onReconnect(role);
      }
      down = false;
    });
  }

  async function resync(): Promise<void> {
    const at = epoch;
    const since = brokenSince;
    const names = [...channels.keys()];
    const sentAt = new Date();
    try {
      if (names.length > 0) await sub.subscribe(...names);
    } catch (error) {
      logger.warn('resubscribing after a Redis break failed; retrying on reconnect', { error });
      return;
    }
    // Broke again meanwhile (the next 'ready' resyncs), or another resync got here first.
    if (at !== epoch || closed || since === null || brokenSince !== since) return;
    brokenSince = null;
    aliveAt = sentAt;
    for (const name of names) {
      const channel = channels.get(name);
      if (channel) channel.ready = Promise.resolve();
    }
    logger.info('Redis subscriptions restored', { channels: names.length, brokenSince: since });
    for (const listener of [...resyncListeners]) {
      try {
        listener(since);
      } catch (error) {
        logger.error('a bus resync listener failed', { error });
      }
    }
  }

  async function beat(): Promise<void> {
    pinging = true;
    const at = epoch;
    const sentAt = new Date();
    try {
      if (await settlesWithin(sub.ping(), commandTimeoutMs)) alive(sentAt, at);
      else if (at === epoch && !closed) {
        logger.warn('Redis subscriber did not answer a ping; reconnecting', { commandTimeoutMs });
        sub.disconnect(true);
      }
    } catch {
      // The connection broke: its 'close' starts the recovery.
    } finally {
      pinging = false;
    }
  }

  function open(name: string, topic: keyof BusEvents): Channel {
    const at = epoch;
    const sentAt = new Date();
    const channel: Channel = { topic, listeners: new Set(), ready: Promise.resolve() };
    channels.set(name, channel);
    // A failed SUBSCRIBE keeps the channel: `resync` subscribes it once Redis is back.
    channel.ready = sub.subscribe(name).then(() => alive(sentAt, at));
    // Listeners that joined meanwhile each see the failure; this one only keeps it from going
    // unhandled when they have all left.
    channel.ready.catch(() => undefined);
    return channel;
  }

  function release(name: string) {
    channels.delete(name);
    const at = epoch;
    const sentAt = new Date();
    // Ordered after any SUBSCRIBE of the same channel on this connection; after a break nothing
    // is left to leave, as `resync` subscribes only the channels still in use.
    sub.unsubscribe(name).then(
      () => alive(sentAt, at),
      (error: unknown) => logger.debug('UNSUBSCRIBE failed', { channel: name, error }),
    );
  }

  return {
    async publish(topic, event) {
      if (closed) throw new Error('The event bus is closed.');
      const payload = encodeEvent(topic, event);
      const names = channelsOf(topic, event).map((name) => channelPrefix + name);
      const [only] = names;
      await (names.length === 1 && only !== undefined
        ? pub.publish(only, payload)
        : pub.publishAll(payload, ...names)
      ).catch((error: unknown) => {
        throw busUnavailable(error);
      });
    },

    async subscribe<K extends keyof BusEvents>(
      topic: K,
      scope: BusScope,
      listener: BusListener<K>,
      signal: AbortSignal,
    ) {
      if (closed) throw new Error('The event bus is closed.');
      if (signal.aborted) return;
      const name = channelPrefix + channelOf(topic, scope);
      const channel = channels.get(name) ?? open(name, topic);
      // One entry per call, so the same function subscribed twice is removed once per signal.
      const entry: AnyListener = (event) => listener(event as BusEvents[K]);
      channel.listeners.add(entry);
      const leave = () => {
        channel.listeners.delete(entry);
        if (channel.listeners.size === 0 && channels.get(name) === channel) release(name);
      };
      signal.addEventListener('abort', leave, { once: true });
      try {
        await channel.ready;
      } catch (error) {
        throw busUnavailable(error);
      }
    },

    onResync(listener, signal) {
      if (closed || signal.aborted) return;
      const entry = (brokenSince: Date) => listener(brokenSince);
      resyncListeners.add(entry);
      signal.addEventListener('abort', () => resyncListeners.delete(entry), { once: true });
    },

    counts: () => ({ received: { ...received }, malformed }),

    async ping() {
      if (closed) throw new Error('The event bus is closed.');
      await pub.ping().catch((error: unknown) => {
        throw busUnavailable(error);
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      channels.clear();
      resyncListeners.clear();
      await Promise.all([quit(pub, commandTimeoutMs), quit(sub, commandTimeoutMs)]);
    },
  };
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

/** True when `promise` resolves within `ms`, false when it is still pending; rejects as it does. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
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
