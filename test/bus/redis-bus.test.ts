import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisBus, type RedisBusOptions } from '../../src/bus/redis-bus.js';
import type { Logger } from '../../src/logger.js';
import { UnavailableError } from '../../src/operations/errors.js';
import { ALL, type EventBus } from '../../src/operations/ports.js';
import { REDIS_SKIP_REASON, sayWhySkipped, TEST_REDIS_URL } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor, within } from '../helpers/wait.js';
import { fullRecord, minimalRecord } from './records.js';

const url = TEST_REDIS_URL;

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** Collects what a listener receives; `until` waits for the next arrivals, never sleeps. */
class Inbox<T> {
  readonly received: T[] = [];
  private waiters: Array<() => void> = [];
  readonly listener = (event: T): void => {
    this.received.push(event);
    for (const wake of this.waiters.splice(0)) wake();
  };
  async until(count: number, what: string): Promise<void> {
    while (this.received.length < count) {
      await within(new Promise<void>((wake) => this.waiters.push(wake)), what, 5_000);
    }
  }
}

/** Settles within `ms`: the rejection reason, or 'resolved'. A hang fails the test. */
function outcome(promise: Promise<unknown>, what: string, ms = 2_000): Promise<unknown> {
  return within(
    promise.then(
      () => 'resolved',
      (error: unknown) => error,
    ),
    what,
    ms,
  );
}

