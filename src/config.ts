import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

/** Where operations are stored. */
export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** How bearer tokens are verified. */
export interface JwtConfig {
  /** HS256 shared secret (`JWT_SECRET`), or null. */
  readonly secret: string | null;
  /** PEM public key for RS256/ES256 (`JWT_PUBLIC_KEY`), or null. */
  readonly publicKey: string | null;
  /** Checked when set (`JWT_ISSUER`). */
  readonly issuer: string | null;
  /** Checked when set (`JWT_AUDIENCE`). */
  readonly audience: string | null;
  /** Seconds of clock skew accepted on `exp` and `nbf`. @default 5 */
  readonly clockToleranceSec: number;
}

/** `NODE_ENV`: anything else is a configuration error. */
export type Environment = 'production' | 'development' | 'test';

/** The whole configuration, read once from the environment by `loadConfig`. */
export interface Config {
  /** TCP port of the HTTP and WebSocket server; 0 picks a free one. @default 4000 */
  readonly port: number;
  /** Interface to listen on; only a loopback one while no key is set. @default '127.0.0.1' */
  readonly host: string;
  /** `NODE_ENV`; unset or blank means development. @default 'development' */
  readonly environment: Environment;
  /** True under `NODE_ENV=production`: a key is required and error texts are terse. */
  readonly production: boolean;
  /**
   * `ALLOWED_HOSTS`: the `Host` names (`name`, `name:port`, or `.domain` for it and its
   * subdomains) requests may carry besides loopback names with the server's own port; null
   * (unset) means any in production and loopback only otherwise. @default null
   */
  readonly allowedHosts: readonly string[] | null;
  /** `CORS_ORIGINS`: origins other sites' pages may call the API from; empty means same-origin only. @default [] */
  readonly corsOrigins: readonly string[];
  /** Folder for the SQLite file and the development key. @default './data' */
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  /** `REDIS_URL`, or null for the in-process event bus. */
  readonly redisUrl: string | null;
  /** Prefix of every Redis channel: instances share events only with the same prefix. @default 'longrun:' */
  readonly redisPrefix: string;
  readonly jwt: JwtConfig;
  /**
   * `WATCH_TOKEN_SECRET`: the HS256 key of watch tokens (read-only links to one operation), the
   * same on every instance; null outside production makes a development one in `dataDir`, null in
   * production turns watch links off (`createWatchToken` answers `WATCH_LINKS_DISABLED`).
   */
  readonly watchTokenSecret: string | null;
  /**
   * `PUBLIC_URL`: where browsers reach this server (scheme, host and any path prefix), for the
   * links it hands out; null takes the request's Host header.
   */
  readonly publicUrl: string | null;
  /** How long a handler may ignore a cancel before it is declared CANCEL_FORCED. @default 10_000 */
  readonly cancelGraceMs: number;
  /** How long a claimed operation stays ours without a heartbeat. @default 30_000 */
  readonly leaseMs: number;
  /** How long running handlers get to finish on SIGTERM/SIGINT. @default 10_000 */
  readonly shutdownGraceMs: number;
  /** Days a done operation is kept after `finishedAt`. @default 30 */
  readonly retentionDays: number;
  /**
   * `LOG_PROGRESS_INTERVAL_MS`: how far apart in time the transition log keeps an operation's
   * progress entries (status changes are always logged); 0 logs every report. @default 1_000
   */
  readonly progressLogIntervalMs: number;
  /** Handlers one process runs at once. @default 8 */
  readonly maxConcurrentRuns: number;
  /**
   * Handlers of one owner one process runs at once, so the other slots stay free for other owners'
   * work. @default half of `maxConcurrentRuns`, at least 1
   */
  readonly maxRunsPerOwner: number;
  readonly quotas: QuotaConfig;
  /** Largest HTTP request body accepted, in bytes. @default 1_048_576 */
  readonly maxBodyBytes: number;
  /** Largest WebSocket message accepted, in bytes. @default 65_536 */
  readonly maxWsMessageBytes: number;
  /**
   * How often the server pings each WebSocket; a socket whose pong has not come by the next ping
   * is dropped. @default 12_000
   */
  readonly wsKeepAliveMs: number;
  /**
   * Highest cost of one request, measured before it executes: each field 1, a mutation 10, and
   * a page's selection once per item asked for (`first`/`last`, 20 when absent). The dashboard's
   * largest query, 100 operations with every field, costs about 2,800. @default 5_000
   */
  readonly maxQueryCost: number;
  /**
   * Open WebSocket connections one user (a token's `sub`) may hold in this process.
   * @default a quarter of `MAX_SUBSCRIPTIONS_PER_USER` (50), at least 1
   */
  readonly maxSocketsPerUser: number;
  /**
   * Live subscriptions one user may hold in this process, over WebSocket and SSE together.
   * @default 200
   */
  readonly maxSubscriptionsPerUser: number;
  /**
   * How long an SSE stream may wait for its reader to take anything before it is closed.
   * @default 30_000
   */
  readonly sseStallTimeoutMs: number;
  /** `LOG_LEVEL`: debug, info, warn or error. @default 'info' */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `GRAPHIQL`: serve GraphiQL to browsers at /graphql. @default true outside production */
  readonly graphiql: boolean;
  /**
   * `INTROSPECTION`: answer `__schema`/`__type` and add "did you mean" hints to errors.
   * @default true outside production; in production, as `GRAPHIQL` (it needs the schema)
   */
  readonly introspection: boolean;
  /**
   * `INSTANCE_NAME`: how this process names itself as a worker in the transition log (`actor`)
   * and logs, followed by a random suffix; null means a random id alone. @default null
   */
  readonly instanceName: string | null;
  /**
   * `METRICS_TOKEN`: the bearer token `/metrics` requires; null (unset) serves it only to this
   * machine outside production, and not at all in production. @default null
   */
  readonly metricsToken: string | null;
  readonly http: HttpTimeouts;
}

