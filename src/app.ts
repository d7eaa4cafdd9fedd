import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuthenticator } from './auth/authenticator.js';
import { DEV_WATCH_SECRET_FILE, loadOrCreateDevSecret } from './auth/dev-key.js';
import { createVerifier, keysFromConfig, mintToken } from './auth/jwt.js';
import { userQuota } from './auth/viewer.js';
import { createWatchTokens, disabledWatchTokens, watchTokenKey } from './auth/watch-token.js';
import { createMemoryBus } from './bus/memory-bus.js';
import { createRedisBus } from './bus/redis-bus.js';
import type { Config } from './config.js';
import { demoSleep } from './handlers/demo-sleep.js';
import type { Handler } from './handlers/handler.js';
import { createRegistry, type HandlerRegistry } from './handlers/registry.js';
import type { Logger } from './logger.js';
import { type AppMetrics, createMetrics } from './metrics/metrics.js';
import { createCommitter } from './operations/commit.js';
import { createFeed } from './operations/feed.js';
import type { BusCounts, EventBus, OperationStore } from './operations/ports.js';
import { createOperationsService, type OperationsService } from './operations/service.js';
import { OperationStatus } from './operations/status.js';
import { createWatchLinks } from './operations/watch-links.js';
import { createRunner } from './runner/runner.js';
import { schema } from './schema/index.js';
import { connectStore, type StatementObserver } from './store/connect.js';
import { ErrorMasking } from './transport/error-masking.js';
import { createGraphiQLPage } from './transport/graphiql.js';
import { graphiqlExamples } from './transport/graphiql-examples.js';
import { createHttpServer } from './transport/http.js';
import { createMetricsEndpoint } from './transport/metrics-endpoint.js';
import { createSitePolicy } from './transport/site-policy.js';
import { SubscriberLimits, type SubscriberUsage } from './transport/subscriber-limits.js';
import { attachWebSocket } from './transport/websocket.js';
import { createYogaApp } from './transport/yoga.js';

/** How often streams re-read the transition log when the bus is shared (Redis). */
const FEED_RECHECK_MS = 2_000;

/** How long /readyz waits for the database and the bus. */
const READY_TIMEOUT_MS = 2_000;

/**
 * Unfinished operations of one status counted for `/metrics` at most: the scrape's cost stays
 * bounded however long the queue (a gauge at the cap means at least that many).
 */
const UNFINISHED_COUNT_CAP = 100_000;

/** How long the printed development token stays valid. */
const DEV_TOKEN_TTL_SEC = 7 * 24 * 60 * 60;

/**
 * This process's id as a worker, unique per process (leases are held under it): `INSTANCE_NAME`
 * and a short random suffix, or a random id alone.
 */
function workerIdFor(instanceName: string | null): string {
  return instanceName === null
    ? randomBytes(6).toString('hex')
    : `${instanceName}:${randomBytes(3).toString('hex')}`;
}

/** Extra collaborators of an app; all optional. */
export interface AppOptions {
  readonly logger: Logger;
  /** Handlers registered beside the built-in `demo.sleep`. */
  readonly handlers?: readonly Handler[];
  /** The built dashboard served at `/`. @default `dist/dashboard` in the package root */
  readonly dashboardDir?: string;
  /** Sees every SQL statement the store runs (diagnostics and tests). */
  readonly onStatement?: StatementObserver;
}

/**
 * `dist/dashboard` beside the package.json above this file: the same folder whether this runs from
 * `src/` under tsx, from `dist/` after a build, or from `node_modules/longrun/dist/`.
 */
function defaultDashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'dashboard');
    if (dirname(dir) === dir) return resolve(here, '..', 'dist', 'dashboard');
  }
}