sayWhySkipped(REDIS_SKIP_REASON, 'Redis event bus');
describe.skipIf(!url)('Redis event bus (set TEST_REDIS_URL, e.g. redis://127.0.0.1:6379)', () => {
  const redisUrl = url ?? '';
  let admin: Redis;
  const opened: EventBus[] = [];
  const proxies: TcpProxy[] = [];
  let logs: LogLine[] = [];
  let prefix = '';

  const logger: Logger = {
    debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
    info: (message, fields) => logs.push({ level: 'info', message, fields }),
    warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    error: (message, fields) => logs.push({ level: 'error', message, fields }),
  };

  async function openProxy(): Promise<TcpProxy> {
    const proxy = await startTcpProxy(redisUrl);
    proxies.push(proxy);
    return proxy;
  }

  async function openBus(options: RedisBusOptions = {}, at = redisUrl): Promise<EventBus> {
    const bus = await createRedisBus(at, logger, { channelPrefix: prefix, ...options });
    opened.push(bus);
    return bus;
  }

  /** Our channels Redis has a subscriber for (PUBSUB CHANNELS), sorted. */
  async function liveChannels(): Promise<string[]> {
    const names = (await admin.pubsub('CHANNELS', `${prefix}*`)) as string[];
    return names.sort();
  }

  beforeAll(() => {
    admin = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await admin.quit();
  });
  beforeEach(() => {
    prefix = `longrun-test:${randomUUID()}:`;
    logs = [];
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((bus) => bus.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });

  it('delivers a message published right after subscribe() resolves, across two instances', async () => {
    // b's commands reach Redis 2 ms late: a SUBSCRIBE not awaited would lose a's PUBLISH.
    const slow = await openProxy();
    slow.delayMs = 2;
    const a = await openBus();
    const b = await openBus({}, slow.url);
    for (let i = 0; i < 200; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const inbox = new Inbox<{ readonly id: string }>();
      const life = new AbortController();
      // The last local listener leaves each round, so every round is a fresh SUBSCRIBE.
      await to.subscribe('operation.cancel', { operation: `op-${i}` }, inbox.listener, life.signal);
      await from.publish('operation.cancel', { id: `op-${i}` });
      await inbox.until(1, `message ${i}`);
      expect(inbox.received).toEqual([{ id: `op-${i}` }]);
      life.abort();
    }
  });

  it('delivers records with their Dates intact', async () => {
    const a = await openBus();
    const b = await openBus();
    const inbox = new Inbox<unknown>();
    await b.subscribe('operation.changed', ALL, inbox.listener, new AbortController().signal);
    const record = fullRecord();
    await a.publish('operation.changed', record);
    await inbox.until(1, 'the record');
    expect(inbox.received).toEqual([record]);
    expect(inbox.received[0]).not.toBe(record);
  });

  it('shares one Redis channel among local listeners and UNSUBSCRIBEs when the last one leaves', async () => {
    const a = await openBus();
    const b = await openBus();
    const channel = `${prefix}operation.changed`;
    const first = new AbortController();
    const second = new AbortController();
    const one = new Inbox<unknown>();
    const two = new Inbox<unknown>();
    const marker = new Inbox<unknown>();
    await Promise.all([
      b.subscribe('operation.changed', ALL, one.listener, first.signal),
      b.subscribe('operation.changed', ALL, two.listener, second.signal),
      b.subscribe(
        'operation.cancel',
        { operation: 'marker' },
        marker.listener,
        new AbortController().signal,
      ),
    ]);
    expect(await liveChannels()).toEqual([`${prefix}operation.cancel:operation:marker`, channel]);
    expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 1]);

    first.abort();
    await a.publish('operation.changed', minimalRecord({ revision: 1 }));
    await two.until(1, 'the first record on the remaining listener');
    expect(one.received).toEqual([]);
    expect(await liveChannels()).toContain(channel);

    second.abort();
    await waitFor(async () => !(await liveChannels()).includes(channel), 'the UNSUBSCRIBE');
    await a.publish('operation.changed', minimalRecord({ revision: 2 }));
    // Same connection, so the marker arrives after anything published before it.
    await a.publish('operation.cancel', { id: 'marker' });
    await marker.until(1, 'the marker');
    expect(two.received).toHaveLength(1);
    expect(one.received).toEqual([]);
  });

  it("publishes a change on its operation's, its owner's and the global channel; each process receives only what it subscribed to, and counts it", async () => {
    const a = await openBus();
    const [one, owner, all, idle] = await Promise.all([openBus(), openBus(), openBus(), openBus()]);
    const watched = new Inbox<unknown>();
    const mine = new Inbox<unknown>();
    const everything = new Inbox<unknown>();
    const cancels = new Inbox<unknown>();
    const life = new AbortController();
    const x = minimalRecord({ id: 'x', ownerId: 'alice', revision: 1 });
    const y = minimalRecord({ id: 'y', ownerId: 'bob', revision: 1 });
    await Promise.all([
      one.subscribe('operation.changed', { operation: 'x' }, watched.listener, life.signal),
      one.subscribe('operation.cancel', { operation: 'x' }, cancels.listener, life.signal),
      owner.subscribe('operation.changed', { owner: 'bob' }, mine.listener, life.signal),
      all.subscribe('operation.changed', ALL, everything.listener, life.signal),
    ]);
    expect(await liveChannels()).toEqual(
      [
        `${prefix}operation.cancel:operation:x`,
        `${prefix}operation.changed`,
        `${prefix}operation.changed:operation:x`,
        `${prefix}operation.changed:owner:bob`,
      ].sort(),
    );
    // One publisher connection: each subscriber gets its share in publish order.
    await a.publish('operation.changed', y);
    await a.publish('operation.cancel', { id: 'y' });
    await a.publish('operation.pending', { id: 'y' });
    await a.publish('operation.changed', x);
    await a.publish('operation.cancel', { id: 'x' });
    await Promise.all([
      watched.until(1, 'x on its channel'),
      cancels.until(1, 'the cancel of x'),
      mine.until(1, "y on bob's channel"),
      everything.until(2, 'both on the global channel'),
    ]);
    expect(watched.received).toEqual([x]);
    expect(cancels.received).toEqual([{ id: 'x' }]);
    expect(mine.received).toEqual([y]);
    expect(everything.received).toEqual([y, x]);
    expect(one.counts()).toEqual({
      received: { 'operation.changed': 1, 'operation.cancel': 1, 'operation.pending': 0 },
      malformed: 0,
    });
    expect(owner.counts().received['operation.changed']).toBe(1);
    expect(all.counts().received['operation.changed']).toBe(2);
    expect(idle.counts()).toEqual({
      received: { 'operation.changed': 0, 'operation.cancel': 0, 'operation.pending': 0 },
      malformed: 0,
    });
    expect(a.counts().received['operation.changed']).toBe(0);
  });

  it('publishes to a topic nobody listens to', async () => {
    const a = await openBus();
    await expect(a.publish('operation.changed', minimalRecord())).resolves.toBeUndefined();
    await expect(a.publish('operation.cancel', { id: 'x' })).resolves.toBeUndefined();
  });

  it('drops malformed messages and survives a throwing listener', async () => {
    const a = await openBus();
    const b = await openBus();
    const inbox = new Inbox<unknown>();
    const life = new AbortController();
    await b.subscribe(
      'operation.changed',
      ALL,
      () => {
        throw new Error('listener bug');
      },
      life.signal,
    );
    await b.subscribe('operation.changed', ALL, inbox.listener, life.signal);
    const channel = `${prefix}operation.changed`;
    await admin.publish(channel, 'not json');
    await admin.publish(channel, '{"id":1}');
    await admin.publish(channel, JSON.stringify({ ...fullRecord(), status: 'EXPLODED' }));
    const record = fullRecord();
    await a.publish('operation.changed', record);
    await inbox.until(1, 'the well-formed record');
    expect(inbox.received).toEqual([record]);
    const dropped = logs.filter((line) => line.message === 'dropped a malformed bus message');
    expect(dropped).toHaveLength(3);
    expect(b.counts()).toEqual({
      received: { 'operation.changed': 4, 'operation.cancel': 0, 'operation.pending': 0 },
      malformed: 3,
    });
    expect(dropped.every((line) => line.level === 'warn' && line.fields?.channel === channel)).toBe(
      true,
    );
    const failed = logs.filter((line) => line.message === 'an event listener failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.level).toBe('error');
  });

  it('after CLIENT KILL TYPE pubsub: resubscribes, calls onResync with a time before the kill, delivers again', async () => {
    const openedAt = new Date();
    // b's commands reach Redis 2 ms late: announcing the resync before the SUBSCRIBE is confirmed
    // would lose the record published right after it.
    const slow = await openProxy();
    slow.delayMs = 2;
    const a = await openBus();
    const b = await openBus({}, slow.url);
    const inbox = new Inbox<unknown>();
    const resyncs = new Inbox<Date>();
    const gone = new Inbox<Date>();
    const life = new AbortController();
    const left = new AbortController();
    await b.subscribe('operation.changed', ALL, inbox.listener, life.signal);
    b.onResync(resyncs.listener, life.signal);
    b.onResync(gone.listener, left.signal);
    left.abort();

    const killedAt = new Date();
    // Only b's connections (ADDR), so other test files' subscribers on this server live on.
    let killed = 0;
    for (const addr of slow.upstreamAddresses()) {
      killed += Number(await admin.client('KILL', 'TYPE', 'pubsub', 'ADDR', addr));
    }
    expect(killed).toBe(1);
    await resyncs.until(1, 'onResync');
    const [brokenSince] = resyncs.received;
    expect(brokenSince).toBeInstanceOf(Date);
    expect(brokenSince?.getTime()).toBeLessThanOrEqual(killedAt.getTime());
    expect(brokenSince?.getTime()).toBeGreaterThanOrEqual(openedAt.getTime());
    expect(gone.received).toEqual([]);

    // onResync runs after Redis confirmed the new SUBSCRIBE: a publish now must arrive.
    const record = minimalRecord({ revision: 7 });
    await a.publish('operation.changed', record);
    await inbox.until(1, 'a record after the reconnection');
    expect(inbox.received).toEqual([record]);
    expect(await liveChannels()).toContain(`${prefix}operation.changed`);
  });

  it('fails fast, without hanging, while Redis is unreachable', async () => {
    const bus = await within(
      openBus({}, 'redis://127.0.0.1:1'),
      'createRedisBus to resolve for an unreachable Redis',
      5_000,
    );
    expect(await outcome(bus.ping(), 'ping to settle')).toBeInstanceOf(UnavailableError);
    expect(
      await outcome(bus.publish('operation.cancel', { id: 'x' }), 'publish to settle'),
    ).toBeInstanceOf(UnavailableError);
    const subscribed = bus.subscribe(
      'operation.cancel',
      { operation: 'x' },
      () => {},
      new AbortController().signal,
    );
    expect(await outcome(subscribed, 'subscribe to settle', 5_000)).toBeInstanceOf(
      UnavailableError,
    );
    expect(await outcome(bus.close(), 'close to settle')).toBe('resolved');
  });

  it('rejects at once while the connection is cut, then resyncs and delivers once it is back', async () => {
    const link = await openProxy();
    const a = await openBus();
    const b = await openBus({ commandTimeoutMs: 300, reconnectMaxDelayMs: 200 }, link.url);
    const inbox = new Inbox<unknown>();
    const resyncs = new Inbox<Date>();
    const life = new AbortController();
    await b.subscribe('operation.changed', ALL, inbox.listener, life.signal);
    b.onResync(resyncs.listener, life.signal);

    const cutAt = new Date();
    link.cut();
    // A command written as the connection breaks fails after commandTimeoutMs; later ones at once.
    expect(await outcome(b.ping(), 'ping to settle')).toBeInstanceOf(UnavailableError);
    expect(await outcome(b.publish('operation.cancel', { id: 'x' }), 'publish')).toBeInstanceOf(
      Error,
    );
    // Refused while away, but kept: it is subscribed with the others once Redis is back.
    const cancels = new Inbox<unknown>();
    const subscribed = b.subscribe(
      'operation.cancel',
      { operation: 'x' },
      cancels.listener,
      life.signal,
    );
    expect(await outcome(subscribed, 'subscribe to settle', 5_000)).toBeInstanceOf(
      UnavailableError,
    );
    await a.publish('operation.changed', minimalRecord({ revision: 1 })); // lost: b is away
    expect(resyncs.received).toEqual([]);

    link.delayMs = 2; // a resync announced before Redis confirmed the SUBSCRIBE would lose the next
    link.restore();
    await resyncs.until(1, 'onResync after the link is back');
    expect(resyncs.received[0]?.getTime()).toBeLessThanOrEqual(cutAt.getTime());
    const record = minimalRecord({ revision: 2 });
    await a.publish('operation.changed', record);
    await inbox.until(1, 'a record after the outage');
    expect(inbox.received).toEqual([record]);
    await a.publish('operation.cancel', { id: 'x' });
    await cancels.until(1, 'the cancel of the subscription made during the outage');
    expect(cancels.received).toEqual([{ id: 'x' }]);
    await waitFor(() => outcome(b.ping(), 'ping').then((r) => r === 'resolved'), 'ping to answer');
  });

  it('finds a subscriber connection that went silent and resyncs it (heartbeat)', async () => {
    const link = await openProxy();
    const a = await openBus();
    const b = await openBus({ heartbeatMs: 50, commandTimeoutMs: 200 }, link.url);
    const inbox = new Inbox<unknown>();
    const resyncs = new Inbox<Date>();
    const life = new AbortController();
    await b.subscribe('operation.changed', ALL, inbox.listener, life.signal);
    b.onResync(resyncs.listener, life.signal);

    const silentAt = new Date();
    link.blackHole();
    await a.publish('operation.changed', minimalRecord({ revision: 1 })); // lost in the hole
    await resyncs.until(1, 'onResync after the heartbeat gave up');
    expect(resyncs.received[0]?.getTime()).toBeLessThanOrEqual(silentAt.getTime());
    expect(logs.some((line) => line.message.includes('did not answer a ping'))).toBe(true);
    const record = minimalRecord({ revision: 2 });
    await a.publish('operation.changed', record);
    await inbox.until(1, 'a record after the reconnection');
    expect(inbox.received).toEqual([record]);
  });

  it('answers ping while Redis is up and refuses work once closed', async () => {
    const bus = await openBus();
    await expect(bus.ping()).resolves.toBeUndefined();
    await bus.close();
    await bus.close();
    await expect(bus.ping()).rejects.toThrow(/closed/);
    await expect(bus.publish('operation.cancel', { id: 'x' })).rejects.toThrow(/closed/);
    await expect(
      bus.subscribe('operation.cancel', { operation: 'x' }, () => {}, new AbortController().signal),
    ).rejects.toThrow(/closed/);
  });
});
