import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { pageSecurityHeaders } from './page-security.js';
import type { SitePolicy } from './site-policy.js';

/** GraphiQL at `/graphql` for browsers: its settings, its page, and the headers of that page. */
export interface GraphiQLPage {
  /** Whether a browser asking `/graphql` for HTML gets GraphiQL. */
  readonly enabled: boolean;
  /** yoga's `graphiql` option: this request's settings, or false while GraphiQL is off. */
  options(request: Request): GraphiQLOptions | false;
  /** yoga's `renderGraphiQL`: the page, rendered once per distinct settings. */
  render(options: GraphiQLOptions): Promise<string>;
  /** Sends the page with a CSP that admits exactly its own inline script, and no framing. */
  readonly plugin: Plugin;
}

/** What the page is built from. */
export interface GraphiQLPageOptions {
  /** False serves no page (the request then needs a token like any other). */
  readonly enabled: boolean;
  /** The documents the editor opens with. */
  readonly examples: string;
  /** Pre-filled into the headers editor of local pages (development only). */
  readonly devToken: string | null;
  readonly site: SitePolicy;
}

const INLINE_SCRIPT = /<script>([\s\S]*?)<\/script>/g;

interface Rendered {
  readonly html: string;
  /** CSP directives this page needs beyond the dashboard's. */
  readonly widen: Readonly<Record<string, string>>;
}

/**
 * The page yoga renders inlines GraphiQL, Monaco's workers (started from `blob:` URLs) and its
 * settings in one `<script>`; the CSP admits that script by its hash. Monaco and React set
 * styles at run time, which only `'unsafe-inline'` admits for styles; scripts stay pinned.
 */
async function renderPage(options: GraphiQLOptions): Promise<Rendered> {
  // Loaded on the first page asked for: its 18 MB of inlined editor source would otherwise stay in
  // the server's memory from the start, and GraphiQL is off by default in production.
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  const html = renderGraphiQL(options);
  const hashes = [...html.matchAll(INLINE_SCRIPT)].map(
    (match) =>
      `'sha256-${createHash('sha256')
        .update(match[1] ?? '')
        .digest('base64')}'`,
  );
  return {
    html,
    widen: {
      'script-src': hashes.join(' ') || "'none'",
      'style-src': "'self' 'unsafe-inline'",
      'font-src': "'self' data:",
      'worker-src': 'blob:',
    },
  };
}

/** GraphiQL with the examples, the development token for local pages only, and no stored headers. */
export function createGraphiQLPage(options: GraphiQLPageOptions): GraphiQLPage {
  const pages = new Map<string, Promise<Rendered>>();
  const pageFor = (settings: GraphiQLOptions): Promise<Rendered> => {
    const key = JSON.stringify(settings);
    let page = pages.get(key);
    if (page === undefined) {
      page = renderPage(settings);
      pages.set(key, page);
      // A failed render is tried again by the next request.
      page.catch(() => pages.delete(key));
    }
    return page;
  };
  const served = new WeakMap<Request, Promise<Rendered>>();

  return {
    enabled: options.enabled,
    options(request) {
      if (!options.enabled) return false;
      const local =
        options.devToken !== null &&
        options.site.isLocalPage({
          host: request.headers.get('host'),
          origin: request.headers.get('origin'),
        });
      const settings: GraphiQLOptions = {
        title: 'longrun',
        subscriptionsProtocol: 'SSE',
        defaultQuery: options.examples,
        // GraphiQL would otherwise keep the Authorization header in localStorage, where every
        // script of the origin, and the next user of the browser profile, could read it.
        shouldPersistHeaders: false,
        headers: JSON.stringify(
          local ? { Authorization: `Bearer ${options.devToken}` } : {},
          null,
          2,
        ),
      };
      served.set(request, pageFor(settings));
      return settings;
    },
    render: async (settings) => (await pageFor(settings)).html,
    plugin: {
      async onResponse({ request, response }) {
        const rendering = served.get(request);
        if (rendering === undefined) return;
        const page = await rendering;
        const headers = pageSecurityHeaders(request.headers.get('host'), page.widen);
        for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
        response.headers.set('cache-control', 'no-store');
      },
    },
  };
}
