import { type ExecutionResult, type GraphQLSchema, Kind } from 'graphql';
import { createYoga, isAsyncIterable, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Authenticator } from '../auth/authenticator.js';
import { quotaHolder, type Viewer } from '../auth/viewer.js';
import type { Logger } from '../logger.js';
import type { AppMetrics } from '../metrics/metrics.js';
import { PUSH, type Pushable, type Pushing, pushFrom, type Sink } from '../operations/push.js';
import type { HistoryReader, OperationsService } from '../operations/service.js';
import type { WatchLinks } from '../operations/watch-links.js';
import { badUserInput, ErrorCode, unauthenticated } from '../schema/codes.js';
import type { Context, SocketSession } from '../schema/context.js';
import { useBearerAuth } from './bearer-auth.js';
import { useCostLimit } from './cost-limit.js';
import type { ErrorMasking } from './error-masking.js';
import { type EventStreamState, StreamEnd, useEventStreams } from './event-stream.js';
import { at } from './expiry.js';
import type { GraphiQLPage } from './graphiql.js';
import { documentLimitPlugins } from './limits.js';
import { useOperationMetrics } from './operation-metrics.js';
import { publicBase } from './public-base.js';
import { useExposedStreams } from './pushed-streams.js';
import { useQueryParamCheck } from './query-params.js';
import { useSchemaPrivacy } from './schema-privacy.js';
import { useSharedSubscriptionExecution } from './shared-execution.js';
import { holdWhileOpen, type SubscriberLimits, tooManySubscriptions } from './subscriber-limits.js';
import { useReadOnlyWatchTokens } from './watch-scope.js';

/** What the HTTP and WebSocket edges hand to yoga with each request. */
export interface ServerContext {
  /** Set by the WebSocket edge, which authenticated the socket at `connection_init`. */
  readonly socketViewer?: Viewer;
  /** The socket's session, which `renewSession` renews. */
  readonly socketSession?: SocketSession;
  /** The Host header of the socket's upgrade request. */
  readonly socketHost?: string;
  /** Ends the socket's streams (socket closed, token expired, server stopping). */
  readonly socketSignal?: AbortSignal;
  /** The HTTP request's id (`x-request-id`), named with the errors it failed with. */
  readonly requestId?: string;
}

/** The yoga instance of the API. */
export type YogaApp = YogaServerInstance<ServerContext, Context>;

/** Collaborators and settings of the yoga instance. */
export interface YogaOptions {
  readonly schema: GraphQLSchema;
  readonly authenticator: Authenticator;
  readonly operations: OperationsService;
  readonly watchLinks: WatchLinks;
  /** `PUBLIC_URL`, or null to take each request's Host header. */
  readonly publicUrl: string | null;
  /** The address the server listens on, for a request without a usable Host header. */
  readonly listenUrl: () => string;
  readonly logger: Logger;
  /** Per-user caps on subscriptions, shared with the WebSocket edge. */
  readonly limits: SubscriberLimits;
  readonly production: boolean;
  /** Aborts when the server stops: every live stream ends. */
  readonly shutdownSignal: AbortSignal;
  /** Highest cost of one request (`MAX_QUERY_COST`). */
  readonly maxQueryCost: number;
  /** GraphiQL for browsers at the GraphQL endpoint. */
  readonly graphiql: GraphiQLPage;
  /** `INTROSPECTION`: off refuses `__schema`/`__type` and hides "did you mean" hints. */
  readonly introspection: boolean;
  /** `CORS_ORIGINS`: the only origins whose pages may read responses; empty means same-origin only. */
  readonly corsOrigins: readonly string[];
  /** Counts operations by outcome. */
  readonly metrics: AppMetrics;
  /** Masks unexpected errors and logs them with their request's id. */
  readonly masking: ErrorMasking;
}

/** Reports the masked errors of HTTP and SSE results with the request's id. */
function useErrorReports(masking: ErrorMasking): Plugin<Record<string, unknown>, ServerContext> {
  return {
    onResultProcess({ result, serverContext }) {
      if (isAsyncIterable(result)) return; // each event is reported by the SSE edge
      const requestId = serverContext.requestId ?? null;
      for (const one of Array.isArray(result) ? result : [result]) {
        masking.report(one.errors, requestId);
      }
    },
  };
}

