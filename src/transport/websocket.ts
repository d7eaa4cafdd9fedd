import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Server } from 'node:http';
import {
  type ExecutionArgs,
  type ExecutionResult,
  type execute,
  GraphQLError,
  getOperationAST,
  OperationTypeNode,
  type subscribe,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import { quotaHolder, type Viewer } from '../auth/viewer.js';
import type { Logger } from '../logger.js';
import type { AppMetrics } from '../metrics/metrics.js';
import { type Pushing, pushFrom, type Sink } from '../operations/push.js';
import { ErrorCode } from '../schema/codes.js';
import type { RenewOutcome, SocketSession } from '../schema/context.js';
import { authorizationFrom, refusalFor } from './connection-params.js';
import { costRefusal } from './cost-limit.js';
import type { ErrorMasking } from './error-masking.js';
import { type Deadline, deadline, type Expiring } from './expiry.js';
import { outcomeOf, typeOf, UNKNOWN_TYPE } from './operation-metrics.js';
import { streamUnder } from './pushed-streams.js';
import type { SitePolicy } from './site-policy.js';
import { nextFrame, sendFrame, withoutHttpStatus } from './socket-frames.js';
import { type Slot, type SubscriberLimits, tooManySubscriptions } from './subscriber-limits.js';
import type { YogaApp } from './yoga.js';

/** Subscriptions one socket may hold at once; the next one gets an error for its id only. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 50;

/** Close codes this edge sends besides graphql-ws's own `CloseCode`s. */
export const SocketCloseCode = {
  /** RFC 6455 policy violation: the user already holds `MAX_SOCKETS_PER_USER` connections. */
  TooManyConnections: 1008,
} as const;

/** graphql-transport-ws message types only the server sends. */
const SERVER_MESSAGE_TYPES: ReadonlySet<string> = new Set(['connection_ack', 'next', 'error']);

/** Why a frame is refused before graphql-ws reads it; null leaves it to graphql-ws. */
function refusal(data: Buffer, isBinary: boolean): string | null {
  if (isBinary) return 'Binary frames are not accepted';
  let message: unknown;
  try {
    message = JSON.parse(data.toString('utf8'));
  } catch {
    return null; // graphql-ws closes with 4400 itself
  }
  const type =
    typeof message === 'object' && message !== null && 'type' in message ? message.type : null;
  return typeof type === 'string' && SERVER_MESSAGE_TYPES.has(type)
    ? `Unexpected message type ${type}`
    : null;
}

/** What a connection needs of its edge: to renew its token and to report masked errors. */
interface ConnectionDeps {
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  readonly masking: ErrorMasking;
  /** Names the edge in request ids (`requestId`). */
  readonly edgeId: string;
}

/**
 * What this edge keeps per authenticated socket, beside graphql-ws's own state: its viewer, the
 * signal that ends its streams, its slot under the user's cap and its token's deadline. It is
 * also the socket's session, which `renewSession` renews. One object with its methods on the
 * prototype, rather than closures per socket: thousands of idle sockets hold one each.
 */
class Connection implements SocketSession, Expiring {
  /** Ends every stream of the socket. */
  readonly streams = new AbortController();
  #viewer: Viewer;
  #deadline: Deadline | null = null;

  constructor(
    viewer: Viewer,
    readonly socket: WebSocket,
    /** This connection's place under the user's cap. */
    readonly slot: Slot,
    /** Whose caps the socket and its subscriptions count against (`quotaHolder`). */
    readonly holder: string,
    /** The Host header of the upgrade request, kept instead of the whole request. */
    readonly host: string | undefined,
    readonly deps: ConnectionDeps,
    /** Numbers the socket in request ids. */
    readonly serial: number,
  ) {
    this.#viewer = viewer;
    // Every subscription of the socket listens to it twice (its stream and its slot): up to the
    // per-socket limit, not a leak.
    setMaxListeners(2 * MAX_SUBSCRIPTIONS_PER_SOCKET + 10, this.streams.signal);
  }

  /** The request id of the socket's operation `id`: `<edge>.<socket number>:<id>`. */
  requestId(id: string): string {
    return `${this.deps.edgeId}.${this.serial}:${id}`;
  }

  /**
   * Writes `result` to subscription `id` as a `next` message, a frame shared with every
   * subscriber of the same result (`nextFrame`); its masked errors are reported first. The
   * promise, when there is one, says the socket has much waiting already (`sendFrame`).
   */
  writeNext(id: string, result: ExecutionResult): Promise<void> | undefined {
    if (result.errors !== undefined) this.deps.masking.report(result.errors, this.requestId(id));
    return sendFrame(this.socket, nextFrame(id, result));
  }

  /** The token's viewer now; a renewal replaces it. */
  get viewer(): Viewer {
    return this.#viewer;
  }

  /** Arms the close at the token's expiry; false when it has already passed. */
  start(): boolean {
    this.#expireAt(this.#viewer);
    return !this.streams.signal.aborted;
  }

  renew(token: string): RenewOutcome {
    const renewed = this.deps.authenticator.verify(token);
    if (!renewed.ok) {
      this.deps.logger.debug('WebSocket session renewal refused', { reason: renewed.reason });
      return { kind: 'invalid', reason: renewed.reason };
    }
    if (!samePrincipal(this.#viewer, renewed.viewer)) {
      this.close('The renewed token names another principal');
      return { kind: 'other-principal' };
    }
    // Streams already open keep running: they read the expiry through this session.
    this.#viewer = renewed.viewer;
    this.#expireAt(renewed.viewer);
    return { kind: 'renewed', viewer: renewed.viewer };
  }

  /** The token expired: every stream ends and the socket closes with 4403. */
  expire(): void {
    this.close('Token expired');
  }

  close(reason: string): void {
    this.streams.abort();
    this.socket.close(CloseCode.Forbidden, reason);
  }

  /** The socket closed: its deadline, streams and slot go. */
  end(): void {
    this.#deadline?.cancel();
    this.streams.abort();
    this.slot.release();
  }

  #expireAt(viewer: Viewer): void {
    this.#deadline?.cancel();
    this.#deadline = deadline(viewer.expiresAt, this);
  }
}

/** graphql-ws's per-socket `extra`, with the connection once authenticated. */
type SocketExtra = { connection?: Connection };

/** How long a socket may stay open without `connection_init` (then 4408). */
const CONNECTION_INIT_WAIT_MS = 3_000;

/**
 * Who a token speaks for, as far as a renewal may not change it: the user, the role (streams
 * already open decided visibility with it) and, for a watch token, its operation.
 */
function samePrincipal(a: Viewer, b: Viewer): boolean {
  return a.id === b.id && a.isAdmin === b.isAdmin && a.watchOnly === b.watchOnly;
}

/** The executors yoga enveloped for one subscribe message, carried to `execute`/`subscribe`. */
interface EnvelopedRoot {
  readonly execute: typeof execute;
  readonly subscribe: typeof subscribe;
  /** The subscription's place under the user's cap, given back when its stream ends. */
  readonly slot: Slot | null;
  /** The socket and subscription id its events are written to. */
  readonly connection: Connection;
  readonly id: string;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A subscription's stream as graphql-ws runs it: each result is written to the socket as it
 * comes (`Connection.writeNext`), and the stream itself yields nothing; it ends, fails or is
 * returned as its source does, and graphql-ws then sends `complete` or `error` after the last
 * frame, as it would have. Its slot under the user's cap is given back once it ends, however it
 * ends, even before its first `next`. One object per subscription, methods on the prototype.
 *
 * The results come pushed (`operations/push.ts`) from the stream under envelop's per-event layer
 * (`streamUnder`) when every layer of it can push: each one is written in the turn its change
 * arrives, with no promise per layer. A socket with much waiting pauses the push until its
 * frame is written, and the feed's queue holds (and coalesces) what comes meanwhile. A stream
 * that cannot push is read with `next`, as before.
 */
class SocketStream implements AsyncGenerator<never>, Sink<ExecutionResult> {
  readonly #iterator: AsyncIterator<ExecutionResult>;
  readonly #connection: Connection;
  readonly #id: string;
  readonly #slot: Slot | null;
  /** The stream under envelop's layer, until push mode is tried. */
  #under: AsyncIterable<ExecutionResult> | null;
  #pushing: Pushing | null = null;
  /** graphql-ws's pending `next` while pushing: settled when the stream ends or fails. */
  #settle: {
    resolve(done: IteratorReturnResult<undefined>): void;
    reject(error: unknown): void;
  } | null = null;

  constructor(
    source: AsyncIterable<ExecutionResult>,
    connection: Connection,
    id: string,
    slot: Slot | null,
    under: AsyncIterable<ExecutionResult> | null,
  ) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#connection = connection;
    this.#id = id;
    this.#slot = slot;
    this.#under = under;
  }

  next(): Promise<IteratorResult<never>> {
    const under = this.#under;
    if (under === null) return this.#pull();
    this.#under = null;
    return new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
      this.#pushing = pushFrom(under, this);
      if (this.#pushing !== null) return;
      this.#settle = null; // nothing was taken: read it instead
      this.#pull().then(resolve, reject);
    });
  }

  async #pull(): Promise<IteratorResult<never>> {
    try {
      for (;;) {
        const step = await this.#iterator.next();
        if (step.done) {
          this.#slot?.release();
          return DONE;
        }
        const pending = this.#connection.writeNext(this.#id, step.value);
        if (pending !== undefined) await pending;
      }
    } catch (error) {
      this.#slot?.release();
      throw error;
    }
  }

  onItem(result: ExecutionResult): boolean {
    if (this.#settle === null) return false;
    const pending = this.#connection.writeNext(this.#id, result);
    if (pending === undefined) return true;
    void pending.then(() => this.#pushing?.resume());
    return false;
  }

  onEnd(): void {
    this.#finish()?.resolve(DONE);
  }

  onError(error: unknown): void {
    this.#finish()?.reject(error);
  }

  /** The push is over: its slot is given back, and graphql-ws's pending `next` is handed out once. */
  #finish() {
    const settle = this.#settle;
    this.#settle = null;
    this.#slot?.release();
    return settle;
  }

  async return(): Promise<IteratorResult<never>> {
    this.#slot?.release();
    this.#under = null;
    await this.#iterator.return?.();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<never>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Runs a subscription; its stream writes to the socket and holds its slot while open. */
async function subscribeHolding(args: ExecutionArgs) {
  const root = args.rootValue as EnvelopedRoot;
  const { connection, id, slot, subscribe } = root;
  try {
    const result = await subscribe(args);
    if (Symbol.asyncIterator in result) {
      return new SocketStream(result, connection, id, slot, streamUnder(root));
    }
    slot?.release(); // refused before a stream began (NOT_FOUND, BAD_USER_INPUT)
    return result;
  } catch (error) {
    slot?.release();
    throw error;
  }
}

/**
 * Pings every open socket each `intervalMs` from one shared interval, and drops (without a close
 * frame) a socket whose pong to the previous round has not come: one timer for the server
 * rather than an interval and a timeout per socket.
 */
function keepAliveEvery(wss: WebSocketServer, intervalMs: number): { stop(): void } {
  if (!(intervalMs > 0 && Number.isFinite(intervalMs))) return { stop() {} };
  /** Sockets pinged by the last round whose pong has not come yet. */
  const awaiting = new Set<WebSocket>();
  // One listener function for every socket: `this` is the socket that answered or closed.
  function answered(this: WebSocket): void {
    awaiting.delete(this);
  }
  wss.on('connection', (socket: WebSocket) => {
    socket.on('pong', answered);
    socket.once('close', answered);
  });
  const timer = setInterval(() => {
    for (const socket of awaiting) socket.terminate();
    awaiting.clear();
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      awaiting.add(socket);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The GraphQL-over-WebSocket edge (graphql-transport-ws) on the HTTP server's `/graphql`. */
export interface WebSocketEdge {
  /** Closes every socket with 1001 and stops accepting new ones. */
  close(): Promise<void>;
  /** Open sockets. */
  connections(): number;
}

/**
 * Serves graphql-ws on `server`. The token travels in `connection_init` as
 * `{"authorization": "Bearer …"}` (key in any case, or inside `headers`); a missing or bad one
 * closes with 4403 and a reason that says what was wrong, and so does its expiry later.
 */
export function attachWebSocket(
  server: Server,
  deps: {
    readonly yoga: YogaApp;
    readonly authenticator: Authenticator;
    readonly logger: Logger;
    /** Per-user caps on connections and subscriptions, shared with the SSE edge. */
    readonly limits: SubscriberLimits;
    readonly maxMessageBytes: number;
    readonly production: boolean;
    /** Highest cost of one request (`MAX_QUERY_COST`). */
    readonly maxQueryCost: number;
    /** Host names served and origins admitted (DNS rebinding; other sites' pages). */
    readonly site: SitePolicy;
    /** Ping interval; a client that misses a pong is dropped. @default 12_000 */
    readonly keepAliveMs?: number;
    /** Counts what this edge refuses itself (parse and validation failures count in yoga). */
    readonly metrics: AppMetrics;
    /** Reports the errors yoga masked, with `<socket id>:<subscription id>` as their request id. */
    readonly masking: ErrorMasking;
  },
): WebSocketEdge {
  const { yoga, authenticator, logger, limits, metrics } = deps;
  // Request ids of socket operations are `<edge>.<socket number>:<subscription id>`: one random
  // string per edge rather than one per socket.
  const edgeId = randomUUID();
  let sockets = 0;
  const connectionDeps: ConnectionDeps = {
    authenticator,
    logger,
    masking: deps.masking,
    edgeId,
  };
  const wss = new WebSocketServer({
    server,
    path: '/graphql',
    maxPayload: deps.maxMessageBytes,
    verifyClient: ({ req }, done) => {
      const headers = { host: req.headers.host, origin: req.headers.origin };
      if (!deps.site.allowsHost(headers.host)) done(false, 421, 'Misdirected Request');
      else if (!deps.site.allowsSocketOrigin(headers)) done(false, 403, 'Forbidden');
      else done(true);
    },
  });
  wss.on('error', (error) => logger.error('WebSocket server error', { error }));
  // Registered before graphql-ws's listener, so it sees each frame first. graphql-ws reads a binary
  // frame as text (and runs it) and answers a server-only message type with 4500; such a frame is
  // closed with 4400 here and blanked, so graphql-ws refuses it too without acting on it.
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (!Buffer.isBuffer(data)) return;
      const reason = refusal(data, isBinary);
      if (reason === null) return;
      socket.close(CloseCode.BadRequest, reason);
      data.fill(0x20);
    });
  });

  // graphql-ws's own wait would keep its timer (and closure) with every socket for its whole
  // life; this one is dropped once `connection_init` comes.
  const awaitingInit = new Map<WebSocket, NodeJS.Timeout>();
  const initReceived = (socket: WebSocket) => {
    clearTimeout(awaitingInit.get(socket));
    awaitingInit.delete(socket);
  };
  const closeUninitialised = (socket: WebSocket) => {
    awaitingInit.delete(socket);
    socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
  };
  wss.on('connection', (socket) => {
    awaitingInit.set(socket, setTimeout(closeUninitialised, CONNECTION_INIT_WAIT_MS, socket));
  });

  const keepAlive = keepAliveEvery(wss, deps.keepAliveMs ?? 12_000);
  const disposable = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      isProd: deps.production,
      connectionInitWaitTimeout: 0,
      execute: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: subscribeHolding,
      onConnect: (ctx) => {
        initReceived(ctx.extra.socket);
        const found = authorizationFrom(ctx.connectionParams);
        const result = found.ok ? authenticator.verifyBearer(found.value) : found;
        if (!result.ok) {
          const refusal = 'refusal' in result ? result.refusal : refusalFor(result);
          logger.debug('WebSocket authentication failed', {
            reason: 'reason' in result ? result.reason : refusal,
          });
          // Closed here first so that the reason says what was wrong; the close with a bare
          // "Forbidden" that graphql-ws makes after `false` is then a no-op.
          ctx.extra.socket.close(CloseCode.Forbidden, refusal);
          return false;
        }
        // A renewal keeps the principal, so the socket's quota holder stays this one string.
        const holder = quotaHolder(result.viewer);
        const slot = limits.openSocket(holder);
        if (slot === null) {
          const { maxSocketsPerUser } = limits.caps;
          logger.debug('WebSocket refused: too many connections', { maxSocketsPerUser });
          // Sent before graphql-ws's own 4403 for `false`, so this code and reason are the ones seen.
          ctx.extra.socket.close(
            SocketCloseCode.TooManyConnections,
            `Too many connections: at most ${maxSocketsPerUser} per user`,
          );
          return false;
        }
        // The upgrade request (its headers, raw headers and stream state) would otherwise stay
        // with every socket for its whole life: only its Host header is read after this.
        const host = ctx.extra.request.headers.host || undefined;
        (ctx.extra as { request: unknown }).request = null;
        // Nor is the token sent in `connection_init` read again (a renewal sends its own).
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        const connection = new Connection(
          result.viewer,
          ctx.extra.socket,
          slot,
          holder,
          host,
          connectionDeps,
          ++sockets,
        );
        ctx.extra.connection = connection;
        return connection.start();
      },
      onSubscribe: async (ctx, id, payload) => {
        const { connection } = ctx.extra;
        if (!connection) return [new GraphQLError('Not authenticated.')];
        const { viewer, streams, host } = connection;
        // The expiry timer may fire late on a busy loop: nothing runs on an expired token.
        if (Date.now() >= viewer.expiresAt.getTime()) {
          metrics.graphqlOperation(UNKNOWN_TYPE, ErrorCode.Unauthenticated);
          return [
            new GraphQLError('The token has expired.', {
              extensions: { code: ErrorCode.Unauthenticated },
            }),
          ];
        }
        const enveloped = yoga.getEnveloped({
          params: payload,
          socketViewer: viewer,
          socketSignal: streams.signal,
          socketSession: connection,
          ...(host ? { socketHost: host } : {}),
        });
        let document: ReturnType<typeof enveloped.parse>;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          // Thrown here it would close the whole socket with 4500; returned, it answers this id.
          return [error instanceof GraphQLError ? error : new GraphQLError('Invalid document.')];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        const refused = costRefusal(
          {
            schema: enveloped.schema,
            document,
            variables: payload.variables,
            operationName: payload.operationName,
          },
          deps.maxQueryCost,
        );
        // Refusals of a parsed, valid document; yoga's plugins count everything else.
        const refuse = (error: GraphQLError) => {
          metrics.graphqlOperation(typeOf(document, payload.operationName), outcomeOf([error]));
          return [error];
        };
        if (refused) return refuse(refused);
        const operation = getOperationAST(document, payload.operationName)?.operation;
        let slot: Slot | null = null;
        if (operation === OperationTypeNode.SUBSCRIPTION) {
          // Subscriptions only: a query, or the renewSession that keeps a full socket alive,
          // always gets through.
          if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_SOCKET) {
            metrics.subscriberRefused('subscriptions_per_socket');
            return refuse(
              new GraphQLError(
                `At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions may be open on one socket.`,
              ),
            );
          }
          slot = limits.openSubscription(connection.holder, streams.signal);
          if (slot === null) {
            return refuse(tooManySubscriptions(limits.caps.maxSubscriptionsPerUser));
          }
        }
        const root: EnvelopedRoot = {
          execute: enveloped.execute,
          subscribe: enveloped.subscribe,
          slot,
          connection,
          id,
        };
        try {
          return {
            schema: enveloped.schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: await enveloped.contextFactory(),
            rootValue: root,
          };
        } catch (error) {
          slot?.release();
          throw error;
        }
      },
      // Results of queries and mutations; subscription events go out in `subscribeHolding`.
      onNext: (ctx, id, _payload, _args, result) => {
        if (result.errors === undefined) return;
        deps.masking.report(result.errors, ctx.extra.connection?.requestId(id) ?? null);
        if (!result.errors.some((error) => error.extensions?.http !== undefined)) return;
        return { ...result, errors: result.errors.map(withoutHttpStatus) };
      },
      onClose: (ctx) => {
        initReceived(ctx.extra.socket);
        ctx.extra.connection?.end();
      },
    },
    wss,
    // graphql-ws would arm an interval and a timeout per socket: `keepAliveEvery` runs one for all.
    0,
  );

  return {
    async close() {
      keepAlive.stop();
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    connections: () => wss.clients.size,
  };
}
