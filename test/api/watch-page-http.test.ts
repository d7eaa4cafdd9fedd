import { request } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { NO_SHUTDOWN_GRACE, startTestServer } from '../helpers/server.js';

/** A GET (or `method`) of `path` as sent, and the reply. */
function raw(origin: string, path: string, method = 'GET') {
  const { hostname, port } = new URL(origin);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
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
    },
  );
}

const serve = (env: Record<string, string | undefined> = {}) =>
  startTestServer({ ...NO_SHUTDOWN_GRACE, ...env }, { dashboardDir: inject('dashboardDir') });

describe('the watch page over HTTP', () => {
  it('is served at /watch with the dashboard’s CSP, nosniff and no Referer, and its assets load', async () => {
    const server = await serve();
    const page = await raw(server.origin, '/watch');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const csp = String(page.headers['content-security-policy']);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(page.body).toContain('<title>longrun · watching an operation</title>');
    const links = [...page.body.matchAll(/(?:src|href)="\.?(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThanOrEqual(2);
    for (const link of links) {
      const asset = await raw(server.origin, link ?? '');
      expect(asset.status, link).toBe(200);
      expect(asset.headers['x-content-type-options'], link).toBe('nosniff');
    }
    expect((await raw(server.origin, '/watch', 'HEAD')).status).toBe(200);
    expect((await raw(server.origin, '/watch', 'POST')).status).toBe(405);
  });

  it('never carries the development token, which the dashboard page does', async () => {
    const dev = await serve({ JWT_SECRET: undefined });
    expect(dev.app.devToken).not.toBeNull();
    expect((await raw(dev.origin, '/')).body).toContain('longrun-dev-token');
    const page = await raw(dev.origin, '/watch');
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('longrun-dev-token');
    expect(page.body).not.toContain(dev.app.devToken ?? '-');
  });
});
