import { createClient, type Client as WsClient } from 'graphql-ws/client';
import { Channel } from './channel.js';
import {
  CancelOperationDocument,
  CreateWatchTokenDocument,
  GetOperationDocument,
  ListOperationsDocument,
  OperationEventsDocument,
  OperationKindsDocument,
  RenewSessionDocument,
  RetryOperationDocument,
  StartOperationDocument,
  ViewerDocument,
  WaitOperationDocument,
  WatchOperationDocument,
  WatchOperationsDocument,
} from './documents.js';
import {
  ClientErrorCode,
  fromGraphQLErrors,
  type GraphQLErrorEntry,
  OperationsClientError,
} from './errors.js';
import type {
  CancelOperationMutation,
  CreateWatchTokenMutation,
  OperationEventsQuery,
  OperationFieldsFragment,
  OperationKindsQuery,
  OperationStatus,
  RetryOperationMutation,
  StartOperationMutation,
  TypedDocumentString,
  ViewerQuery,
} from './generated/graphql.js';
import { SessionRenewal } from './session-renewal.js';

/** An operation as the client reads it (every field of the schema's `Operation`). */
export type Operation = OperationFieldsFragment;
/** `startOperation`'s result union; switch on `__typename`. */
export type StartResult = StartOperationMutation['startOperation'];
/** `cancelOperation`'s result union; switch on `__typename`. */
export type CancelResult = CancelOperationMutation['cancelOperation'];
/** `retryOperation`'s result union; switch on `__typename`. */
export type RetryResult = RetryOperationMutation['retryOperation'];
/** `createWatchToken`'s result union; switch on `__typename`. */
export type WatchTokenResult = CreateWatchTokenMutation['createWatchToken'];
export type Viewer = ViewerQuery['viewer'];
/** A kind the server runs, with the JSON Schema (draft 2020-12) of its input and an example. */
export type OperationKind = OperationKindsQuery['operationKinds'][number];
type EventsConnection = NonNullable<OperationEventsQuery['operation']>['events'];
/** One entry of an operation's transition log. */
export type OperationEvent = EventsConnection['edges'][number]['node'];

/** The live link's state, for a connection indicator. */
export type ConnectionState =
  /** No subscription is open, so no socket either. */
  | 'idle'
  /** Opening the first socket. */
  | 'connecting'
  /** The socket is open and authenticated. */
  | 'connected'
  /** The socket broke while subscriptions were open; they resume once it is back. */
  | 'reconnecting'
  /** `close()` was called. */
  | 'closed';

/** Narrows `list`, `listPage` and `watchAll`. */
export interface OperationFilter {
  /** Only these statuses (any of them). */
  readonly status?: readonly OperationStatus[];
  readonly kind?: string;
  /** Admins only: one owner's operations. */
  readonly ownerId?: string;
}

/** One page of `operations`, newest first. */
export interface OperationPage {
  readonly operations: Operation[];
  readonly totalCount: number;
  readonly hasNextPage: boolean;
  /** Pass as `after` for the next page. */
  readonly endCursor: string | null;
}

export interface OperationsClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  readonly url: string;
  /** The WebSocket endpoint. @default `url` with `http` replaced by `ws` */
  readonly wsUrl?: string;
  /** A bearer token used for every request and connection. */
  readonly token?: string;
  /**
   * Called for every HTTP request and every (re)connection, so a refreshed token is used as soon as
   * it exists, and shortly before the socket's token expires, whose successor is then handed to
   * the open socket (`renewSession`) so that live streams never reconnect for a new token. Takes
   * precedence over `token`.
   */
  readonly getToken?: () => string | Promise<string>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** A WebSocket constructor (`ws` on Node 20). @default globalThis.WebSocket */
  readonly webSocketImpl?: unknown;
  /** How long one HTTP request may take. @default 30_000 */
  readonly requestTimeoutMs?: number;
  /** Reconnection of live streams. */
  readonly retry?: {
    /** First delay; it doubles up to `maxDelayMs`, with jitter. @default 250 */
    readonly initialDelayMs?: number;
    /** @default 5_000 */
    readonly maxDelayMs?: number;
    /** Failed attempts in a row before a stream fails with `NETWORK`. @default Infinity */
    readonly maxAttempts?: number;
  };
  /** Ping interval on the socket; no pong within half of it closes the socket. @default 10_000 */
  readonly keepAliveMs?: number;
}