/** Per-owner limits on starting operations, across every instance sharing the database. */
export interface QuotaConfig {
  /** Operations one owner may have PENDING, RUNNING or CANCELLING at once; 0: no limit. @default 100 */
  readonly maxActivePerOwner: number;
  /** Starts one owner may make in any 60 seconds; 0: no limit. @default 120 */
  readonly startRatePerMinute: number;
  /** `QUOTAS_EXEMPT_ADMINS`: admins' own starts are not limited. @default false */
  readonly exemptAdmins: boolean;
}

/** How long the HTTP server waits for clients (slow or silent connections are closed). */
export interface HttpTimeouts {
  /** From connection or previous response until the request's headers are complete. @default 10_000 */
  readonly headersTimeoutMs: number;
  /** Until the whole request, body included, is received. @default 30_000 */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. @default 5_000 */
  readonly keepAliveTimeoutMs: number;
}

/** A setting is missing or invalid; the message says which and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((value) => value ?? fallback);

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? null : value));

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash;
  } catch {
    return false;
  }
}

const blankAsUnset = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** A comma-separated list; blank entries are dropped, and a blank list is unset. */
const list = (item: z.ZodString) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((entry) => entry.trim())
            .filter((entry) => entry !== '')
        : value,
    z.array(item).optional(),
  );

// A host name or address as it appears in a Host header, optionally with a port; a leading dot
// stands for the domain and all its subdomains.
const HOST_PATTERN = /^(?:\.?[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
// scheme://host[:port], nothing more: what browsers send in Origin.
const ORIGIN_PATTERN = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

const FLAGS = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['on', true],
  ['false', false],
  ['0', false],
  ['no', false],
  ['off', false],
]);

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); blank is unset. */
const flag = z.preprocess(
  blankAsUnset,
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((value) => FLAGS.has(value), 'must be true or false')
    .transform((value) => FLAGS.get(value) === true)
    .optional(),
);

