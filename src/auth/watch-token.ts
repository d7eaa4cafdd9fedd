import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt, { type Jwt } from 'jsonwebtoken';
import { WatchLinksDisabledError } from '../operations/errors.js';
import { AuthFailureKind, type AuthResult, authFailure } from './jwt.js';

/**
 * The JOSE `typ` header of a watch token (explicit typing, RFC 8725 §3.11). The user-token
 * verifier refuses it and this one requires it, so neither kind passes as the other even if both
 * keys were one.
 */
export const WATCH_TOKEN_TYPE = 'longrun-watch+jwt';

/** The `aud` of every watch token; checked with the type, whatever `JWT_AUDIENCE` says. */
export const WATCH_TOKEN_AUDIENCE = 'longrun:watch';

/** Longest `sub` and operation id a watch token may carry (as for user tokens, OIDC's 255). */
const MAX_CLAIM_LENGTH = 255;

/** Signs and checks watch tokens: read-only grants on one operation. */
export interface WatchTokens {
  /** A token letting its bearer read `operationId` until `ttlSeconds` from now; `sub` granted it. */
  mint(grant: {
    readonly sub: string;
    readonly operationId: string;
    readonly ttlSeconds: number;
  }): {
    readonly token: string;
    readonly expiresAt: Date;
  };
  /** Verifies a bare compact token; never throws. The viewer is not admin and `watchOnly` is set. */
  verify(token: string): AuthResult;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isClaim = (value: unknown): value is string =>
  typeof value === 'string' && value.trim() !== '' && value.length <= MAX_CLAIM_LENGTH;

/** The key of watch tokens from a configured or generated secret (HS256, at least 32 bytes). */
export function watchTokenKey(secret: string): KeyObject {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  if ((key.symmetricKeySize ?? 0) < 32)
    throw new Error('A watch token key must be 32 bytes or more.');
  return key;
}

/**
 * Watch tokens when the server has no key for them (production without `WATCH_TOKEN_SECRET`):
 * minting throws `WatchLinksDisabledError`, and no token verifies.
 */
export function disabledWatchTokens(): WatchTokens {
  return {
    mint() {
      throw new WatchLinksDisabledError();
    },
    verify: () => authFailure('watch links are disabled on this server'),
  };
}

/** Watch tokens signed with `key` (HS256 only); `now` is injectable for tests. */
export function createWatchTokens(
  key: KeyObject,
  options: { readonly clockToleranceSec: number },
  now: () => number = Date.now,
): WatchTokens {
  const fail = (reason: string): AuthResult => authFailure(reason);
  return {
    mint({ sub, operationId, ttlSeconds }) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
        throw new RangeError('ttlSeconds must be a positive whole number.');
      }
      const iat = Math.floor(now() / 1000);
      const exp = iat + ttlSeconds;
      const token = jwt.sign({ sub, op: operationId, aud: WATCH_TOKEN_AUDIENCE, iat, exp }, key, {
        algorithm: 'HS256',
        header: { alg: 'HS256', typ: WATCH_TOKEN_TYPE },
      });
      return { token, expiresAt: new Date(exp * 1000) };
    },

    verify(token) {
      let decoded: Jwt;
      try {
        decoded = jwt.verify(token, key, {
          algorithms: ['HS256'],
          audience: WATCH_TOKEN_AUDIENCE,
          clockTolerance: options.clockToleranceSec,
          clockTimestamp: Math.floor(now() / 1000),
          complete: true,
        });
      } catch (error) {
        // jsonwebtoken's messages name the failed check and never echo the token.
        if (error instanceof jwt.TokenExpiredError) {
          return authFailure(error.message, AuthFailureKind.Expired);
        }
        return fail(
          error instanceof jwt.JsonWebTokenError ? error.message : 'token not verifiable',
        );
      }
      if (decoded.header.typ !== WATCH_TOKEN_TYPE) return fail('not a watch token');
      if (decoded.header.crit !== undefined) return fail('unsupported crit header');
      const { payload } = decoded;
      if (!isRecord(payload)) return fail('payload is not a JSON object');
      const { exp, sub, op } = payload;
      if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('exp is required');
      if (!isClaim(sub)) return fail('sub must be a non-empty string');
      if (!isClaim(op)) return fail('op must be a non-empty string');
      return {
        ok: true,
        viewer: { id: sub, isAdmin: false, expiresAt: new Date(exp * 1000), watchOnly: op },
      };
    },
  };
}
