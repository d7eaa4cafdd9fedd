import { type Client, createClient } from 'graphql-ws';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { EventQueue } from './queue.js';
import { tokenFor } from './server.js';

/** A GraphQL response as a client sees it. */
export interface GqlResponse<D = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: {
    data?: D | null;
    errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }>;
  };
}

/** POSTs a GraphQL document with a bearer token (null: no Authorization header). */
export async function gql<D = Record<string, unknown>>(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GqlResponse<D>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) };
}

/** One Server-Sent Event. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** An SSE subscription: `events` yields each event; `status` is the HTTP status. */
export interface SseStream {
  readonly status: number;
  readonly events: EventQueue<SseEvent>;
  /** The `data` of `next` events, parsed. */
  readonly results: EventQueue<{
    data?: Record<string, unknown>;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  }>;
  close(): void;
}

const openStreams = new Set<{ close(): void }>();
afterEach(() => {
  for (const stream of openStreams) stream.close();
  openStreams.clear();
});

/** Opens a subscription over SSE (`Accept: text/event-stream`). */
export async function sse(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<SseStream> {
  return openSse(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
}

/**
 * Opens a subscription as a browser's `EventSource` does: a GET with the document, its variables
 * and any `extra` parameters (such as `access_token`) in the URL, and no Authorization header
 * unless `headers` adds one.
 */
export async function sseGet(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  extra: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const target = new URL(url);
  target.searchParams.set('query', query);
  target.searchParams.set('variables', JSON.stringify(variables));
  for (const [name, value] of Object.entries(extra)) {
    for (const one of Array.isArray(value) ? value : [value]) target.searchParams.append(name, one);
  }
  return openSse(target.href, { headers: { accept: 'text/event-stream', ...headers } });
}

async function openSse(url: string, init: RequestInit): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const events = new EventQueue<SseEvent>();
  const results: SseStream['results'] = new EventQueue();
  const stream = { close: () => controller.abort() };
  openStreams.add(stream);
  void (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let boundary = buffer.indexOf('\n\n');
        while (boundary >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf('\n\n');
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue; // comment / keep-alive
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0 && event === 'message') continue;
          const parsed: SseEvent = { event, data: data.join('\n') };
          events.push(parsed);
          if (event === 'next') results.push(JSON.parse(parsed.data));
        }
      }
      events.end();
      results.end();
    } catch (error) {
      events.end(error);
      results.end(error);
    }
  })();
  return { status: response.status, events, results, close: stream.close };
}

/** The outcome of one graphql-ws subscription: results, then an end (or an error). */
export interface WsSubscription {
  readonly results: EventQueue<{
    data?: Record<string, unknown> | null;
    errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
  }>;
  unsubscribe(): void;
}

/** A graphql-ws client with close events recorded. */
export interface WsClient {
  readonly client: Client;
  /** Close events of the socket (code, reason). */
  readonly closes: EventQueue<{ code: number; reason: string }>;
  readonly connected: EventQueue<true>;
  subscribe(query: string, variables?: Record<string, unknown>): WsSubscription;
  dispose(): Promise<void>;
}

/**
 * Connects with graphql-ws, sending `{authorization: "Bearer …"}` in connection_init (or
 * `options.connectionParams` as they are).
 */
export function wsClient(
  url: string,
  token: string | null,
  options: { lazy?: boolean; connectionParams?: Record<string, unknown> } = {},
): WsClient {
  const closes: WsClient['closes'] = new EventQueue();
  const connected = new EventQueue<true>();
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: options.lazy ?? false,
    retryAttempts: 0,
    connectionParams:
      options.connectionParams ?? (token === null ? {} : { authorization: `Bearer ${token}` }),
    on: {
      connected: () => connected.push(true),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closes.push({ code: e.code, reason: e.reason });
      },
    },
    onNonLazyError: () => undefined,
  });
  const handle = {
    client,
    closes,
    connected,
    subscribe(query: string, variables?: Record<string, unknown>): WsSubscription {
      const results: WsSubscription['results'] = new EventQueue();
      const unsubscribe = client.subscribe(
        { query, ...(variables ? { variables } : {}) },
        {
          next: (value) => results.push(value as never),
          error: (error) => results.end(error ?? new Error('error')),
          complete: () => results.end(),
        },
      );
      return { results, unsubscribe };
    },
    dispose: () => Promise.resolve(client.dispose()),
  };
  openStreams.add({ close: () => void client.dispose() });
  return handle;
}

const OPERATION_FIELDS = `id kind status done progress message ownerId input result error { code message }
  createdAt updatedAt startedAt finishedAt cancelRequestedAt cancelledBy cancelReason revision`;

/** The fields of Operation every helper selects. */
export const OPERATION_SELECTION = OPERATION_FIELDS;