const EnvSchema = z.object({
  NODE_ENV: z.preprocess(
    blankAsUnset,
    z
      .enum(['production', 'development', 'test'], {
        error: 'must be production, development or test (unset means development)',
      })
      .default('development'),
  ),
  PORT: int(0, 65_535, 4000),
  HOST: z.string().trim().min(1).optional().default('127.0.0.1'),
  DATA_DIR: z.string().trim().min(1).optional().default('./data'),
  DATABASE_URL: optionalText,
  REDIS_URL: optionalText.refine(
    (value) => value === null || /^rediss?:\/\//.test(value),
    'must start with redis:// or rediss://',
  ),
  REDIS_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/, 'must be 1-64 letters, digits, or _ : . -')
    .optional()
    .default('longrun:'),
  JWT_SECRET: z.string().optional(),
  JWT_PUBLIC_KEY: optionalText,
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  JWT_CLOCK_TOLERANCE_SEC: int(0, 30, 5),
  WATCH_TOKEN_SECRET: z.string().optional(),
  PUBLIC_URL: optionalText.refine(
    (value) => value === null || isHttpUrl(value),
    'must be an http:// or https:// URL without a query or fragment',
  ),
  CANCEL_GRACE_MS: int(0, 3_600_000, 10_000),
  LEASE_MS: int(100, 3_600_000, 30_000),
  SHUTDOWN_GRACE_MS: int(0, 3_600_000, 10_000),
  RETENTION_DAYS: int(1, 36_500, 30),
  LOG_PROGRESS_INTERVAL_MS: int(0, 3_600_000, 1_000),
  MAX_CONCURRENT_RUNS: int(1, 1_000, 8),
  MAX_RUNS_PER_OWNER: z.preprocess(
    blankAsUnset,
    z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).optional(),
  ),
  MAX_ACTIVE_PER_OWNER: int(0, 1_000_000, 100),
  START_RATE_PER_MINUTE: int(0, 1_000_000_000, 120),
  QUOTAS_EXEMPT_ADMINS: flag,
  MAX_BODY_BYTES: int(1_024, 100 * 1_048_576, 1_048_576),
  MAX_WS_MESSAGE_BYTES: int(1_024, 100 * 1_048_576, 65_536),
  WS_KEEPALIVE_MS: int(1_000, 3_600_000, 12_000),
  MAX_QUERY_COST: int(100, 10_000_000, 5_000),
  MAX_SOCKETS_PER_USER: z.preprocess(
    blankAsUnset,
    z
      .string()
      .trim()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(1_000_000))
      .optional(),
  ),
  MAX_SUBSCRIPTIONS_PER_USER: int(1, 1_000_000, 200),
  SSE_STALL_TIMEOUT_MS: int(100, 3_600_000, 30_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).optional().default('info'),
  GRAPHIQL: flag,
  INTROSPECTION: flag,
  INSTANCE_NAME: optionalText.refine(
    (value) => value === null || /^[\w.-]{1,64}$/.test(value),
    'must be 1-64 letters, digits, or _ . -',
  ),
  METRICS_TOKEN: optionalText.refine(
    (value) => value === null || /^[\x21-\x7e]{16,512}$/.test(value),
    'must be 16-512 printable characters without spaces',
  ),
  HTTP_HEADERS_TIMEOUT_MS: int(1_000, 120_000, 10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(1_000, 3_600_000, 30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(1_000, 600_000, 5_000),
  ALLOWED_HOSTS: list(
    z.string().regex(HOST_PATTERN, 'each entry must be a host name, name:port or .domain'),
  ),
  CORS_ORIGINS: list(
    z
      .string()
      .regex(ORIGIN_PATTERN, 'each entry must be an origin such as https://app.example.com'),
  ),
});

/** 127.0.0.0/8, ::1 or localhost: addresses only this machine can reach. */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets?.slice(1).every((octet) => Number(octet) <= 255) === true;
}

function parseDatabase(url: string | null, dataDir: string): DatabaseConfig {
  if (url === null) return { kind: 'sqlite', file: resolve(dataDir, 'longrun.sqlite') };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length).replace(/^\/\//, '') : url;
  if (path === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new ConfigError('DATABASE_URL: must be a file path, a sqlite: URL or a postgres:// URL.');
  }
  return { kind: 'sqlite', file: isAbsolute(path) ? path : resolve(path) };
}

