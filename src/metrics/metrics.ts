import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { processRegistry } from './process-metrics.js';

/** Where the gauges read their values at scrape time. */
export interface MetricSources {
  /** Open WebSocket connections. */
  sockets(): number;
  /** Live subscriptions over WebSocket and SSE together. */
  subscriptions(): number;
  /** Handlers this process is running. */
  runningHandlers(): number;
  /** Unfinished operations by status, from the store (see `OperationStore.countUnfinished`). */
  unfinished(): Promise<Readonly<Record<string, number>>>;
  /** Event bus messages this process received since it started, per topic (`EventBus.counts`). */
  busReceived(): Readonly<Record<string, number>>;
  /** Transition log entries the feed re-read to repair gaps (`FeedGauges.rereadEntries`). */
  logEntriesReread(): number;
}

/** Which per-user or per-socket cap refused a connection or a subscription. */
export type SubscriberLimit =
  | 'sockets_per_user'
  | 'subscriptions_per_user'
  | 'subscriptions_per_socket';

/** Which connection to the event bus came back. */
export type BusConnection = 'publisher' | 'subscriber';

/** Where an HTTP request went, as a bounded label. */
export type HttpRoute = 'graphql' | 'healthz' | 'readyz' | 'metrics' | 'dashboard' | 'other';

/** The answer of a request whose response never started (the client left first). */
export const NO_RESPONSE = 'none';

/** Bounds of the run duration histogram, in seconds: a tenth of a second to a day. */
const RUN_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3_600, 14_400, 86_400];

/** Bounds of the cancel-to-stop histogram, in seconds: a handler that honours its signal is fast. */
const CANCEL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The labels an error code may become: our own codes, never text a client chose. */
const CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/** An error's `extensions.code` as a label, or `ERROR` when it has none that fits. */
export function codeLabel(error: {
  readonly extensions?: Readonly<Record<string, unknown>>;
}): string {
  const code = error.extensions?.code;
  return typeof code === 'string' && CODE_PATTERN.test(code) ? code : 'ERROR';
}

/**
 * The metrics of one app, in a registry of its own (tests run several apps in one process).
 * Counters and histograms move on the paths they describe with labels from small fixed sets
 * (never an operation id or a user); gauges are read from `MetricSources` when scraped.
 */
export class AppMetrics {
  readonly registry = new Registry();
  #sources: MetricSources | null = null;
  readonly #httpRequests: Counter<'route' | 'status'>;
  readonly #graphqlOperations: Counter<'type' | 'outcome'>;
  readonly #sseStreams: Gauge;
  readonly #runDuration: Histogram<'kind' | 'outcome'>;
  readonly #cancelToStop: Histogram<'outcome'>;
  readonly #quotaRefusals: Counter<'reason'>;
  readonly #subscriberRefusals: Counter<'limit'>;
  readonly #busReconnects: Counter<'connection'>;