/**
 * Aborts at the first of: the request ends (the HTTP edge aborts it when the response closes),
 * the server stops, or the viewer's token expires, with the `StreamEnd` that says which. No event
 * is sent after `exp`.
 */
function streamSignal(viewer: Viewer, request: AbortSignal, shutdown: AbortSignal): AbortSignal {
  const ended = new AbortController();
  const sources = new Map<AbortSignal, StreamEnd>([
    [request, StreamEnd.ClientGone],
    [shutdown, StreamEnd.ShuttingDown],
  ]);
  const listeners = new Map<AbortSignal, () => void>();
  let cancelTimer = () => {};
  ended.signal.addEventListener(
    'abort',
    () => {
      cancelTimer();
      for (const [source, stop] of listeners) source.removeEventListener('abort', stop);
    },
    { once: true },
  );
  for (const [source, reason] of sources) {
    const stop = () => ended.abort(reason);
    if (source.aborted) stop();
    else {
      source.addEventListener('abort', stop, { once: true });
      listeners.set(source, stop);
    }
  }
  if (!ended.signal.aborted) {
    cancelTimer = at(viewer.expiresAt, () => ended.abort(StreamEnd.TokenExpired));
  }
  return ended.signal;
}

/**
 * One HTTP request's stream state. Its signal (`streamSignal`) is made when first read: only
 * subscriptions and waits read it, and it costs a controller, two listeners and a timer.
 */
class HttpStream implements EventStreamState {
  revision: number | null = null;
  finished = false;
  readonly #viewer: Viewer;
  readonly #request: AbortSignal;
  readonly #shutdown: AbortSignal;
  #signal: AbortSignal | undefined;

  constructor(
    viewer: Viewer,
    request: AbortSignal,
    shutdown: AbortSignal,
    readonly requestId: string | null,
  ) {
    this.#viewer = viewer;
    this.#request = request;
    this.#shutdown = shutdown;
  }

  get expiresAt(): Date {
    return this.#viewer.expiresAt;
  }

  get signal(): AbortSignal {
    this.#signal ??= streamSignal(this.#viewer, this.#request, this.#shutdown);
    return this.#signal;
  }
}

/**
 * Yields what `source` yields until the viewer's token expires (read per event from the socket's
 * session, which a renewal moves); an event arriving later ends it instead. A class with its
 * methods on the prototype: an idle subscription holds one small object, not closures. It pushes
 * when its source does (it is then its sink).
 */
class UntilExpiry<T> implements AsyncIterableIterator<T>, Pushable<T>, Sink<T> {
  readonly #iterator: AsyncIterator<T>;
  readonly #viewer: Viewer;
  readonly #session: SocketSession | null;
  #sink: Sink<T> | null = null;

