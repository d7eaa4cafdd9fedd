import {
  AuthFailureKind,
  type AuthResult,
  authFailure,
  parseBearer,
  type Verifier,
} from './jwt.js';
import { WATCH_TOKEN_TYPE, type WatchTokens } from './watch-token.js';

/** Checks both kinds of token: user tokens (the configured key) and watch tokens (their own). */
export interface Authenticator {
  /** A bare token of either kind. */
  verify(token: string): AuthResult;
  /** An `Authorization` value of exactly `Bearer <token>`, of either kind. */
  verifyBearer(header: string | null | undefined): AuthResult;
  /**
   * A token sent in a URL (`access_token`): a watch token only. A user token is refused even when
   * valid, since URLs end up in histories, proxy logs and Referer headers.
   */
  verifyUrlToken(token: string): AuthResult;
}

/**
 * The `typ` header of a compact token, or null when it has none or is not a JWS. Only the header
 * segment is decoded: this runs on every request, before the verifiers' caches.
 */
function tokenType(token: string): string | null {
  const end = token.indexOf('.');
  if (end <= 0) return null;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const typ = typeof header === 'object' && header !== null ? Reflect.get(header, 'typ') : null;
  return typeof typ === 'string' ? typ : null;
}

/**
 * Dispatches on the token's `typ` header, then verifies with that kind's key alone: the header is
 * only a routing hint, since each verifier checks the type again and a forged header fails the
 * other key's signature.
 */
export function createAuthenticator(users: Verifier, watch: WatchTokens): Authenticator {
  const verify = (token: string): AuthResult =>
    tokenType(token) === WATCH_TOKEN_TYPE ? watch.verify(token) : users.verify(token);
  return {
    verify,
    verifyBearer(header) {
      if (header === null || header === undefined || header === '') {
        return authFailure('no authorization header', AuthFailureKind.Missing);
      }
      const token = parseBearer(header);
      return token === null
        ? authFailure('authorization is not "Bearer <token>"', AuthFailureKind.Malformed)
        : verify(token);
    },
    verifyUrlToken(token) {
      // Refused before any check: whether a user token in a URL is valid is nobody's business.
      return tokenType(token) === WATCH_TOKEN_TYPE
        ? watch.verify(token)
        : authFailure('a token other than a watch token was sent in a URL');
    },
  };
}
