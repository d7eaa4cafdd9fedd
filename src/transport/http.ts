import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpTimeouts } from '../config.js';
import type { Logger } from '../logger.js';
import { type AppMetrics, type HttpRoute, NO_RESPONSE } from '../metrics/metrics.js';
import type { BusCounts } from '../operations/ports.js';
import { ErrorCode } from '../schema/codes.js';
import { createDashboard, type DashboardOptions } from './dashboard.js';
import type { MetricsEndpoint } from './metrics-endpoint.js';
import { requestIdFrom } from './request-id.js';
import type { SitePolicy } from './site-policy.js';
import type { YogaApp } from './yoga.js';

/** What the HTTP edge needs besides yoga. */
export interface HttpOptions {
  readonly yoga: YogaApp;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /**
   * How long an SSE stream may wait for its reader to take anything before it is closed
   * (`SSE_STALL_TIMEOUT_MS`).
   */
  readonly stallTimeoutMs: number;
  /** The live dashboard served at `/`. */
  readonly dashboard: Omit<DashboardOptions, 'isLocalPage'>;
  /** Which Host names are served, and which pages may carry the development token. */
  readonly site: SitePolicy;
  /** Timeouts for slow or silent clients. */
  readonly timeouts: HttpTimeouts;
  /** True when the request's `Authorization` header holds a token the API accepts. */
  authenticates(req: IncomingMessage): boolean;
  /** Resolves true while the database (and event bus) answer and the server is not stopping. */
  ready(): Promise<boolean>;
  /** Counts requests and open event streams. */
  readonly metrics: AppMetrics;
  /** Serves `/metrics`. */
  readonly metricsEndpoint: MetricsEndpoint;
  /** What this instance's event bus has received, shown by `/readyz` as `bus`. */
  busCounts(): BusCounts;
  /** The log re-reads of this instance's feed and the entries they returned, shown as `log`. */
  logRereads(): { readonly reads: number; readonly entries: number };
}

class BodyTooLarge extends Error {}

/**
 * Resolves true once `res` drained (or its request ended: the caller checks `signal`), false when
 * its reader took nothing for `stallMs` (null: wait as long as it takes).
 */