export interface OperationsClient {
  /** Who the token belongs to. */
  viewer(): Promise<Viewer>;
  /** Every kind the server runs, with its input's JSON Schema, a description and an example. */
  kinds(): Promise<OperationKind[]>;
  /** Starts an operation of `kind`; the typed union tells success from a refusal. */
  start(
    kind: string,
    input?: unknown,
    options?: { readonly idempotencyKey?: string; readonly timeoutMs?: number },
  ): Promise<StartResult>;
  /** The operation, or null when it does not exist or the viewer may not see it. */
  get(id: string): Promise<Operation | null>;
  /** One page, newest first. */
  listPage(
    filter?: OperationFilter & { readonly first?: number; readonly after?: string | null },
  ): Promise<OperationPage>;
  /** Every matching operation, newest first, fetched page by page as the iteration goes on. */
  list(filter?: OperationFilter & { readonly pageSize?: number }): AsyncIterable<Operation>;
  /** Asks to cancel; the typed union tells success, a finished operation and an unknown id apart. */
  cancel(id: string, reason?: string | null): Promise<CancelResult>;
  /**
   * Starts a new run of a done operation (same kind, input and timeoutMs, same owner) whose
   * `retryOf` points back; the owner or an admin. The typed union tells success, an unknown id, a
   * not-done operation (`ValidationError`) and a quota refusal (`RateLimitedError`) apart.
   */
  retry(id: string): Promise<RetryResult>;
  /**
   * Waits until the operation is done, over plain HTTP (no socket): `waitOperation` long-polls
   * of at most a minute each, repeated. Resolves with its final state, or with its state when
   * `timeoutMs` passes first (see `done`; without `timeoutMs` it waits as long as it takes);
   * null when it does not exist or the viewer may not see it. A broken connection or a server
   * restart in between is retried as live streams are (`retry`); `signal` aborts with `ABORTED`.
   */
  wait(
    id: string,
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<Operation | null>;
  /**
   * A read-only token for one operation and the URL of its watch page, to hand to a browser or a
   * script that should watch it and nothing else (the owner or an admin; `ttlSeconds` default 3600,
   * at most 86400). A client built with such a token reads that operation and nothing else.
   */
  createWatchToken(
    id: string,
    options?: { readonly ttlSeconds?: number },
  ): Promise<WatchTokenResult>;
  /** The operation's transition log, oldest first, page by page. */
  events(id: string): AsyncIterable<OperationEvent>;
  /**
   * The operation's current state, then every change; ends after the terminal state. Survives
   * broken connections and server restarts: it reconnects (with a fresh token from `getToken`)
   * and resumes after the last revision it delivered, so no status change is lost or repeated.
   * Fails with `OperationsClientError` (`NOT_FOUND`, `UNAUTHENTICATED`, …).
   */
  watch(
    id: string,
    options?: { readonly afterRevision?: number; readonly signal?: AbortSignal },
  ): AsyncIterableIterator<Operation>;
  /**
   * Every later change of every operation the viewer may see. Live only: after a
   * reconnection (`onConnectionChange` reports `connected` again) re-read with `list`, keeping
   * per operation the state with the highest revision.
   */
  watchAll(
    filter?: Pick<OperationFilter, 'status' | 'kind'>,
    options?: { readonly signal?: AbortSignal },
  ): AsyncIterableIterator<Operation>;
  readonly connectionState: ConnectionState;
  /** Calls `listener` on every change of `connectionState`; returns the unsubscriber. */
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  /** Ends every live stream and closes the socket. */
  close(): Promise<void>;
}

const DEFAULT_PAGE_SIZE = 50;

/** The longest single `waitOperation` the server accepts. */
const MAX_WAIT_MS = 60_000;
/** How much longer than its wait one `waitOperation` request may take to answer. */
const WAIT_SLACK_MS = 10_000;
/** Failures that another attempt of a wait may get past (the server is back, or a proxy). */
const RETRIED_WAIT_FAILURES: ReadonlySet<ClientErrorCode> = new Set([
  ClientErrorCode.Network,
  ClientErrorCode.ServiceUnavailable,
  ClientErrorCode.Timeout,
]);

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE_CODES: ReadonlyMap<number, ClientErrorCode> = new Map([
  [4400, ClientErrorCode.BadRequest],
  [4004, ClientErrorCode.Protocol],
  [4005, ClientErrorCode.Protocol],
  [4406, ClientErrorCode.Protocol],
  [4409, ClientErrorCode.Protocol],
]);
const FORBIDDEN_CLOSE = 4403;

interface CloseLike {
  readonly code: number;
  readonly reason?: string;
}

function isCloseLike(value: unknown): value is CloseLike {
  return (
    typeof value === 'object' && value !== null && typeof Reflect.get(value, 'code') === 'number'
  );
}

function isErrorList(value: unknown): value is GraphQLErrorEntry[] {
  return Array.isArray(value);
}

/** Milliseconds to wait before attempt `n` (1-based): exponential with full jitter on the top half. */
function backoff(n: number, initial: number, max: number): number {
  const ceiling = Math.min(max, initial * 2 ** Math.min(n - 1, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function toWsUrl(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === 'https:' ? 'wss:' : 'ws:';
  return parsed.href;
}

/** A typed client for longrun over HTTP (queries, mutations) and graphql-ws (live streams). */
export function createOperationsClient(options: OperationsClientOptions): OperationsClient {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const initialDelayMs = options.retry?.initialDelayMs ?? 250;
  const maxDelayMs = options.retry?.maxDelayMs ?? 5_000;
  const maxAttempts = options.retry?.maxAttempts ?? Number.POSITIVE_INFINITY;
  const keepAliveMs = options.keepAliveMs ?? 10_000;
  const closing = new AbortController();

  const token = async (): Promise<string | null> => {
    if (options.getToken) return await options.getToken();
    return options.token ?? null;
  };

  async function request<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    per: { readonly timeoutMs?: number; readonly signal?: AbortSignal | undefined } = {},
  ): Promise<TResult> {
    const bearer = await token();
    const timeoutMs = per.timeoutMs ?? requestTimeoutMs;
    const signal = AbortSignal.any([
      closing.signal,
      AbortSignal.timeout(timeoutMs),
      ...(per.signal ? [per.signal] : []),
    ]);
    let response: Response;
    try {
      response = await fetchImpl(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify({ query: document.toString(), variables }),
        signal,
      });
    } catch (error) {
      if (closing.signal.aborted) {
        throw new OperationsClientError(ClientErrorCode.Aborted, 'The client was closed.');
      }
      if (per.signal?.aborted) {
        throw new OperationsClientError(ClientErrorCode.Aborted, 'The request was aborted.');
      }
      if (signal.aborted) {
        throw new OperationsClientError(
          ClientErrorCode.Timeout,
          `No answer from ${options.url} within ${timeoutMs} ms.`,
          { cause: error },
        );
      }
      throw new OperationsClientError(ClientErrorCode.Network, `Cannot reach ${options.url}.`, {
        cause: error,
      });
    }
    const requestId = response.headers.get('x-request-id');
    let body: { data?: TResult | null; errors?: GraphQLErrorEntry[] };
    try {
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new OperationsClientError(
        response.status === 503 ? ClientErrorCode.ServiceUnavailable : ClientErrorCode.Protocol,
        `${options.url} answered ${response.status} without a GraphQL response.`,
        { status: response.status, requestId, cause: error },
      );
    }
    if (Array.isArray(body.errors) && body.errors.length > 0) {
      throw fromGraphQLErrors(body.errors, { status: response.status, requestId });
    }
    if (body.data === undefined || body.data === null) {
      throw new OperationsClientError(
        ClientErrorCode.Protocol,
        `${options.url} answered ${response.status} with neither data nor errors.`,
        { status: response.status, requestId },
      );
    }
    return body.data;
  }

  // ---- live streams over graphql-ws ----

  let state: ConnectionState = 'idle';
  let everConnected = false;
  const listeners = new Set<(state: ConnectionState) => void>();
  const streams = new Set<() => void>();
  const setState = (next: ConnectionState) => {
    if (next === state || state === 'closed') return;
    state = next;
    for (const listener of listeners) listener(next);
  };
  /** The state once no socket is open: retrying while streams remain, else idle. */
  const settle = () => {
    if (streams.size === 0) setState('idle');
    else setState(everConnected ? 'reconnecting' : 'connecting');
  };

  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** Sockets accepted so far: a refusal after a new one starts a new run of refusals. */
  let connections = 0;
  let ws: WsClient | null = null;
  /** The token the current socket was opened with. */
  let socketToken: string | null = null;
  const getToken = options.getToken;
  const renewal =
    getToken === undefined
      ? null
      : new SessionRenewal({
          getToken: async () => await getToken(),
          renew: (fresh) => renewOnSocket(fresh),
        });
  const socketClient = (): WsClient => {
    ws ??= createClient({
      url: options.wsUrl ?? toWsUrl(options.url),
      webSocketImpl: options.webSocketImpl,
      lazy: true,
      // Reconnection is done per stream below, so each resumes from its own last revision.
      retryAttempts: 0,
      keepAlive: keepAliveMs,
      connectionParams: async () => {
        const bearer = await token();
        socketToken = bearer;
        return bearer ? { authorization: `Bearer ${bearer}` } : {};
      },
      on: {
        connecting: () => setState(everConnected ? 'reconnecting' : 'connecting'),
        connected: () => {
          everConnected = true;
          connections += 1;
          setState('connected');
          if (socketToken !== null) renewal?.start(socketToken);
        },
        closed: () => {
          renewal?.stop();
          clearTimeout(pongTimer);
          settle();
        },
        ping: (received) => {
          if (received) return;
          // A socket that stops answering (a half-open TCP connection) is dropped at once: a close
          // handshake would wait for an answer that never comes. The streams then reconnect.
          clearTimeout(pongTimer);
          pongTimer = setTimeout(() => ws?.terminate(), keepAliveMs / 2);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
      },
    });
    return ws;
  };

  /** Sends `renewSession(token)` on the open socket; true when the server took the token. */
  function renewOnSocket(fresh: string): Promise<boolean> {
    const socket = ws;
    if (socket === null || state !== 'connected') return Promise.resolve(false);
    return new Promise((resolve) => {
      let renewed = false;
      socket.subscribe<{ renewSession: { __typename: string } }>(
        { query: RenewSessionDocument.toString(), variables: { token: fresh } },
        {
          next: (result) => {
            renewed = result.data?.renewSession.__typename === 'RenewSessionSuccess';
          },
          error: () => resolve(false),
          complete: () => resolve(renewed),
        },
      );
    });
  }

  type Attempt = { kind: 'complete' } | { kind: 'error'; error: unknown };

  /**
   * One live stream that outlives connections: `variables()` is read at every (re)subscription,
   * `accept` sees each item (false drops it), `finished` tells when a completion is final.
   */
  function live<TResult, TVariables, TItem>(
    document: TypedDocumentString<TResult, TVariables>,
    setup: {
      variables: () => TVariables;
      pick: (data: TResult) => TItem;
      accept: (item: TItem) => boolean;
      finished: () => boolean;
      signal: AbortSignal | undefined;
    },
  ): AsyncIterableIterator<TItem> {
    const stopped = new AbortController();
    /** The graphql-ws subscription of the current attempt. */
    const current: { dispose: (() => void) | null } = { dispose: null };
    const stop = () => {
      stopped.abort();
      current.dispose?.();
      forget();
    };
    const channel = new Channel<TItem>(stop);
    /** Unregisters the stream; a client left retrying for it alone is idle again. */
    const forget = () => {
      if (streams.delete(end) && state !== 'connected') settle();
    };
    /** Ends the stream from the client's side (`close()`). */
    const end = () => {
      channel.end();
      stop();
    };
    streams.add(end);
    const onAbort = () => {
      channel.fail(new OperationsClientError(ClientErrorCode.Aborted, 'The stream was aborted.'));
      stop();
    };
    if (setup.signal?.aborted) onAbort();
    else setup.signal?.addEventListener('abort', onAbort, { once: true });

    const attempt = () =>
      new Promise<Attempt>((resolve) => {
        current.dispose = socketClient().subscribe<TResult>(
          { query: document.toString(), variables: setup.variables() as Record<string, unknown> },
          {
            next: (result) => {
              if (result.errors?.length) {
                resolve({ kind: 'error', error: result.errors });
                current.dispose?.();
                return;
              }
              if (result.data === undefined || result.data === null) return;
              const item = setup.pick(result.data as TResult);
              if (setup.accept(item)) {
                failures = 0;
                channel.push(item);
              }
            },
            error: (error) => resolve({ kind: 'error', error }),
            complete: () => resolve({ kind: 'complete' }),
          },
        );
      });

    let failures = 0;
    /** Token refusals since the last accepted socket. */
    const refusals = { count: 0, since: -1 };
    const countRefusal = () => {
      if (refusals.since !== connections) refusals.count = 0;
      refusals.since = connections;
      refusals.count += 1;
      return refusals.count;
    };
    void (async () => {
      try {
        while (!stopped.signal.aborted) {
          const outcome = await attempt();
          // graphql-ws keeps a subscription that failed with its socket counted as active (so a
          // lazy socket would never close) until its disposer runs; it is a no-op otherwise.
          current.dispose?.();
          current.dispose = null;
          if (stopped.signal.aborted) return;
          if (setup.finished()) return channel.end();
          if (outcome.kind === 'error') {
            const fatal = classify(outcome.error, countRefusal);
            if (fatal) return channel.fail(fatal);
          }
          failures += 1;
          if (failures > maxAttempts) {
            return channel.fail(
              new OperationsClientError(
                ClientErrorCode.Network,
                `The live connection to ${options.url} failed ${failures} times in a row.`,
                { cause: outcome.kind === 'error' ? outcome.error : undefined },
              ),
            );
          }
          await sleep(backoff(failures, initialDelayMs, maxDelayMs), stopped.signal);
        }
      } finally {
        setup.signal?.removeEventListener('abort', onAbort);
        forget();
      }
    })();
    return channel;
  }

  /** Null when another attempt may succeed; else the error that ends the stream. */
  function classify(error: unknown, countAuthFailure: () => number): OperationsClientError | null {
    if (isErrorList(error)) {
      const mapped = fromGraphQLErrors(error);
      if (mapped.code === ClientErrorCode.ServiceUnavailable) return null;
      if (mapped.code === ClientErrorCode.Internal) return null;
      if (mapped.code === ClientErrorCode.Unauthenticated && retriesAuth(countAuthFailure())) {
        return null;
      }
      return mapped;
    }
    if (isCloseLike(error)) {
      const fatal = FATAL_CLOSE_CODES.get(error.code);
      if (fatal) {
        return new OperationsClientError(
          fatal,
          `The server closed the connection: ${error.code} ${error.reason ?? ''}`.trim(),
        );
      }
      if (error.code === FORBIDDEN_CLOSE && !retriesAuth(countAuthFailure())) {
        return new OperationsClientError(
          ClientErrorCode.Unauthenticated,
          `The server refused the token: ${error.reason || 'Forbidden'}.`,
        );
      }
      return null;
    }
    if (error instanceof Error) {
      // A thrown getToken() or a bad URL: a local failure that no retry would fix.
      return new OperationsClientError(ClientErrorCode.Network, error.message, { cause: error });
    }
    return null; // the socket's error event (refused, reset): the server may be back soon
  }

  /**
   * An expired token is replaced by `getToken`; a second refusal before any socket is accepted
   * means the new token is refused too, and is final.
   */
  function retriesAuth(failuresInARow: number): boolean {
    return options.getToken !== undefined && failuresInARow <= 1;
  }

  async function listPage(
    filter: Parameters<OperationsClient['listPage']>[0] = {},
  ): Promise<OperationPage> {
    const data = await request(ListOperationsDocument, {
      first: filter.first ?? DEFAULT_PAGE_SIZE,
      after: filter.after ?? null,
      status: filter.status && filter.status.length > 0 ? [...filter.status] : null,
      kind: filter.kind ?? null,
      ownerId: filter.ownerId ?? null,
    });
    const { edges, pageInfo, totalCount } = data.operations;
    return {
      operations: edges.map((edge) => edge.node),
      totalCount,
      hasNextPage: pageInfo.hasNextPage,
      endCursor: pageInfo.endCursor ?? null,
    };
  }

  return {
    async viewer() {
      return (await request(ViewerDocument, {})).viewer;
    },

    async kinds() {
      return (await request(OperationKindsDocument, {})).operationKinds;
    },

    async start(kind, input, startOptions = {}) {
      const data = await request(StartOperationDocument, {
        input: {
          kind,
          ...(input === undefined ? {} : { input }),
          ...(startOptions.idempotencyKey === undefined
            ? {}
            : { idempotencyKey: startOptions.idempotencyKey }),
          ...(startOptions.timeoutMs === undefined ? {} : { timeoutMs: startOptions.timeoutMs }),
        },
      });
      return data.startOperation;
    },

    async get(id) {
      return (await request(GetOperationDocument, { id })).operation ?? null;
    },

    listPage,

    list(filter = {}) {
      return {
        async *[Symbol.asyncIterator]() {
          let after: string | null = null;
          for (;;) {
            const page: OperationPage = await listPage({
              ...filter,
              first: filter.pageSize ?? DEFAULT_PAGE_SIZE,
              after,
            });
            yield* page.operations;
            if (!page.hasNextPage || page.endCursor === null) return;
            after = page.endCursor;
          }
        },
      };
    },

    async cancel(id, reason) {
      const data = await request(CancelOperationDocument, {
        input: { id, ...(reason === undefined || reason === null ? {} : { reason }) },
      });
      return data.cancelOperation;
    },

    async retry(id) {
      const data = await request(RetryOperationDocument, { input: { id } });
      return data.retryOperation;
    },

    async wait(id, waitOptions = {}) {
      const deadline =
        waitOptions.timeoutMs === undefined
          ? Number.POSITIVE_INFINITY
          : Date.now() + waitOptions.timeoutMs;
      let failures = 0;
      for (;;) {
        const step = Math.max(1, Math.min(MAX_WAIT_MS, deadline - Date.now()));
        let operation: Operation | null;
        try {
          const data = await request(
            WaitOperationDocument,
            { id, timeoutMs: step },
            { timeoutMs: step + WAIT_SLACK_MS, signal: waitOptions.signal },
          );
          operation = data.waitOperation ?? null;
          failures = 0;
        } catch (error) {
          const retried =
            error instanceof OperationsClientError && RETRIED_WAIT_FAILURES.has(error.code);
          failures += 1;
          if (!retried || failures > maxAttempts || Date.now() >= deadline) throw error;
          const stop = waitOptions.signal
            ? AbortSignal.any([closing.signal, waitOptions.signal])
            : closing.signal;
          await sleep(backoff(failures, initialDelayMs, maxDelayMs), stop);
          continue;
        }
        if (operation === null || operation.done || Date.now() >= deadline) return operation;
      }
    },

    async createWatchToken(id, tokenOptions = {}) {
      const data = await request(CreateWatchTokenDocument, {
        input: {
          id,
          ...(tokenOptions.ttlSeconds === undefined ? {} : { ttlSeconds: tokenOptions.ttlSeconds }),
        },
      });
      return data.createWatchToken;
    },

    events(id) {
      return {
        async *[Symbol.asyncIterator]() {
          let after: string | null = null;
          for (;;) {
            const data: OperationEventsQuery = await request(OperationEventsDocument, {
              id,
              first: 100,
              after,
            });
            if (!data.operation) {
              throw new OperationsClientError(ClientErrorCode.NotFound, 'No such operation.');
            }
            const { edges, pageInfo } = data.operation.events;
            for (const edge of edges) yield edge.node;
            if (!pageInfo.hasNextPage || !pageInfo.endCursor) return;
            after = pageInfo.endCursor;
          }
        },
      };
    },

    watch(id, watchOptions = {}) {
      let last: number | null = watchOptions.afterRevision ?? null;
      let done = false;
      return live(WatchOperationDocument, {
        variables: () => ({ id, afterRevision: last }),
        pick: (data) => data.operationUpdated,
        accept: (op) => {
          // A replay after reconnecting may overlap what was delivered: each revision once, in order.
          if (done || (last !== null && op.revision <= last)) return false;
          last = op.revision;
          done = op.done;
          return true;
        },
        finished: () => done,
        signal: watchOptions.signal,
      });
    },

    watchAll(filter = {}, watchOptions = {}) {
      const latest = new Map<string, number>();
      return live(WatchOperationsDocument, {
        variables: () => ({
          status: filter.status && filter.status.length > 0 ? [...filter.status] : null,
          kind: filter.kind ?? null,
        }),
        pick: (data) => data.operationsUpdated,
        accept: (op) => {
          const seen = latest.get(op.id);
          if (seen !== undefined && op.revision <= seen) return false;
          if (op.done) latest.delete(op.id);
          else latest.set(op.id, op.revision);
          return true;
        },
        finished: () => false,
        signal: watchOptions.signal,
      });
    },

    get connectionState() {
      return state;
    },

    onConnectionChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      closing.abort();
      renewal?.stop();
      for (const end of [...streams]) end();
      setState('closed');
      clearTimeout(pongTimer);
      // graphql-ws's dispose() waits for a connection attempt in flight and rejects if it fails;
      // the client is closing either way.
      await Promise.resolve(ws?.dispose()).catch(() => undefined);
    },
  };
}
