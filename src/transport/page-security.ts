/** CSP directives a page may widen; every other one stays as `basePolicy` sets it. */
export type CspDirectives = Readonly<Record<string, string>>;

/** A Host header fit to appear in a CSP source (host or host:port, IPv6 in brackets). */
function sourceHost(header: string | null | undefined): string | null {
  return header && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(header)
    ? header
    : null;
}

/**
 * Same origin only, no framing, no plugins, no base or form tricks; the page talks to `/graphql`
 * over fetch and WebSocket on the same host. `widen` replaces single directives.
 */
export function contentSecurityPolicy(host: string | null | undefined, widen: CspDirectives = {}) {
  const safeHost = sourceHost(host);
  const sockets = safeHost === null ? '' : ` ws://${safeHost} wss://${safeHost}`;
  const directives: Record<string, string> = {
    'default-src': "'self'",
    'script-src': "'self'",
    'style-src': "'self'",
    'img-src': "'self' data:",
    'connect-src': `'self'${sockets}`,
    'object-src': "'none'",
    'base-uri': "'none'",
    'form-action': "'self'",
    'frame-ancestors': "'none'",
    ...widen,
  };
  return Object.entries(directives)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');
}

/** The headers every HTML page and static asset of the server carries. */
export function pageSecurityHeaders(
  host: string | null | undefined,
  widen: CspDirectives = {},
): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'content-security-policy': contentSecurityPolicy(host, widen),
    'referrer-policy': 'no-referrer',
  };
}
