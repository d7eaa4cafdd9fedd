import type { Plugin } from 'graphql-yoga';
import type { Authenticator } from '../auth/authenticator.js';
import { type AuthResult, authFailure } from '../auth/jwt.js';
import type { Viewer } from '../auth/viewer.js';
import { ErrorCode } from '../schema/codes.js';

/** The query parameter a browser's `EventSource` (which sends no headers) carries a watch token in. */
export const ACCESS_TOKEN_PARAM = 'access_token';

const DEFAULT_REFUSAL = 'A valid bearer token is required.';
const URL_TOKEN_REFUSAL =
  'access_token takes a valid watch token, on a GET subscription over SSE only; user tokens are never accepted in a URL: send them in the Authorization header.';

/** True for GraphiQL's own page, which needs no token. */
export function isGraphiQLPage(request: Request): boolean {
  return request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
}

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3): `error="invalid_token"` when a token
 * was sent and refused; none when the request carried no bearer token at all (§3.1).
 */
function challengeFor(request: Request, url: URL): string {
  const sent =
    url.searchParams.has(ACCESS_TOKEN_PARAM) ||
    /^bearer(\s|$)/i.test(request.headers.get('authorization')?.trim() ?? '');
  return sent ? 'Bearer error="invalid_token"' : 'Bearer';
}

function authFailureResponse(message: string, challenge: string): Response {
  return new Response(
    JSON.stringify({ errors: [{ message, extensions: { code: ErrorCode.Unauthenticated } }] }),
    {
      status: 401,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'www-authenticate': challenge,
      },
    },
  );
}

/** The outcome for one request, with what to tell the client when it fails. */
type RequestAuth = AuthResult & { readonly message?: string };

/**
 * The `Authorization` header, or else `access_token` in the URL: only on a GET that asks for an
 * event stream, only alone, only once, and only a watch token (SEMANTICS.md, "Frontends, scripts
 * and token renewal").
 */
function authenticate(request: Request, url: URL, authenticator: Authenticator): RequestAuth {
  const inUrl = url.searchParams.getAll(ACCESS_TOKEN_PARAM);
  if (inUrl.length === 0) return authenticator.verifyBearer(request.headers.get('authorization'));
  const refuse = (reason: string): RequestAuth => ({
    ...authFailure(reason),
    message: URL_TOKEN_REFUSAL,
  });
  const token = inUrl[0];
  if (inUrl.length > 1 || token === undefined) return refuse('access_token given more than once');
  if (
    request.method !== 'GET' ||
    !(request.headers.get('accept') ?? '').includes('text/event-stream')
  ) {
    return refuse('access_token outside a GET event stream');
  }
  if (request.headers.has('authorization')) return refuse('both access_token and Authorization');
  const result = authenticator.verifyUrlToken(token);
  return result.ok ? result : refuse(result.reason);
}

/**
 * Verifies the bearer token of every HTTP and SSE request before anything is parsed, read or
 * changed: 401 with `UNAUTHENTICATED` otherwise. GraphiQL's page itself needs no token while
 * `graphiql` serves it.
 */
export function useBearerAuth(
  authenticator: Authenticator,
  viewers: WeakMap<Request, Viewer>,
  log: (reason: string) => void,
  graphiql: boolean,
): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (graphiql && isGraphiQLPage(request)) return;
      const result = authenticate(request, url, authenticator);
      if (!result.ok) {
        log(result.reason);
        endResponse(
          authFailureResponse(result.message ?? DEFAULT_REFUSAL, challengeFor(request, url)),
        );
        return;
      }
      viewers.set(request, result.viewer);
    },
  };
}
