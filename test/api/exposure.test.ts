import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer, tokenFor } from '../helpers/server.js';

/** A reply to a request sent with exactly the given headers, `Host` included. */
interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(
  server: TestServer,
  path: string,
  headers: Record<string, string>,
  options: { method?: string; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.app.port,
        path,
        method: options.method ?? 'GET',
        headers,
        setHost: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const own = (server: TestServer, name = '127.0.0.1') => `${name}:${server.app.port}`;
const PAGE = { accept: 'text/html' };
const VIEWER = JSON.stringify({ query: '{ viewer { id } }' });

/** A dashboard build of one page, so `/` answers without running Vite. */
const dashboardDir = mkdtempSync(join(tmpdir(), 'longrun-exposure-'));
writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><html><head></head></html>\n');
afterAll(() => rmSync(dashboardDir, { recursive: true, force: true }));

/** Development mode with no key: the server signs a development admin token. */
const devServer = (env: Record<string, string | undefined> = {}) =>
  startTestServer({ JWT_SECRET: undefined, ...env }, { dashboardDir });

/** The two pages that may carry the development token: the dashboard and GraphiQL. */
async function pages(server: TestServer, headers: Record<string, string>) {
  return [
    await send(server, '/', headers),
    await send(server, '/graphql', { ...PAGE, ...headers }),
  ];
}

const sockets = new Set<WebSocket>();
afterEach(() => {
  for (const socket of sockets) socket.terminate();
  sockets.clear();
});

/** The HTTP status of a WebSocket handshake sent with `headers` (101 when it upgraded). */
function handshake(server: TestServer, headers: Record<string, string>): Promise<number> {
  const socket = new WebSocket(
    `ws://127.0.0.1:${server.app.port}/graphql`,
    'graphql-transport-ws',
    {
      headers,
    },
  );
  sockets.add(socket);
  return new Promise((resolve, reject) => {
    socket.once('upgrade', () => resolve(101));
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', reject);
  });
}

describe('the development token', () => {
  it('is on the dashboard and in GraphiQL for a loopback Host with the server port and no foreign Origin', async () => {
    const server = await devServer();
    const token = server.app.devToken;
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const requests: Record<string, string>[] = [
      { host: own(server) },
      { host: own(server, 'localhost') },
      { host: own(server, '[::1]') },
      { host: own(server), origin: `http://${own(server)}` },
    ];
    for (const headers of requests) {
      for (const page of await pages(server, headers)) {
        expect(page.status, JSON.stringify(headers)).toBe(200);
        expect(page.body.includes(String(token)), JSON.stringify(headers)).toBe(true);
        expect(page.headers['cache-control']).toBe('no-store');
      }
    }
  });

  it('is left out of the pages a foreign Origin asks for', async () => {
    const server = await devServer();
    for (const origin of ['http://evil.example', 'null', `https://${own(server)}.evil.example`]) {
      for (const page of await pages(server, { host: own(server), origin })) {
        expect(page.status).toBe(200);
        expect(page.body.includes(String(server.app.devToken)), origin).toBe(false);
        expect(page.headers['access-control-allow-origin']).toBeUndefined();
      }
    }
  });

  it('is never served to another Host: in development every other name is refused (DNS rebinding)', async () => {
    const server = await devServer();
    const token = String(server.app.devToken);
    for (const host of [
      `evil.example:${server.app.port}`,
      `127.0.0.1.nip.io:${server.app.port}`,
      `127.0.0.1:${server.app.port + 1}`,
      '127.0.0.1',
    ]) {
      for (const page of await pages(server, { host })) {
        expect(page.status, host).toBe(421);
        expect(page.body.includes(token)).toBe(false);
        expect(page.body.includes('ALLOWED_HOSTS')).toBe(true);
      }
      const api = await send(
        server,
        '/graphql',
        { host, 'content-type': 'application/json', authorization: `Bearer ${token}` },
        { method: 'POST', body: VIEWER },
      );
      expect(api.status).toBe(421);
      expect(api.body).not.toContain('developer');
      expect(await handshake(server, { host })).toBe(421);
    }
    // Probes answer any name: load balancers address instances by IP.
    expect((await send(server, '/healthz', { host: 'evil.example' })).status).toBe(200);
    expect((await send(server, '/readyz', { host: 'evil.example' })).status).toBe(200);
  });
});

describe('CORS', () => {
  it('gives other origins no CORS headers at all: no reflection, no credentials', async () => {
    const server = await startTestServer();
    const origin = 'http://evil.example';
    const preflight = await send(
      server,
      '/graphql',
      {
        host: own(server),
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
      { method: 'OPTIONS' },
    );
    const post = await send(
      server,
      '/graphql',
      {
        host: own(server),
        origin,
        'content-type': 'application/json',
        authorization: `Bearer ${tokenFor('alice')}`,
      },
      { method: 'POST', body: VIEWER },
    );
    expect(post.status).toBe(200);
    for (const reply of [preflight, post]) {
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
      expect(reply.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('admits exactly the origins in CORS_ORIGINS, without credentials', async () => {
    const server = await startTestServer({
      CORS_ORIGINS: 'https://app.example.com, https://admin.example.com',
    });
    const preflight = (origin: string) =>
      send(
        server,
        '/graphql',
        {
          host: own(server),
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
        { method: 'OPTIONS' },
      );
    for (const origin of ['https://app.example.com', 'https://admin.example.com']) {
      const reply = await preflight(origin);
      expect(reply.headers['access-control-allow-origin']).toBe(origin);
      expect(reply.headers['access-control-allow-methods']).toBe('GET, POST');
      expect(reply.headers['access-control-allow-credentials']).toBeUndefined();
      expect(reply.headers.vary).toMatch(/Origin/);
    }
    for (const origin of ['https://evil.example', 'http://app.example.com', 'null']) {
      const allowed = (await preflight(origin)).headers['access-control-allow-origin'];
      expect([undefined, 'null']).toContain(allowed);
    }
  });

  it('lets a WebSocket in from no Origin, its own, or CORS_ORIGINS, and refuses other sites', async () => {
    const server = await startTestServer({ CORS_ORIGINS: 'https://app.example.com' });
    expect(await handshake(server, {})).toBe(101);
    expect(await handshake(server, { origin: `http://${own(server)}` })).toBe(101);
    expect(await handshake(server, { origin: 'https://app.example.com' })).toBe(101);
    expect(await handshake(server, { origin: 'http://evil.example' })).toBe(403);
  });
});

describe('ALLOWED_HOSTS in production', () => {
  const production = { NODE_ENV: 'production' };
  const viewer = (server: TestServer, host: string) =>
    send(
      server,
      '/graphql',
      { host, 'content-type': 'application/json', authorization: `Bearer ${tokenFor('alice')}` },
      { method: 'POST', body: VIEWER },
    );

  it('answers any Host while unset', async () => {
    const server = await startTestServer(production);
    expect((await viewer(server, 'api.example.com')).status).toBe(200);
    expect((await viewer(server, own(server))).status).toBe(200);
  });

  it('answers only the listed names (a leading dot admits subdomains) when set', async () => {
    const server = await startTestServer({
      ...production,
      ALLOWED_HOSTS: 'api.example.com,.example.org',
    });
    for (const host of [
      'api.example.com',
      'API.example.com:443',
      'example.org',
      'a.b.example.org',
    ]) {
      expect((await viewer(server, host)).status, host).toBe(200);
    }
    for (const host of [
      'evil.example',
      'api.example.com.evil.example',
      'badexample.org',
      own(server),
    ]) {
      expect((await viewer(server, host)).status, host).toBe(421);
      expect(await handshake(server, { host })).toBe(421);
    }
    expect((await send(server, '/healthz', { host: 'evil.example' })).status).toBe(200);
  });
});

describe('GraphiQL', () => {
  it('keeps no header in storage, and its CSP pins its one inline script and forbids framing', async () => {
    const server = await devServer();
    const page = await send(server, '/graphql', { ...PAGE, host: own(server) });
    expect(page.status).toBe(200);
    expect(page.body.includes('"shouldPersistHeaders":false')).toBe(true);
    const scripts = [...page.body.matchAll(/<script>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256')
      .update(scripts[0]?.[1] ?? '')
      .digest('base64');
    const csp = String(page.headers['content-security-policy']);
    const directive = (name: string) =>
      csp
        .split(';')
        .map((part) => part.trim())
        .find((part) => part.startsWith(`${name} `));
    expect(directive('script-src')).toBe(`script-src 'sha256-${hash}'`);
    expect(directive('frame-ancestors')).toBe("frame-ancestors 'none'");
    expect(directive('object-src')).toBe("object-src 'none'");
    expect(directive('default-src')).toBe("default-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });
});
