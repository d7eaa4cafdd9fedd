import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackAddress } from '../config.js';
import type { AppMetrics } from '../metrics/metrics.js';

/** Who may read `/metrics`. */
export interface MetricsAccess {
  /** `METRICS_TOKEN`: scrapers send `Authorization: Bearer <token>`; null when unset. */
  readonly token: string | null;
  readonly production: boolean;
}

/** Why a scrape is refused, or null to serve it. */
type Refusal = { status: number; error: string; headers?: Record<string, string> } | null;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The peer address as Node reports it, IPv4-mapped IPv6 unwrapped. */
function peerIsLoopback(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? '';
  return isLoopbackAddress(address.replace(/^::ffff:/i, ''));
}

/**
 * `/metrics` in the Prometheus text format. With `METRICS_TOKEN` set, only a request carrying it
 * as a bearer token (compared in constant time) is served, whatever its Host or address. Unset,
 * production serves nothing (behind a proxy on the same machine every client looks local), and
 * development serves only clients on this machine asking for a Host the site policy allows.
 */
export function createMetricsEndpoint(metrics: AppMetrics, access: MetricsAccess) {
  const expected = access.token === null ? null : digest(access.token);

  function refusal(req: IncomingMessage, allowsHost: boolean): Refusal {
    if (expected !== null) {
      const match = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '');
      // Digests of equal length, so the comparison takes the same time whatever was sent.
      if (match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected)) return null;
      return {
        status: 401,
        error: 'A valid METRICS_TOKEN bearer token is required.',
        headers: { 'www-authenticate': 'Bearer realm="metrics"' },
      };
    }
    if (access.production) {
      return { status: 404, error: 'Not found. Set METRICS_TOKEN to serve /metrics.' };
    }
    if (!allowsHost || !peerIsLoopback(req)) {
      return {
        status: 403,
        error: 'Without METRICS_TOKEN, /metrics is served only to this machine.',
      };
    }
    return null;
  }

  return {
    /** Answers a request for `/metrics`; `allowsHost` is the site policy's verdict on its Host. */
    async serve(req: IncomingMessage, res: ServerResponse, allowsHost: boolean): Promise<void> {
      const refused = refusal(req, allowsHost);
      if (refused !== null) {
        const body = JSON.stringify({ error: refused.error });
        res.writeHead(refused.status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          ...refused.headers,
        });
        res.end(body);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
        res.end();
        return;
      }
      const text = await metrics.text();
      res.writeHead(200, {
        'content-type': metrics.contentType,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
  };
}

/** The `/metrics` endpoint of one app (see `createMetricsEndpoint`). */
export type MetricsEndpoint = ReturnType<typeof createMetricsEndpoint>;