/** An operation as the API returns it. */
export interface Op {
  id: string;
  kind: string;
  status: string;
  done: boolean;
  progress: number | null;
  message: string | null;
  ownerId: string;
  input: unknown;
  result: unknown;
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequestedAt: string | null;
  cancelledBy: string | null;
  cancelReason: string | null;
  revision: number;
}

/** ISO-8601 in UTC with milliseconds, as the contract's DateTime promises. */
export const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A user's view of a server: typed helpers over HTTP and both subscription transports. */
export function userClient(
  server: { url: string; wsUrl: string },
  sub: string,
  options: { admin?: boolean } = {},
) {
  const token = tokenFor(sub, options);
  return {
    token,
    gql: <D = Record<string, unknown>>(query: string, variables?: Record<string, unknown>) =>
      gql<D>(server.url, token, query, variables),
    /** startOperation; throws unless it succeeded. */
    async start(input: Record<string, unknown>): Promise<Op & { deduplicated: boolean }> {
      const r = await gql<{
        startOperation: {
          __typename: string;
          operation?: Op;
          deduplicated?: boolean;
          message?: string;
        };
      }>(
        server.url,
        token,
        `mutation($input: StartOperationInput!) { startOperation(input: $input) {
          __typename ... on StartOperationSuccess { deduplicated operation { ${OPERATION_FIELDS} } }
          ... on Error { message } } }`,
        { input },
      );
      const result = r.body.data?.startOperation;
      if (!result?.operation) throw new Error(`start failed: ${JSON.stringify(r.body)}`);
      return { ...result.operation, deduplicated: result.deduplicated ?? false };
    },
    /** startOperation's raw result union. */
    async startRaw(input: Record<string, unknown>) {
      return gql<{ startOperation: Record<string, unknown> }>(
        server.url,
        token,
        `mutation($input: StartOperationInput!) { startOperation(input: $input) {
          __typename ... on StartOperationSuccess { deduplicated operation { ${OPERATION_FIELDS} } }
          ... on UnknownKindError { kind } ... on ValidationError { field } ... on Error { message } } }`,
        { input },
      );
    },
    /** cancelOperation's result union, as data. */
    async cancel(id: string, reason?: string | null) {
      const r = await gql<{
        cancelOperation: {
          __typename: string;
          operation?: Op;
          id?: string;
          field?: string;
          message: string;
        };
      }>(
        server.url,
        token,
        `mutation($input: CancelOperationInput!) { cancelOperation(input: $input) {
          __typename ... on CancelOperationSuccess { operation { ${OPERATION_FIELDS} } }
          ... on NotFoundError { id } ... on ValidationError { field }
          ... on OperationFinishedError { operation { ${OPERATION_FIELDS} } }
          ... on Error { message } } }`,
        { input: { id, ...(reason === undefined ? {} : { reason }) } },
      );
      if (!r.body.data) throw new Error(`cancel failed: ${JSON.stringify(r.body)}`);
      return r.body.data.cancelOperation;
    },
    /** Query.operation. */
    async get(id: string): Promise<Op | null> {
      const r = await gql<{ operation: Op | null }>(
        server.url,
        token,
        `query($id: ID!) { operation(id: $id) { ${OPERATION_FIELDS} } }`,
        { id },
      );
      if (!r.body.data) throw new Error(`get failed: ${JSON.stringify(r.body)}`);
      return r.body.data.operation;
    },
    /** operationUpdated over WebSocket. */
    watchWs(id: string) {
      const ws = wsClient(server.wsUrl, token, { lazy: true });
      const subscription = ws.subscribe(
        `subscription($id: ID!) { operationUpdated(id: $id) { ${OPERATION_FIELDS} } }`,
        { id },
      );
      return { ws, ...subscription, ops: mapOps(subscription.results, 'operationUpdated') };
    },
    /** operationUpdated over SSE. */
    async watchSse(id: string) {
      const stream = await sse(
        server.url,
        token,
        `subscription($id: ID!) { operationUpdated(id: $id) { ${OPERATION_FIELDS} } }`,
        { id },
      );
      return { ...stream, ops: mapOps(stream.results, 'operationUpdated') };
    },
  };
}

/** The client `userClient` returns. */
export type UserClient = ReturnType<typeof userClient>;

/** The operations carried by a subscription's results (errors end the queue). */
export function mapOps(
  results: EventQueue<{
    data?: Record<string, unknown> | null;
    errors?: ReadonlyArray<{ message: string }>;
  }>,
  field: string,
): EventQueue<Op> {
  const ops = new EventQueue<Op>();
  void (async () => {
    try {
      for (;;) {
        const result = await results.next(600_000);
        if (result.errors?.length) {
          ops.end(result.errors);
          return;
        }
        ops.push(result.data?.[field] as Op);
      }
    } catch (error) {
      ops.end(results.error ?? (results.isEnded ? undefined : error));
    }
  })();
  return ops;
}
