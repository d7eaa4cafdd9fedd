import { isLoopbackAddress } from '../config.js';

/** The request headers the policy reads. */
export interface SiteHeaders {
  readonly host?: string | null | undefined;
  readonly origin?: string | null | undefined;
}

/** Which `Host` names the server answers, and which pages may carry the development token. */
export interface SitePolicy {
  /**
   * Whether a request naming `host` is served at all. Outside production only loopback names
   * with the server's own port are (a DNS-rebinding name is refused), plus `ALLOWED_HOSTS`; in
   * production `ALLOWED_HOSTS` when set, else any.
   */
  allowsHost(host: string | null | undefined): boolean;
  /**
   * True when a page may carry the development token: its `Host` is a loopback name with the
   * server's own port and it carries no `Origin` but its own.
   */
  isLocalPage(headers: SiteHeaders): boolean;
  /** Whether the WebSocket handshake's `Origin` is absent, the server's own, or in `CORS_ORIGINS`. */
  allowsSocketOrigin(headers: SiteHeaders): boolean;
}

/** What the policy is made of. */
export interface SitePolicyOptions {
  readonly production: boolean;
  /** `ALLOWED_HOSTS`, lower-cased; null when unset. */
  readonly allowedHosts: readonly string[] | null;
  /** `CORS_ORIGINS`, normalised by `URL`. */
  readonly corsOrigins: readonly string[];
  /** The port the server listens on, once it does. */
  port(): number | null;
}

const HOST_HEADER = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i;

/** `name` and port of a Host header (80 when absent), or null when it is not a plain host. */
function parseHost(host: string | null | undefined): { name: string; port: number } | null {
  const match = host ? HOST_HEADER.exec(host) : null;
  if (!match?.[1]) return null;
  return { name: match[1].toLowerCase(), port: match[2] === undefined ? 80 : Number(match[2]) };
}

/** Browsers resolve `localhost` and every `*.localhost` name to loopback themselves (RFC 6761). */
function isLoopbackName(name: string): boolean {
  return isLoopbackAddress(name) || name.endsWith('.localhost');
}

function matchesEntry(host: { name: string; port: number }, entry: string): boolean {
  const parsed = parseHost(entry.startsWith('.') ? entry.slice(1) : entry);
  if (parsed === null) return false;
  if (/:\d+$/.test(entry) && parsed.port !== host.port) return false;
  return entry.startsWith('.')
    ? host.name === parsed.name || host.name.endsWith(`.${parsed.name}`)
    : host.name === parsed.name;
}

/** The policy for one server. */
export function createSitePolicy(options: SitePolicyOptions): SitePolicy {
  const isLocalHost = (host: string | null | undefined) => {
    const parsed = parseHost(host);
    return parsed !== null && isLoopbackName(parsed.name) && parsed.port === options.port();
  };
  const sameOrigin = (headers: SiteHeaders) => {
    if (!headers.origin || !headers.host) return false;
    try {
      const origin = new URL(headers.origin);
      return /^https?:$/.test(origin.protocol) && origin.host === headers.host.toLowerCase();
    } catch {
      return false; // `Origin: null` and other opaque origins are foreign
    }
  };

  return {
    allowsHost(host) {
      if (!options.production && isLocalHost(host)) return true;
      if (options.allowedHosts === null) return options.production;
      const parsed = parseHost(host);
      return parsed !== null && options.allowedHosts.some((entry) => matchesEntry(parsed, entry));
    },
    isLocalPage: (headers) => isLocalHost(headers.host) && (!headers.origin || sameOrigin(headers)),
    allowsSocketOrigin: (headers) =>
      !headers.origin ||
      sameOrigin(headers) ||
      options.corsOrigins.includes(headers.origin.toLowerCase()),
  };
}
