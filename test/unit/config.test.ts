import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const SECRET = 's'.repeat(32);
const WATCH_SECRET = 'w'.repeat(32);
const PUBLIC_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 4000,
      host: '127.0.0.1',
      environment: 'development',
      production: false,
      allowedHosts: null,
      corsOrigins: [],
      dataDir: resolve('data'),
      database: { kind: 'sqlite', file: resolve('data', 'longrun.sqlite') },
      redisUrl: null,
      redisPrefix: 'longrun:',
      jwt: { secret: null, publicKey: null, issuer: null, audience: null, clockToleranceSec: 5 },
      watchTokenSecret: null,
      publicUrl: null,
      cancelGraceMs: 10_000,
      leaseMs: 30_000,
      shutdownGraceMs: 10_000,
      retentionDays: 30,
      progressLogIntervalMs: 1_000,
      maxConcurrentRuns: 8,
      maxRunsPerOwner: 4,
      quotas: { maxActivePerOwner: 100, startRatePerMinute: 120, exemptAdmins: false },
      maxBodyBytes: 1_048_576,
      maxWsMessageBytes: 65_536,
      wsKeepAliveMs: 12_000,
      maxQueryCost: 5_000,
      maxSocketsPerUser: 50,
      maxSubscriptionsPerUser: 200,
      sseStallTimeoutMs: 30_000,
      logLevel: 'info',
      graphiql: true,
      introspection: true,
      instanceName: null,
      metricsToken: null,
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 },
    });
  });

  it('reads every setting it documents', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      DATA_DIR: '/tmp/longrun-data',
      REDIS_URL: 'redis://localhost:6379',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'https://issuer.test',
      JWT_AUDIENCE: 'longrun',
      JWT_CLOCK_TOLERANCE_SEC: '0',
      WATCH_TOKEN_SECRET: WATCH_SECRET,
      PUBLIC_URL: 'https://ops.example.com/longrun/',
      CANCEL_GRACE_MS: '500',
      LEASE_MS: '1000',
      SHUTDOWN_GRACE_MS: '2000',
      RETENTION_DAYS: '7',
      LOG_PROGRESS_INTERVAL_MS: '0',
      MAX_CONCURRENT_RUNS: '2',
      MAX_QUERY_COST: '20000',
      MAX_SOCKETS_PER_USER: '3',
      MAX_SUBSCRIPTIONS_PER_USER: '1000000',
      WS_KEEPALIVE_MS: '30000',
      SSE_STALL_TIMEOUT_MS: '5000',
      MAX_RUNS_PER_OWNER: '2',
      MAX_ACTIVE_PER_OWNER: '0',
      START_RATE_PER_MINUTE: '600',
      QUOTAS_EXEMPT_ADMINS: 'true',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      dataDir: '/tmp/longrun-data',
      database: { kind: 'sqlite', file: '/tmp/longrun-data/longrun.sqlite' },
      redisUrl: 'redis://localhost:6379',
      jwt: {
        secret: SECRET,
        issuer: 'https://issuer.test',
        audience: 'longrun',
        clockToleranceSec: 0,
      },
      watchTokenSecret: WATCH_SECRET,
      publicUrl: 'https://ops.example.com/longrun/',
      cancelGraceMs: 500,
      leaseMs: 1000,
      shutdownGraceMs: 2000,
      retentionDays: 7,
      progressLogIntervalMs: 0,
      maxConcurrentRuns: 2,
      maxRunsPerOwner: 2,
      quotas: { maxActivePerOwner: 0, startRatePerMinute: 600, exemptAdmins: true },
      maxQueryCost: 20_000,
      maxSocketsPerUser: 3,
      maxSubscriptionsPerUser: 1_000_000,
      wsKeepAliveMs: 30_000,
      sseStallTimeoutMs: 5_000,
      logLevel: 'debug',
    });
  });

  it('returns a frozen object, nested parts included', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jwt)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', ''],
    ['LEASE_MS', '0'],
    ['LEASE_MS', 'soon'],
    ['LEASE_MS', '3600001'],
    ['MAX_CONCURRENT_RUNS', '0'],
    ['MAX_RUNS_PER_OWNER', '0'],
    ['MAX_RUNS_PER_OWNER', '9'],
    ['MAX_RUNS_PER_OWNER', 'half'],
    ['MAX_SOCKETS_PER_USER', '0'],
    ['MAX_SOCKETS_PER_USER', 'many'],
    ['MAX_ACTIVE_PER_OWNER', '-1'],
    ['START_RATE_PER_MINUTE', 'many'],
    ['QUOTAS_EXEMPT_ADMINS', 'maybe'],
    ['WS_KEEPALIVE_MS', '999'],
    ['MAX_QUERY_COST', '99'],
    ['MAX_QUERY_COST', 'lots'],
    ['JWT_CLOCK_TOLERANCE_SEC', '31'],
    ['LOG_LEVEL', 'verbose'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['PUBLIC_URL', 'ops.example.com'],
    ['PUBLIC_URL', 'ftp://ops.example.com/'],
    ['PUBLIC_URL', 'https://ops.example.com/?a=1'],
    ['PUBLIC_URL', 'https://ops.example.com/#top'],
    ['WATCH_TOKEN_SECRET', ''],
    ['WATCH_TOKEN_SECRET', 'short'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'sqlite:'],
    ['DATABASE_URL', 'sqlite:mysql://x'],
  ])('rejects %s=%j with a ConfigError naming it', (name, value) => {
    expect(configError({ [name]: value }).message).toMatch(new RegExp(`^${name}\\b`));
  });

  it('takes NODE_ENV production, development or test; unset or blank means development', () => {
    expect(loadConfig({}).environment).toBe('development');
    expect(loadConfig({ NODE_ENV: ' ' }).environment).toBe('development');
    expect(loadConfig({ NODE_ENV: 'test' })).toMatchObject({
      environment: 'test',
      production: false,
    });
    expect(
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, WATCH_TOKEN_SECRET: WATCH_SECRET })
        .environment,
    ).toBe('production');
    for (const typo of ['prod', 'Production', 'dev', 'staging', 'production ']) {
      expect(configError({ NODE_ENV: typo, JWT_SECRET: SECRET }).message).toMatch(
        /^NODE_ENV: must be production, development or test/,
      );
    }
  });

  it('refuses a non-loopback HOST while no key is set, naming HOST', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'example.com', '128.0.0.1']) {
      expect(configError({ HOST: host }).message).toMatch(/^HOST: /);
      expect(loadConfig({ HOST: host, JWT_SECRET: SECRET }).host).toBe(host);
    }
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', 'localhost', 'LOCALHOST']) {
      expect(loadConfig({ HOST: host }).host).toBe(host);
    }
  });

  it('reads ALLOWED_HOSTS and CORS_ORIGINS as comma-separated lists', () => {
    const config = loadConfig({
      ALLOWED_HOSTS: ' API.example.com , .example.org,internal:8080,',
      CORS_ORIGINS: 'https://App.example.com, http://localhost:5173 ,https://x.example.com:443',
    });
    expect(config.allowedHosts).toEqual(['api.example.com', '.example.org', 'internal:8080']);
    expect(config.corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
      'https://x.example.com',
    ]);
    expect(loadConfig({ ALLOWED_HOSTS: ' , ' }).allowedHosts).toBeNull();
    for (const bad of ['http://api.example.com', 'a b', 'host/path', '*']) {
      expect(configError({ ALLOWED_HOSTS: bad }).message).toMatch(/^ALLOWED_HOSTS: /);
    }
    for (const bad of ['*', 'app.example.com', 'https://app.example.com/', 'ftp://x', 'null']) {
      expect(configError({ CORS_ORIGINS: bad }).message).toMatch(/^CORS_ORIGINS: /);
    }
  });

  it('turns GraphiQL and introspection off in production unless GRAPHIQL or INTROSPECTION says so', () => {
    const prod = { NODE_ENV: 'production', JWT_SECRET: SECRET, WATCH_TOKEN_SECRET: WATCH_SECRET };
    expect(loadConfig(prod)).toMatchObject({ graphiql: false, introspection: false });
    expect(loadConfig({ ...prod, GRAPHIQL: 'true' })).toMatchObject({
      graphiql: true,
      introspection: true,
    });
    expect(loadConfig({ ...prod, GRAPHIQL: '1', INTROSPECTION: 'off' })).toMatchObject({
      graphiql: true,
      introspection: false,
    });
    expect(loadConfig({ ...prod, INTROSPECTION: 'YES' })).toMatchObject({
      graphiql: false,
      introspection: true,
    });
    expect(loadConfig({ GRAPHIQL: 'false' })).toMatchObject({
      graphiql: false,
      introspection: true,
    });
    expect(configError({ GRAPHIQL: 'maybe' }).message).toMatch(/^GRAPHIQL: must be true or false/);
    expect(configError({ INTROSPECTION: '2' }).message).toMatch(/^INTROSPECTION: /);
  });

  it('reads METRICS_TOKEN and refuses a short or spaced one', () => {
    expect(loadConfig({ METRICS_TOKEN: 'scrape-0123456789abcdef' }).metricsToken).toBe(
      'scrape-0123456789abcdef',
    );
    expect(loadConfig({ METRICS_TOKEN: '  ' }).metricsToken).toBeNull();
    expect(configError({ METRICS_TOKEN: 'short' }).message).toMatch(/^METRICS_TOKEN: must be 16/);
    expect(configError({ METRICS_TOKEN: 'has a space in it, sadly' }).message).toMatch(
      /^METRICS_TOKEN: /,
    );
  });

  it('reads INSTANCE_NAME and the HTTP timeouts', () => {
    expect(
      loadConfig({
        INSTANCE_NAME: 'api-1.eu',
        HTTP_HEADERS_TIMEOUT_MS: '2000',
        HTTP_REQUEST_TIMEOUT_MS: '60000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
      }),
    ).toMatchObject({
      instanceName: 'api-1.eu',
      http: { headersTimeoutMs: 2_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 65_000 },
    });
    expect(configError({ INSTANCE_NAME: 'my host' }).message).toMatch(/^INSTANCE_NAME: /);
    expect(configError({ HTTP_HEADERS_TIMEOUT_MS: '500' }).message).toMatch(
      /^HTTP_HEADERS_TIMEOUT_MS: /,
    );
    expect(
      configError({ HTTP_HEADERS_TIMEOUT_MS: '40000', HTTP_REQUEST_TIMEOUT_MS: '30000' }).message,
    ).toMatch(/^HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('takes quotas as large as a load test lifts them to', () => {
    const lifted = loadConfig({
      JWT_SECRET: SECRET,
      MAX_ACTIVE_PER_OWNER: '1000000',
      START_RATE_PER_MINUTE: '100000000',
    });
    expect(lifted.quotas).toMatchObject({
      maxActivePerOwner: 1_000_000,
      startRatePerMinute: 100_000_000,
    });
  });

  it('lifts the socket cap with the subscription cap unless MAX_SOCKETS_PER_USER is set', () => {
    const lifted = loadConfig({ JWT_SECRET: SECRET, MAX_SUBSCRIPTIONS_PER_USER: '1000000' });
    expect(lifted).toMatchObject({
      maxSubscriptionsPerUser: 1_000_000,
      maxSocketsPerUser: 250_000,
    });
    expect(loadConfig({ JWT_SECRET: SECRET, MAX_SUBSCRIPTIONS_PER_USER: '2' })).toMatchObject({
      maxSocketsPerUser: 1,
    });
    const own = loadConfig({
      JWT_SECRET: SECRET,
      MAX_SUBSCRIPTIONS_PER_USER: '1000000',
      MAX_SOCKETS_PER_USER: '7',
    });
    expect(own.maxSocketsPerUser).toBe(7);
  });

  it('refuses production without a key', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.message).toMatch(/JWT_SECRET/);
    expect(error.message).toMatch(/JWT_PUBLIC_KEY/);
    const production = { NODE_ENV: 'production', WATCH_TOKEN_SECRET: WATCH_SECRET };
    expect(loadConfig({ ...production, JWT_SECRET: SECRET }).production).toBe(true);
    expect(loadConfig({ ...production, JWT_PUBLIC_KEY: PUBLIC_PEM }).jwt.publicKey).toBe(
      PUBLIC_PEM,
    );
  });

  it('runs production without WATCH_TOKEN_SECRET with no watch token key (watch links off)', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).watchTokenSecret).toBeNull();
    expect(
      loadConfig({ NODE_ENV: 'production', JWT_PUBLIC_KEY: PUBLIC_PEM }).watchTokenSecret,
    ).toBeNull();
    // Outside production a development key is made in DATA_DIR instead.
    expect(loadConfig({ JWT_SECRET: SECRET }).watchTokenSecret).toBeNull();
  });

  it('refuses a WATCH_TOKEN_SECRET equal to JWT_SECRET: each kind of token has its own key', () => {
    expect(configError({ JWT_SECRET: SECRET, WATCH_TOKEN_SECRET: SECRET }).message).toMatch(
      /^WATCH_TOKEN_SECRET: must differ from JWT_SECRET/,
    );
  });

  it('refuses an empty or short JWT_SECRET, even outside production', () => {
    expect(configError({ JWT_SECRET: '' }).message).toMatch(/^JWT_SECRET: is empty/);
    expect(configError({ JWT_SECRET: 'short' }).message).toMatch(/^JWT_SECRET: .*32/);
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: '' }).message).toMatch(/^JWT_SECRET/);
  });

  it('refuses JWT_SECRET and JWT_PUBLIC_KEY together', () => {
    expect(configError({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: PUBLIC_PEM }).message).toMatch(
      /JWT_SECRET and JWT_PUBLIC_KEY/,
    );
  });

  it('treats blank optional settings as unset', () => {
    const config = loadConfig({
      JWT_ISSUER: '',
      JWT_AUDIENCE: ' ',
      REDIS_URL: '',
      DATABASE_URL: '',
    });
    expect(config.jwt.issuer).toBeNull();
    expect(config.jwt.audience).toBeNull();
    expect(config.redisUrl).toBeNull();
    expect(config.database.kind).toBe('sqlite');
  });

  describe('DATABASE_URL', () => {
    it.each([
      ['sqlite:./tmp/a.db', resolve('tmp/a.db')],
      ['sqlite:/var/lib/longrun.db', '/var/lib/longrun.db'],
      ['sqlite:///var/lib/longrun.db', '/var/lib/longrun.db'],
      ['sqlite://relative.db', resolve('relative.db')],
      ['./tmp/b.sqlite', resolve('tmp/b.sqlite')],
      ['/abs/c.sqlite', '/abs/c.sqlite'],
      ['plain.db', resolve('plain.db')],
    ])('%s is the SQLite file %s', (url, file) => {
      expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ kind: 'sqlite', file });
    });

    it.each(['postgres://user:pw@localhost:5432/longrun', 'postgresql://localhost/longrun'])(
      '%s is PostgreSQL',
      (url) => {
        expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ kind: 'postgres', url });
      },
    );
  });
});