  constructor(source: AsyncIterable<T>, viewer: Viewer, session: SocketSession | null) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#viewer = viewer;
    this.#session = session;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#iterator.next().then((item) => (item.done || this.#open() ? item : this.return()));
  }

  async return(): Promise<IteratorResult<T>> {
    await this.#iterator.return?.();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [PUSH](sink: Sink<T>): Pushing | null {
    this.#sink = sink;
    return pushFrom(this.#iterator, this);
  }

  onItem(item: T): boolean {
    if (this.#open()) return this.#sink?.onItem(item) ?? false;
    // Ending the source ends the push with it (`onEnd`); the event is not sent.
    void this.return();
    return false;
  }

  onEnd(): void {
    this.#sink?.onEnd();
  }

  onError(error: unknown): void {
    this.#sink?.onError(error);
  }

  #open(): boolean {
    return Date.now() < (this.#session?.viewer ?? this.#viewer).expiresAt.getTime();
  }
}

/**
 * Checks `exp` as each subscription event leaves, on SSE and WebSocket alike: the expiry timers
 * (`streamSignal`, the WebSocket edge) fire late when the event loop is busy, and an event
 * committed in between must not be sent (SEMANTICS.md, "Authentication").
 */
function useExpiryCutoff(): Plugin<ServerContext> {
  return {
    onSubscribe: () => cutoffAtExpiry,
  };
}

/**
 * `useExpiryCutoff`'s hooks, one object for every subscription: envelop keeps the hooks of a
 * subscription for its whole life.
 */
const cutoffAtExpiry: OnSubscribeHooks = {
  onSubscribeResult({ args, result, setResult }) {
    const { viewer, session } = args.contextValue as Partial<Context>;
    if (viewer && isAsyncIterable(result)) {
      setResult(new UntilExpiry(result, viewer, session ?? null));
    }
  },
};

/**
 * `streamSignal` of a socket's context, called as its method: the socket's signal, which yoga
 * copied into the context from the edge's (`ServerContext.socketSignal`). One function for every
 * subscription rather than a closure each.
 */
function socketStreamSignal(this: ServerContext): AbortSignal {
  if (this.socketSignal === undefined) throw new Error('Not a socket context.');
  return this.socketSignal;
}

/** What a plugin's `onSubscribe` may return: hooks on the result and on a failure. */
type OnSubscribeHooks = Exclude<
  ReturnType<NonNullable<Plugin<ServerContext>['onSubscribe']>>,
  void | Promise<void>
>;

/** Too many requests: an SSE subscription over the user's cap. */
const TOO_MANY_REQUESTS = 429;

/**
 * Holds each SSE subscription's place under the user's cap while its stream is open; over the cap
 * it is refused before it runs (HTTP 429, `TOO_MANY_SUBSCRIPTIONS`). WebSocket subscriptions are
 * counted at their edge, which answers a refusal with an `error` message for that id.
 */
function useSubscriptionCap(limits: SubscriberLimits): Plugin<ServerContext> {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Partial<Context> & ServerContext;
      if (context.socketViewer || !context.viewer || !context.streamSignal) return;
      const slot = limits.openSubscription(quotaHolder(context.viewer), context.streamSignal());
      if (slot === null) {
        const max = limits.caps.maxSubscriptionsPerUser;
        setResultAndStopExecution({ errors: [tooManySubscriptions(max, TOO_MANY_REQUESTS)] });
        return;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(holdWhileOpen(result, slot));
          else slot.release(); // refused before a stream began (NOT_FOUND, BAD_USER_INPUT)
        },
        onSubscribeError: () => slot.release(),
      };
    },
  };
}

/**
 * Variable coercion errors ("wrong type", "not provided") are the client's input: graphql-js points
 * them at the variable's definition, and they get `BAD_USER_INPUT` like every other refused
 * argument. Coming from the executor tagged HTTP 400 but not as a spec status, yoga would send
 * 400 to `application/json` clients too; the GraphQL over HTTP spec wants 200 there (and 400 only
 * for `application/graphql-response+json`).
 */
function tagVariableErrors(result: ExecutionResult): void {
  if (result.data !== undefined) return;
  for (const error of result.errors ?? []) {
    const extensions = error.extensions as Record<string, unknown>;
    if (error.nodes?.some((node) => node.kind === Kind.VARIABLE_DEFINITION)) {
      extensions.code ??= ErrorCode.BadUserInput;
    }
    const http = extensions.http as { status?: number; spec?: boolean } | undefined;
    if (http?.status === 400 && http.spec === undefined) http.spec = true;
  }
}

/** Applies `tagVariableErrors` to queries and mutations, and to subscriptions refused at once. */
function useVariableErrors(): Plugin<ServerContext> {
  return {
    onExecute: () => ({
      onExecuteDone({ result }) {
        if (!isAsyncIterable(result)) tagVariableErrors(result);
      },
    }),
    onSubscribe: () => variableErrorsOfSubscription,
  };
}

/** `useVariableErrors`' hooks, one object for every subscription (see `cutoffAtExpiry`). */
const variableErrorsOfSubscription: OnSubscribeHooks = {
  onSubscribeResult({ result }) {
    if (!isAsyncIterable(result)) tagVariableErrors(result);
  },
};

/**
 * The `Last-Event-ID` a reconnecting EventSource sends back: the revision it saw last. Anything
 * else in it is refused rather than ignored, so a resume never silently starts over.
 */
function lastEventIdOf(request: Request): number | null {
  const value = request.headers.get('last-event-id');
  if (value === null || value === '') return null;
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw badUserInput('Last-Event-ID must be a revision (a whole number).', 'Last-Event-ID');
  }
  return Number(value.trim());
}

/** Host headers whose base URL is kept (`createYogaApp`). */
const MAX_BASES = 16;