/** A composed longrun service. */
export interface App {
  /** Where it listens, once started (`http://host:port/graphql`). */
  readonly url: string;
  /** The port it listens on, once started. */
  readonly port: number;
  /** Signed development token (no key configured outside production), else null. */
  readonly devToken: string | null;
  readonly registry: HandlerRegistry;
  readonly operations: OperationsService;
  readonly store: OperationStore;
  /** What `/metrics` reports. */
  readonly metrics: AppMetrics;
  /** Open live streams and sockets, for diagnostics and tests. */
  gauges(): { streams: number; sockets: number; runs: number };
  /**
   * What this instance's event bus has received: with Redis, only the changes its own subscribers
   * watch, the cancels of what it runs and the announcements of new work.
   */
  busCounts(): BusCounts;
  /**
   * What one user (or everyone, without `userId`) holds under the per-user caps on connections and
   * subscriptions (`MAX_SOCKETS_PER_USER`, `MAX_SUBSCRIPTIONS_PER_USER`).
   */
  usage(userId?: string): SubscriberUsage;
  /** Whether the store (and bus) answer and the app is not stopping. */
  ready(): Promise<boolean>;
  /** Listens, then recovers and starts the runner; resolves once both are done. */
  start(): Promise<void>;
  /** Graceful shutdown (SEMANTICS.md, "Durability and workers"); safe to call twice. */
  stop(): Promise<void>;
}