async function drained(
  res: ServerResponse,
  signal: AbortSignal,
  stallMs: number | null,
): Promise<boolean> {
  if (stallMs === null) return once(res, 'drain', { signal }).then(ok, ok);
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), stallMs);
  });
  try {
    return await Promise.race([once(res, 'drain', { signal }).then(ok, ok), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

const ok = () => true as const;

const ACCEPTED_CONTENT_TYPES = ['application/json', 'application/graphql-response+json'];

/** Methods whose body, if any, is never read. */
const NO_BODY: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * How often Node checks for requests past their header and request timeouts (its default, 30 s,
 * would let a silent connection live up to 30 s beyond the timeout).
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

function graphqlError(
  res: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, string> = {},
) {
  sendJson(
    res,
    status,
    { errors: [{ message, extensions: { code: ErrorCode.BadRequest } }] },
    extra,
  );
}

/**
 * Why a request's signal aborts once its response is closed: made once, as a `DOMException` built
 * for every request (what `abort()` without a reason does) takes a stack trace each time.
 */
const RESPONSE_CLOSED = new DOMException('The response was closed.', 'AbortError');

/** Reads the whole body, refusing it as soon as it passes `limit` bytes (chunked or not). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toHeaders(req: IncomingMessage): [string, string][] {
  const headers: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    if (name !== undefined && value !== undefined) headers.push([name, value]);
  }
  return headers;
}

async function serveGraphql(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpOptions,
  url: URL,
  requestId: string,
) {
  const method = req.method ?? 'GET';
  let body: Buffer | undefined;
  // Without a token the API accepts, not a byte of the body is read: yoga refuses the request
  // (401) from its headers alone, and the connection closes so the unread rest is dropped.
  const refused = !NO_BODY.has(method) && !options.authenticates(req);
  if (!NO_BODY.has(method) && !refused) {
    const declared = Number(req.headers['content-length'] ?? 0);
    // Refused before a byte is parsed; the connection closes so the unread rest is dropped.
    if (declared > options.maxBodyBytes) {
      return graphqlError(
        res,
        413,
        `The request body is larger than ${options.maxBodyBytes} bytes.`,
        { connection: 'close' },
      );
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (method === 'POST' && !ACCEPTED_CONTENT_TYPES.includes(type)) {
      return graphqlError(res, 415, 'Send GraphQL requests as application/json.', {
        connection: 'close',
      });
    }
    try {
      body = await readBody(req, options.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return graphqlError(
          res,
          413,
          `The request body is larger than ${options.maxBodyBytes} bytes.`,
          { connection: 'close' },
        );
      }
      throw error;
    }
  }
  const aborted = new AbortController();
  res.once('close', () => aborted.abort(RESPONSE_CLOSED));
  const { Request } = options.yoga.fetchAPI;
  const request = new Request(url.href, {
    method,
    headers: toHeaders(req),
    ...(body === undefined ? {} : { body: body.toString('utf8') }),
    signal: aborted.signal,
  });
  const response = await options.yoga.handleRequest(request, { requestId });
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (refused) headers.connection = 'close';
  // Only an event stream can wait for its reader indefinitely; other bodies end by themselves,
  // and are sent whole (yoga makes them as text: reading them takes no stream).
  const eventStream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
  if (!eventStream) {
    const text = method === 'HEAD' ? '' : await response.text();
    res.writeHead(response.status, headers);
    return res.end(text);
  }
  res.writeHead(response.status, headers);
  if (response.body === null || method === 'HEAD') return res.end();
  const stallMs = options.stallTimeoutMs;
  res.once('close', options.metrics.sseStreamOpened());
  const reader = response.body.getReader();
  aborted.signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), {
    once: true,
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Backpressure: a slow reader holds the stream here, and the feed coalesces behind it. A
      // reader that takes nothing at all would hold it (and what the feed keeps for it) forever.
      if (!res.write(value) && !(await drained(res, aborted.signal, stallMs))) {
        options.logger.info('closed an event stream whose reader took nothing', {
          stallTimeoutMs: stallMs,
        });
        res.destroy();
        break;
      }
      if (aborted.signal.aborted) break;
    }
  } finally {
    res.end();
  }
}

/**
 * The node:http server: `/graphql` through yoga (HTTP and SSE), `/healthz`, `/readyz`, the
 * dashboard at `/`, a body limit enforced before parsing, and a request id for every request.
 */
export function createHttpServer(options: HttpOptions): Server {
  const { logger } = options;
  const { site } = options;
  const dashboard = createDashboard({
    ...options.dashboard,
    isLocalPage: (req) => site.isLocalPage({ host: req.headers.host, origin: req.headers.origin }),
  });
  const routeOf = (pathname: string): HttpRoute => {
    if (pathname === '/graphql') return 'graphql';
    if (pathname === '/healthz' || pathname === '/readyz' || pathname === '/metrics') {
      return pathname.slice(1) as HttpRoute;
    }
    return dashboard.matches(pathname) ? 'dashboard' : 'other';
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = routeOf(url.pathname);
      res.once('close', () =>
        options.metrics.httpRequest(route, res.headersSent ? res.statusCode : NO_RESPONSE),
      );
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') {
        const ready = await options.ready();
        return sendJson(res, ready ? 200 : 503, {
          status: ready ? 'ready' : 'unavailable',
          bus: options.busCounts(),
          log: options.logRereads(),
        });
      }
      // The probes above answer any Host (load balancers address instances by IP); everything
      // else only the names this server is for, which stops DNS rebinding. A scrape with
      // METRICS_TOKEN answers any Host too; without it the endpoint applies the policy itself.
      const allowsHost = site.allowsHost(req.headers.host);
      if (url.pathname === '/metrics') return options.metricsEndpoint.serve(req, res, allowsHost);
      if (!allowsHost) {
        const message = 'This server does not answer for this Host name; see ALLOWED_HOSTS.';
        if (url.pathname === '/graphql') return graphqlError(res, 421, message);
        return sendJson(res, 421, { error: message });
      }
      if (url.pathname === '/graphql') return serveGraphql(req, res, options, url, requestId);
      if (dashboard.matches(url.pathname)) return dashboard.serve(req, res, url);
      return sendJson(res, 404, { error: 'Not found. The API is at /graphql.' });
    })().catch((error: unknown) => {
      logger.error('unexpected error serving a request', { requestId, error });
      if (!res.headersSent)
        sendJson(res, 500, {
          errors: [
            { message: 'Unexpected error.', extensions: { code: ErrorCode.Internal, requestId } },
          ],
        });
      else res.destroy();
    });
  };
  const server = createServer(
    {
      headersTimeout: options.timeouts.headersTimeoutMs,
      requestTimeout: options.timeouts.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    handle,
  );
  server.keepAliveTimeout = options.timeouts.keepAliveTimeoutMs;
  return server;
}