  /** `onCollectError` hears of a gauge that could not be read (the scrape goes on without it). */
  constructor(onCollectError: (error: unknown) => void) {
    const registers = [this.registry];
    this.#httpRequests = new Counter({
      name: 'longrun_http_requests_total',
      help: 'HTTP requests answered, by route and status code (none: the client left before an answer).',
      labelNames: ['route', 'status'],
      registers,
    });
    this.#graphqlOperations = new Counter({
      name: 'longrun_graphql_operations_total',
      help: 'GraphQL operations over HTTP, SSE and WebSocket, by type and outcome (ok, or the first error code).',
      labelNames: ['type', 'outcome'],
      registers,
    });
    const sources = () => this.#sources;
    new Gauge({
      name: 'longrun_websocket_connections',
      help: 'Open WebSocket connections.',
      registers,
      collect() {
        const from = sources();
        if (from) this.set(from.sockets());
      },
    });
    new Gauge({
      name: 'longrun_subscriptions',
      help: 'Live subscriptions, over WebSocket and SSE together.',
      registers,
      collect() {
        const from = sources();
        if (from) this.set(from.subscriptions());
      },
    });
    this.#sseStreams = new Gauge({
      name: 'longrun_sse_streams',
      help: 'Open server-sent event streams.',
      registers,
    });
    new Gauge({
      name: 'longrun_running_handlers',
      help: 'Handlers this process is running.',
      registers,
      collect() {
        const from = sources();
        if (from) this.set(from.runningHandlers());
      },
    });
    new Counter({
      name: 'longrun_bus_messages_received_total',
      help: 'Event bus messages this instance received, by topic: with Redis, only what its own subscribers watch, the cancels of what it runs and one per new operation.',
      labelNames: ['topic'],
      registers,
      collect() {
        const from = sources();
        if (!from) return;
        this.reset();
        for (const [topic, count] of Object.entries(from.busReceived())) this.inc({ topic }, count);
      },
    });
    new Counter({
      name: 'longrun_log_entries_reread_total',
      help: 'Transition log entries this instance re-read to repair gaps in its live streams: with Redis, only those of what its own streams watch, unless an admin feed is open.',
      registers,
      collect() {
        const from = sources();
        if (!from) return;
        this.reset();
        this.inc(from.logEntriesReread());
      },
    });
    new Gauge({
      name: 'longrun_operations',
      help: 'Unfinished operations in the store (all instances), by status.',
      labelNames: ['status'],
      registers,
      async collect() {
        const from = sources();
        if (!from) return;
        this.reset();
        try {
          for (const [status, count] of Object.entries(await from.unfinished())) {
            this.set({ status }, count);
          }
        } catch (error) {
          // A scrape while the database is away still reports everything else.
          onCollectError(error);
        }
      },
    });
    this.#runDuration = new Histogram({
      name: 'longrun_run_duration_seconds',
      help: 'From a handler starting to its operation ending, by kind and outcome (SUCCEEDED, or the error code).',
      labelNames: ['kind', 'outcome'],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.#cancelToStop = new Histogram({
      name: 'longrun_cancel_to_stop_seconds',
      help: 'From a cancel being requested on a running operation to its end, by outcome (CANCELLED, CANCEL_FORCED, or how it ended otherwise).',
      labelNames: ['outcome'],
      buckets: CANCEL_BUCKETS,
      registers,
    });
    this.#quotaRefusals = new Counter({
      name: 'longrun_quota_refusals_total',
      help: 'startOperation calls refused by a per-owner quota, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.#subscriberRefusals = new Counter({
      name: 'longrun_subscriber_limit_refusals_total',
      help: 'WebSocket connections and subscriptions refused by a cap, by which cap.',
      labelNames: ['limit'],
      registers,
    });
    this.#busReconnects = new Counter({
      name: 'longrun_bus_reconnects_total',
      help: 'Connections to Redis (the event bus) restored after a break, by connection.',
      labelNames: ['connection'],
      registers,
    });
  }

  /** Where the gauges read from; until then they report nothing. */
  observe(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** An HTTP request was answered with `status` (or `NO_RESPONSE`). */
  httpRequest(route: HttpRoute, status: number | typeof NO_RESPONSE): void {
    this.#httpRequests.inc({ route, status: String(status) });
  }

  /** A GraphQL operation of `type` ended its request with `outcome` (`ok` or an error code). */
  graphqlOperation(type: string, outcome: string): void {
    this.#graphqlOperations.inc({ type, outcome });
  }

  /** An SSE stream opened; the function returned closes it (once). */
  sseStreamOpened(): () => void {
    this.#sseStreams.inc();
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#sseStreams.dec();
    };
  }

  /** A handler's operation ended `seconds` after it started. */
  runEnded(kind: string, outcome: string, seconds: number): void {
    this.#runDuration.observe({ kind, outcome }, Math.max(0, seconds));
  }

  /** A running operation ended `seconds` after its cancel was requested. */
  cancelStopped(outcome: string, seconds: number): void {
    this.#cancelToStop.observe({ outcome }, Math.max(0, seconds));
  }

  /** `startOperation` was refused by a per-owner quota. */
  quotaRefused(reason: string): void {
    this.#quotaRefusals.inc({ reason });
  }

  /** A connection or subscription was refused by `limit`. */
  subscriberRefused(limit: SubscriberLimit): void {
    this.#subscriberRefusals.inc({ limit });
  }

  /** A connection to the event bus came back after a break. */
  busReconnected(connection: BusConnection): void {
    this.#busReconnects.inc({ connection });
  }

  /** The Prometheus text of this app's metrics and the process's. */
  async text(): Promise<string> {
    const [app, process] = await Promise.all([
      this.registry.metrics(),
      processRegistry().metrics(),
    ]);
    return `${app}\n${process}`;
  }

  /** The content type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The metrics of one app (see `AppMetrics`). */
export function createMetrics(onCollectError: (error: unknown) => void): AppMetrics {
  return new AppMetrics(onCollectError);
}