/** The composition root: the only place that picks concrete implementations. */
export async function createApp(config: Config, options: AppOptions): Promise<App> {
  const { logger } = options;
  const metrics = createMetrics((error) =>
    logger.warn('reading operation counts for /metrics failed', { error }),
  );
  // The transition log names the worker (`worker:<id>`), and Redis its connections, with an
  // opaque id, never the host name.
  const workerId = workerIdFor(config.instanceName);
  const store = await connectStore(config.database, logger, {
    onStatement: options.onStatement,
    progressLogIntervalMs: config.progressLogIntervalMs,
  });
  const bus: EventBus =
    config.redisUrl === null
      ? createMemoryBus((error) => logger.error('an event listener failed', { error }))
      : await createRedisBus(config.redisUrl, logger, {
          channelPrefix: config.redisPrefix,
          clientName: `longrun:${workerId}`,
          onReconnect: (connection) => metrics.busReconnected(connection),
        });

  const devSecret =
    config.jwt.secret === null && config.jwt.publicKey === null && !config.production
      ? loadOrCreateDevSecret(config.dataDir)
      : null;
  const keys = keysFromConfig(config.jwt, devSecret);
  const verifier = createVerifier(keys, config.jwt);
  // Watch tokens have a key of their own: in production a setting every instance shares, in
  // development one generated beside the development secret.
  const watchTokens =
    config.production && config.watchTokenSecret === null
      ? disabledWatchTokens()
      : createWatchTokens(
          watchTokenKey(
            config.watchTokenSecret ?? loadOrCreateDevSecret(config.dataDir, DEV_WATCH_SECRET_FILE),
          ),
          config.jwt,
        );
  if (config.production && config.watchTokenSecret === null) {
    logger.warn('watch links are disabled: set WATCH_TOKEN_SECRET to enable them');
  }
  const authenticator = createAuthenticator(verifier, watchTokens);
  const devToken =
    devSecret === null
      ? null
      : mintToken(
          {
            sub: 'developer',
            admin: true,
            ttlSec: DEV_TOKEN_TTL_SEC,
            issuer: config.jwt.issuer,
            audience: config.jwt.audience,
          },
          keys.key,
          'HS256',
        );

  const registry = createRegistry([demoSleep as Handler]);
  for (const handler of options.handlers ?? []) registry.register(handler);
  const commit = createCommitter(store, bus, logger, {
    // Times come from the stored states: a cancel requested on another instance counts from
    // when it was made there.
    ended(previous, next) {
      const finishedAt = next.finishedAt?.getTime() ?? Date.now();
      const outcome = next.error?.code ?? next.status;
      if (next.startedAt !== null) {
        metrics.runEnded(next.kind, outcome, (finishedAt - next.startedAt.getTime()) / 1000);
      }
      if (previous.status === OperationStatus.Cancelling && next.cancelRequestedAt !== null) {
        metrics.cancelStopped(outcome, (finishedAt - next.cancelRequestedAt.getTime()) / 1000);
      }
    },
  });
  // With a shared bus a live message can be lost: streams re-read the log now and then.
  const feed = createFeed(store, bus, logger, {
    recheckMs: config.redisUrl === null ? null : FEED_RECHECK_MS,
  });
  const operations = createOperationsService({
    store,
    commit,
    registry,
    feed,
    quotas: config.quotas,
    onRefused: (error) => metrics.quotaRefused(error.limit),
  });
  const watchLinks = createWatchLinks({ operations, tokens: watchTokens });
  const runner = createRunner({
    store,
    bus,
    commit,
    registry,
    logger,
    options: { ...config, workerId },
  });

  const shutdown = new AbortController();
  // Every open HTTP stream listens for shutdown: as many listeners as streams, not a leak.
  setMaxListeners(0, shutdown.signal);
  let stopping: Promise<void> | null = null;
  const ready = async () => {
    if (shutdown.signal.aborted) return false;
    try {
      let timer: NodeJS.Timeout | undefined;
      // A backing service that stops answering must not make the probe hang.
      await Promise.race([
        Promise.all([store.ping(), bus.ping()]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 2 s')), READY_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
      return true;
    } catch (error) {
      logger.warn('readiness check failed', { error });
      return false;
    }
  };

  const limits = new SubscriberLimits(
    {
      maxSocketsPerUser: config.maxSocketsPerUser,
      maxSubscriptionsPerUser: config.maxSubscriptionsPerUser,
    },
    (cap) => metrics.subscriberRefused(cap),
  );

  let address: AddressInfo | null = null;
  const url = () => {
    if (!address) throw new Error('The app has not started.');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}/graphql`;
  };

  const site = createSitePolicy({
    production: config.production,
    allowedHosts: config.allowedHosts,
    corsOrigins: config.corsOrigins,
    port: () => address?.port ?? null,
  });
  const masking = new ErrorMasking(logger);
  const yoga = createYogaApp({
    schema,
    authenticator,
    operations,
    watchLinks,
    publicUrl: config.publicUrl,
    listenUrl: url,
    logger,
    limits,
    production: config.production,
    shutdownSignal: shutdown.signal,
    maxQueryCost: config.maxQueryCost,
    graphiql: createGraphiQLPage({
      enabled: config.graphiql,
      examples: graphiqlExamples(operations.kinds()),
      devToken,
      site,
    }),
    corsOrigins: config.corsOrigins,
    introspection: config.introspection,
    metrics,
    masking,
  });
  const server: Server = createHttpServer({
    yoga,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    stallTimeoutMs: config.sseStallTimeoutMs,
    ready,
    busCounts: () => bus.counts(),
    logRereads: () => {
      const { rereads, rereadEntries } = feed.gauges();
      return { reads: rereads, entries: rereadEntries };
    },
    dashboard: {
      dir: options.dashboardDir ?? defaultDashboardDir(),
      devToken,
      sourceMaps: !config.production,
    },
    site,
    timeouts: config.http,
    authenticates: (req) => authenticator.verifyBearer(req.headers.authorization ?? null).ok,
    metrics,
    metricsEndpoint: createMetricsEndpoint(metrics, {
      token: config.metricsToken,
      production: config.production,
    }),
  });
  const sockets = attachWebSocket(server, {
    yoga,
    authenticator,
    logger,
    limits,
    maxMessageBytes: config.maxWsMessageBytes,
    keepAliveMs: config.wsKeepAliveMs,
    production: config.production,
    maxQueryCost: config.maxQueryCost,
    site,
    metrics,
    masking,
  });
  metrics.observe({
    sockets: () => sockets.connections(),
    subscriptions: () => limits.usage().subscriptions,
    runningHandlers: () => runner.active(),
    unfinished: () => store.countUnfinished(UNFINISHED_COUNT_CAP),
    busReceived: () => bus.counts().received,
    logEntriesReread: () => feed.gauges().rereadEntries,
  });
  return {
    get url() {
      return url();
    },
    get port() {
      if (!address) throw new Error('The app has not started.');
      return address.port;
    },
    devToken,
    registry,
    operations,
    store,
    metrics,
    gauges: () => ({
      streams: feed.gauges().open,
      sockets: sockets.connections(),
      runs: runner.active(),
    }),
    usage: (userId) => limits.usage(userId === undefined ? undefined : userQuota(userId)),
    busCounts: () => bus.counts(),
    ready,

    async start() {
      await feed.start();
      // Bind before the runner: a process that cannot serve (port in use) must not claim PENDING operations
      // and die holding their leases, which would leave them to be taken back as INTERRUPTED.
      server.listen(config.port, config.host);
      await new Promise<void>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      address = server.address() as AddressInfo;
      await runner.start();
      logger.info('longrun is listening', { url: url(), worker: workerId });
    },

    stop() {
      stopping ??= (async () => {
        logger.info('shutting down');
        shutdown.abort();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await sockets.close();
        await runner.stop();
        server.closeAllConnections();
        await closed;
        feed.stop();
        await bus.close();
        await store.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