/** Reads and validates the environment once; throws `ConfigError` naming the bad setting. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path[0] === undefined ? 'environment' : String(issue.path[0]);
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid'}.`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (e.JWT_SECRET !== undefined && e.JWT_SECRET.length < 32) {
    throw new ConfigError(
      e.JWT_SECRET === ''
        ? 'JWT_SECRET: is empty; set a secret of at least 32 characters or unset it.'
        : 'JWT_SECRET: must be at least 32 characters long.',
    );
  }
  const secret = e.JWT_SECRET ?? null;
  if (secret !== null && e.JWT_PUBLIC_KEY !== null) {
    throw new ConfigError('JWT_SECRET and JWT_PUBLIC_KEY: set one of them, not both.');
  }
  if (production && secret === null && e.JWT_PUBLIC_KEY === null) {
    throw new ConfigError(
      'Set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256) to run with NODE_ENV=production.',
    );
  }
  // Without a key the server signs a development admin token and hands it to local pages; on a
  // network interface anyone who can reach the port could take it.
  if (secret === null && e.JWT_PUBLIC_KEY === null && !isLoopbackAddress(e.HOST)) {
    throw new ConfigError(
      `HOST: ${e.HOST} is not a loopback address; without JWT_SECRET or JWT_PUBLIC_KEY longrun listens only on 127.0.0.1, ::1 or localhost.`,
    );
  }
  const watchTokenSecret = e.WATCH_TOKEN_SECRET ?? null;
  if (watchTokenSecret !== null && watchTokenSecret.length < 32) {
    throw new ConfigError('WATCH_TOKEN_SECRET: must be at least 32 characters long.');
  }
  // A key of its own: with one secret for both, only claims would tell the two kinds apart.
  if (watchTokenSecret !== null && watchTokenSecret === secret) {
    throw new ConfigError('WATCH_TOKEN_SECRET: must differ from JWT_SECRET.');
  }
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request).',
    );
  }
  const maxRunsPerOwner =
    e.MAX_RUNS_PER_OWNER ?? Math.max(1, Math.floor(e.MAX_CONCURRENT_RUNS / 2));
  if (maxRunsPerOwner < 1 || maxRunsPerOwner > e.MAX_CONCURRENT_RUNS) {
    throw new ConfigError(
      `MAX_RUNS_PER_OWNER: must be between 1 and MAX_CONCURRENT_RUNS (${e.MAX_CONCURRENT_RUNS}).`,
    );
  }
  const graphiql = e.GRAPHIQL ?? !production;
  const dataDir = resolve(e.DATA_DIR);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    environment: e.NODE_ENV,
    production,
    allowedHosts:
      e.ALLOWED_HOSTS === undefined || e.ALLOWED_HOSTS.length === 0
        ? null
        : Object.freeze(e.ALLOWED_HOSTS.map((entry) => entry.toLowerCase())),
    corsOrigins: Object.freeze((e.CORS_ORIGINS ?? []).map((origin) => new URL(origin).origin)),
    dataDir,
    database: Object.freeze(parseDatabase(e.DATABASE_URL, dataDir)),
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    jwt: Object.freeze({
      secret,
      publicKey: e.JWT_PUBLIC_KEY,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      clockToleranceSec: e.JWT_CLOCK_TOLERANCE_SEC,
    }),
    watchTokenSecret,
    publicUrl: e.PUBLIC_URL === null ? null : new URL(e.PUBLIC_URL).href,
    cancelGraceMs: e.CANCEL_GRACE_MS,
    leaseMs: e.LEASE_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    retentionDays: e.RETENTION_DAYS,
    progressLogIntervalMs: e.LOG_PROGRESS_INTERVAL_MS,
    maxConcurrentRuns: e.MAX_CONCURRENT_RUNS,
    maxRunsPerOwner,
    quotas: Object.freeze({
      maxActivePerOwner: e.MAX_ACTIVE_PER_OWNER,
      startRatePerMinute: e.START_RATE_PER_MINUTE,
      exemptAdmins: e.QUOTAS_EXEMPT_ADMINS ?? false,
    }),
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxWsMessageBytes: e.MAX_WS_MESSAGE_BYTES,
    wsKeepAliveMs: e.WS_KEEPALIVE_MS,
    maxQueryCost: e.MAX_QUERY_COST,
    // A socket without subscriptions is worth little, so the socket cap follows the
    // subscription cap: lifting one for a user with many sockets lifts both.
    maxSocketsPerUser:
      e.MAX_SOCKETS_PER_USER ?? Math.max(1, Math.floor(e.MAX_SUBSCRIPTIONS_PER_USER / 4)),
    maxSubscriptionsPerUser: e.MAX_SUBSCRIPTIONS_PER_USER,
    sseStallTimeoutMs: e.SSE_STALL_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    graphiql,
    introspection: e.INTROSPECTION ?? (!production || graphiql),
    instanceName: e.INSTANCE_NAME,
    metricsToken: e.METRICS_TOKEN,
    http: Object.freeze({
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
  });
}

/** `loadConfig` over this process's environment. */
export function loadConfigFromProcess(): Config {
  return loadConfig(process.env);
}