/** The yoga instance: auth, context, masking, limits, SSE and GraphiQL. */
export function createYogaApp(options: YogaOptions): YogaApp {
  const { authenticator, operations, watchLinks, logger, shutdownSignal, limits } = options;
  const viewers = new WeakMap<Request, Viewer>();
  const eventStreams = new WeakMap<Request, EventStreamState>();
  const { masking } = options;
  // One reader of transition logs per socket rather than per operation on it: it only batches
  // the pages asked for in one tick, and an idle subscription would hold its own for its life.
  const histories = new WeakMap<SocketSession, HistoryReader>();
  const historyOf = (session: SocketSession): HistoryReader => {
    let reader = histories.get(session);
    if (reader === undefined) {
      reader = operations.historyReader();
      histories.set(session, reader);
    }
    return reader;
  };
  // One base URL per Host header rather than one per request and subscription (read only by
  // `createWatchLink`); a few distinct hosts are kept, any others are made afresh each time.
  const bases = new Map<string, URL>();
  const base = (host: string | null | undefined): URL => {
    const key = host ?? '';
    let url = bases.get(key);
    if (url === undefined) {
      url = publicBase(options.publicUrl, host, options.listenUrl);
      if (bases.size < MAX_BASES) bases.set(key, url);
    }
    return url;
  };

  return createYoga<ServerContext, Context>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    healthCheckEndpoint: '/graphql/health',
    multipart: false,
    batching: false,
    // The HTTP edge reads every body itself, refusing one past MAX_BODY_BYTES before parsing it;
    // yoga's own limit would pipe each body through a transform stream once more.
    maxRequestBodySize: false,
    maskedErrors: { maskError: masking.mask },
    logging: {
      debug: (...args) => logger.debug(String(args[0]), { details: args.slice(1) }),
      info: (...args) => logger.info(String(args[0]), { details: args.slice(1) }),
      warn: (...args) => logger.warn(String(args[0]), { details: args.slice(1) }),
      error: (...args) => logger.error(String(args[0]), { details: args.slice(1) }),
    },
    renderGraphiQL: options.graphiql.render,
    graphiql: (request) => options.graphiql.options(request),
    // yoga's default reflects any Origin with credentials allowed; here only listed origins get
    // CORS headers (bearer tokens, never cookies, so no credentials), and unset means none.
    cors:
      options.corsOrigins.length === 0
        ? false
        : {
            origin: [...options.corsOrigins],
            credentials: false,
            methods: ['GET', 'POST'],
            exposedHeaders: ['x-request-id', 'www-authenticate'],
            maxAge: 600,
          },
    plugins: [
      // First, so that it sees the refusals of the plugins below.
      useOperationMetrics(options.metrics),
      options.graphiql.plugin,
      useBearerAuth(
        authenticator,
        viewers,
        (reason) => logger.debug('HTTP authentication failed', { reason }),
        options.graphiql.enabled,
      ),
      useReadOnlyWatchTokens(),
      useQueryParamCheck(),
      useExpiryCutoff(),
      useSubscriptionCap(limits),
      useVariableErrors(),
      useErrorReports(masking),
      useEventStreams({ states: eventStreams, masking }),
      ...documentLimitPlugins(),
      // "Did you mean …?" and introspection help a developer and map the schema for an attacker.
      ...(options.introspection ? [] : [useSchemaPrivacy()]),
      useCostLimit(options.maxQueryCost),
      useSharedSubscriptionExecution(masking.mask),
      // Last: it exposes each stream with every layer the plugins above added.
      useExposedStreams(),
    ],
    context: (initial) => {
      const socketSignal = initial.socketSignal;
      if (initial.socketViewer && socketSignal) {
        const session = initial.socketSession ?? null;
        return {
          viewer: initial.socketViewer,
          operations,
          history: session === null ? operations.historyReader() : historyOf(session),
          watchLinks,
          publicBase: base(initial.socketHost),
          session,
          streamSignal: socketStreamSignal,
        };
      }
      const viewer = viewers.get(initial.request);
      if (!viewer) throw unauthenticated();
      const stream = new HttpStream(
        viewer,
        initial.request.signal,
        shutdownSignal,
        initial.requestId ?? null,
      );
      eventStreams.set(initial.request, stream);
      return {
        viewer,
        operations,
        history: operations.historyReader(),
        watchLinks,
        publicBase: base(initial.request.headers.get('host')),
        session: null,
        streamSignal: () => stream.signal,
        eventIds: {
          lastEventId: lastEventIdOf(initial.request),
          sending(revision, last) {
            stream.revision = revision;
            stream.finished = last;
          },
        },
      };
    },
  });
}
