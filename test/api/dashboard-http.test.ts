import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { createDashboard } from '../../src/transport/dashboard.js';
import { NO_SHUTDOWN_GRACE, startTestServer } from '../helpers/server.js';

/** A reply read over a raw request: the path is sent exactly as given, `..` and all. */
interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function raw(origin: string, path: string, method = 'GET'): Promise<RawReply> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const SCRIPT = 'console.log("dashboard");\n';
const SECRET = 'top secret, never served';

/** A stand-in for a Vite build: index.html, hashed assets, and files that must not leak. */
function fixtureBuild(): string {
  const parent = mkdtempSync(join(tmpdir(), 'longrun-static-'));
  const dir = join(parent, 'dashboard');
  mkdirSync(join(dir, 'assets', 'nested'), { recursive: true });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><head><title>t</title></head><body></body></html>\n',
  );
  writeFileSync(join(dir, 'assets', 'index-Ab12Cd34.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'index-Ef56Gh78.css'), 'body { color: red; }\n');
  writeFileSync(join(dir, 'assets', 'logo-Ij90.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'assets', 'nested', 'chunk-Kl12.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', '.env'), SECRET);
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  writeFileSync(join(parent, 'outside.txt'), SECRET);
  return dir;
}

const fixtures: string[] = [];
afterAll(() => {
  for (const dir of fixtures) rmSync(join(dir, '..'), { recursive: true, force: true });
});

async function serverWithFixture(env: Record<string, string | undefined> = {}) {
  const dir = fixtureBuild();
  fixtures.push(dir);
  return startTestServer({ ...NO_SHUTDOWN_GRACE, ...env }, { dashboardDir: dir });
}

describe('the dashboard over HTTP', () => {
  it('serves index.html at / with no-cache, nosniff and a same-origin CSP', async () => {
    const server = await serverWithFixture();
    for (const path of ['/', '/index.html', '/?tab=1']) {
      const reply = await raw(server.origin, path);
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(reply.headers['cache-control']).toBe('no-cache');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.body).toContain('<title>t</title>');
      const csp = String(reply.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      const host = new URL(server.origin).host;
      expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    }
  });

  it('serves hashed assets with their content type and an immutable cache', async () => {
    const server = await serverWithFixture();
    const cases = [
      ['/assets/index-Ab12Cd34.js', 'text/javascript; charset=utf-8'],
      ['/assets/index-Ef56Gh78.css', 'text/css; charset=utf-8'],
      ['/assets/logo-Ij90.svg', 'image/svg+xml'],
      ['/assets/nested/chunk-Kl12.js', 'text/javascript; charset=utf-8'],
    ] as const;
    for (const [path, type] of cases) {
      const reply = await raw(server.origin, path);
      expect(reply.status, path).toBe(200);
      expect(reply.headers['content-type'], path).toBe(type);
      expect(reply.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
      expect(reply.headers['x-content-type-options'], path).toBe('nosniff');
      expect(Number(reply.headers['content-length']), path).toBe(Buffer.byteLength(reply.body));
    }
    expect((await raw(server.origin, '/assets/index-Ab12Cd34.js')).body).toBe(SCRIPT);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const server = await serverWithFixture();
    for (const path of ['/', '/assets/index-Ab12Cd34.js']) {
      const get = await raw(server.origin, path);
      const head = await raw(server.origin, path, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers['content-length']).toBe(get.headers['content-length']);
      expect(head.headers['cache-control']).toBe(get.headers['cache-control']);
    }
  });

  it('answers 405 with Allow for other methods on static paths', async () => {
    const server = await serverWithFixture();
    for (const [method, path] of [
      ['POST', '/'],
      ['PUT', '/index.html'],
      ['DELETE', '/assets/index-Ab12Cd34.js'],
    ] as const) {
      const reply = await raw(server.origin, path, method);
      expect(reply.status, `${method} ${path}`).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
    }
  });

  it('refuses to leave the assets folder, however the path is spelled', async () => {
    const server = await serverWithFixture();
    const attempts = [
      '/assets/../secret.txt',
      '/assets/../../outside.txt',
      '/assets/..%2fsecret.txt',
      '/assets/..%2f..%2foutside.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/%2e%2e%2fsecret.txt',
      '/assets/..%5csecret.txt',
      '/assets/nested/..%2f..%2fsecret.txt',
      '/assets/%2fetc%2fpasswd',
      '/assets//etc/passwd',
      '/assets/.env',
      '/assets/index-Ab12Cd34.js%00.png',
      '/assets/%E0%A4%A',
      '/assets/',
      '/assets/nested',
      '/secret.txt',
    ];
    for (const path of attempts) {
      const reply = await raw(server.origin, path);
      expect(reply.status, path).toBe(404);
      expect(reply.body, path).not.toContain(SECRET);
    }
  });

  it('answers 503 in HTML at / while the dashboard has not been built', async () => {
    const server = await startTestServer(NO_SHUTDOWN_GRACE, {
      dashboardDir: join(tmpdir(), 'longrun-no-such-build', 'dashboard'),
    });
    const reply = await raw(server.origin, '/');
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.body).toContain('npm run build');
    const head = await raw(server.origin, '/', 'HEAD');
    expect(head.status).toBe(503);
    expect(head.body).toBe('');
    expect((await raw(server.origin, '/assets/index.js')).status).toBe(404);
    // The API is unaffected.
    expect((await raw(server.origin, '/healthz')).status).toBe(200);
  });

  it('injects the development token only when the server has one', async () => {
    const withKey = await serverWithFixture();
    expect(withKey.app.devToken).toBeNull();
    expect((await raw(withKey.origin, '/')).body).not.toContain('longrun-dev-token');

    const dev = await serverWithFixture({ JWT_SECRET: undefined });
    expect(dev.app.devToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const body = (await raw(dev.origin, '/')).body;
    expect(body).toContain(`<meta name="longrun-dev-token" content="${dev.app.devToken}">`);
    expect(body.indexOf('longrun-dev-token')).toBeLessThan(body.indexOf('</head>'));
  });

  it('leaves /graphql, /healthz, /readyz and unknown paths as they were', async () => {
    const server = await serverWithFixture();
    expect((await raw(server.origin, '/healthz')).status).toBe(200);
    expect((await raw(server.origin, '/readyz')).status).toBe(200);
    const unknown = await raw(server.origin, '/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toBe('application/json; charset=utf-8');
    const graphql = await raw(server.origin, '/graphql?query=%7B__typename%7D');
    expect(graphql.headers['content-type']).toMatch(/json/);
  });

  it('serves the real build: index.html and the assets it links', async () => {
    const server = await startTestServer(NO_SHUTDOWN_GRACE, {
      dashboardDir: inject('dashboardDir'),
    });
    const index = await raw(server.origin, '/');
    expect(index.status).toBe(200);
    const links = [...index.body.matchAll(/(?:src|href)="\.?(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(links.some((link) => link?.endsWith('.js'))).toBe(true);
    expect(links.some((link) => link?.endsWith('.css'))).toBe(true);
    for (const link of links) {
      const asset = await raw(server.origin, link ?? '');
      expect(asset.status, link).toBe(200);
      expect(asset.headers['content-type'], link).toMatch(
        link?.endsWith('.js') ? /^text\/javascript/ : /^text\/css/,
      );
    }
  });
});

describe('createDashboard', () => {
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = null;
  });

  it('HTML-escapes the injected token', async () => {
    const dir = fixtureBuild();
    fixtures.push(dir);
    const dashboard = createDashboard({
      dir,
      devToken: '"><script>alert(1)</script>&',
      isLocalPage: () => true,
      sourceMaps: true,
    });
    server = createServer((req, res) => {
      void dashboard.serve(req, res, new URL(req.url ?? '/', 'http://localhost'));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const body = (await raw(`http://127.0.0.1:${port}`, '/')).body;
    expect(body).toContain('content="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;"');
    expect(body).not.toContain('<script>alert(1)');
  });
});
