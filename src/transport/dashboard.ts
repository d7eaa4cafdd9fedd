import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WATCH_PAGE_PATH } from '../operations/watch-links.js';
import { pageSecurityHeaders } from './page-security.js';

/** Where the built dashboard lives and what to tell it. */
export interface DashboardOptions {
  /** The folder `vite build` wrote (`index.html`, `watch.html`, `assets/`). */
  readonly dir: string;
  /** Injected into the page as `<meta name="longrun-dev-token">` when not null... */
  readonly devToken: string | null;
  /** ...and only for a request this accepts (a local page: `SitePolicy.isLocalPage`). */
  isLocalPage(req: IncomingMessage): boolean;
  /** Whether the build's `.map` files are served (they hold the sources); off in production. */
  readonly sourceMaps: boolean;
}

/** The static side of the HTTP edge: the dashboard page and its hashed assets. */
export interface Dashboard {
  /** True for the paths the dashboard answers: `/`, `/index.html`, `/watch` and `/assets/…`. */
  matches(pathname: string): boolean;
  /** Answers a request for a path `matches` accepted. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

const ASSETS_PREFIX = '/assets/';

/** The pages: path → the file `vite build` wrote for it. */
const PAGES: ReadonlyMap<string, string> = new Map([
  ['/', 'index.html'],
  ['/index.html', 'index.html'],
  // The watch page of watch links (its token travels in the fragment, never to this server).
  [`/${WATCH_PAGE_PATH}`, 'watch.html'],
]);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite puts a content hash in every asset name, so an asset URL never changes meaning. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>longrun: dashboard not built</title>
<h1>The dashboard has not been built</h1>
<p>Run <code>npm run build</code>, then reload this page. The API itself is up at <a href="/graphql">/graphql</a>.</p>
</html>
`;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

function baseHeaders(req: IncomingMessage): Record<string, string> {
  return pageSecurityHeaders(req.headers.host);
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  res.writeHead(status, {
    ...baseHeaders(req),
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  send(
    req,
    res,
    404,
    { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' },
    'Not found.\n',
  );
}

/**
 * The file an `/assets/…` path names inside `assetsDir`, or null when the path is malformed or
 * would leave it (`..`, encoded slashes, NUL, dot files).
 */
function assetFile(assetsDir: string, pathname: string): string | null {
  let relative: string;
  try {
    relative = decodeURIComponent(pathname.slice(ASSETS_PREFIX.length));
  } catch {
    return null;
  }
  if (relative === '' || relative.includes('\0') || relative.includes('\\')) return null;
  if (relative.split('/').some((segment) => segment === '' || segment.startsWith('.'))) return null;
  const file = resolve(assetsDir, relative);
  return file.startsWith(assetsDir + sep) ? file : null;
}

/** Serves the built dashboard from `options.dir`; a missing build answers 503 at `/`. */
export function createDashboard(options: DashboardOptions): Dashboard {
  const root = resolve(options.dir);
  const assetsDir = resolve(root, 'assets');
  const devTokenMeta =
    options.devToken === null
      ? null
      : `<meta name="longrun-dev-token" content="${escapeHtml(options.devToken)}">`;

  async function servePage(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
    let html: string;
    try {
      html = await readFile(resolve(root, file), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return send(
        req,
        res,
        503,
        { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
        NOT_BUILT,
      );
    }
    // The dashboard only: whoever holds a watch link must not get the development admin token.
    const withToken = devTokenMeta !== null && file === 'index.html' && options.isLocalPage(req);
    if (withToken) html = html.replace('</head>', `  ${devTokenMeta}\n  </head>`);
    send(
      req,
      res,
      200,
      // A page holding a token is never kept by a cache.
      {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': withToken ? 'no-store' : 'no-cache',
      },
      html,
    );
  }

  async function serveAsset(req: IncomingMessage, res: ServerResponse, pathname: string) {
    const file = assetFile(assetsDir, pathname);
    if (file === null || (!options.sourceMaps && extname(file).toLowerCase() === '.map')) {
      return notFound(req, res);
    }
    const info = await stat(file).catch(() => null);
    if (info === null || !info.isFile()) return notFound(req, res);
    res.writeHead(200, {
      ...baseHeaders(req),
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(info.size),
      'cache-control': IMMUTABLE,
    });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(createReadStream(file), res).catch((error: unknown) => {
      // A reader that went away mid-file is not the server's failure.
      if (!res.destroyed) throw error;
    });
  }

  return {
    matches: (pathname) => PAGES.has(pathname) || pathname.startsWith(ASSETS_PREFIX),

    async serve(req, res, url) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(
          req,
          res,
          405,
          { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' },
          'Method not allowed.\n',
        );
      }
      if (url.pathname.startsWith(ASSETS_PREFIX)) return serveAsset(req, res, url.pathname);
      return servePage(req, res, PAGES.get(url.pathname) ?? 'index.html');
    },
  };
}
