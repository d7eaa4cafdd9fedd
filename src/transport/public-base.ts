/** A Host header fit to appear in a URL: host or host:port, IPv6 in brackets. */
const HOST_SHAPE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The base URL (ending in `/`) browsers reach this server at, for the links it hands out:
 * `PUBLIC_URL` when set, else `http://` and the request's Host header, else `fallback` (the
 * address it listens on). Behind a proxy that terminates TLS or adds a path, set `PUBLIC_URL`.
 */
export function publicBase(
  publicUrl: string | null,
  host: string | null | undefined,
  fallback: () => string,
): URL {
  if (publicUrl !== null) return withSlash(new URL(publicUrl));
  if (host && HOST_SHAPE.test(host)) return new URL(`http://${host}/`);
  return withSlash(new URL(fallback()));
}

function withSlash(url: URL): URL {
  const base = new URL(url.href);
  base.search = '';
  base.hash = '';
  if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
  return base;
}
