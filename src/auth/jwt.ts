import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt, { type Jwt, type VerifyOptions } from 'jsonwebtoken';
import { ConfigError, type JwtConfig } from '../config.js';
import type { Viewer } from './viewer.js';
import { WATCH_TOKEN_TYPE } from './watch-token.js';

/** The signature algorithms longrun accepts; each key type is pinned to exactly one. */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';

/**
 * The key bearer tokens are verified with, held as a `KeyObject`: jsonwebtoken 9 would otherwise
 * parse a string key again on every call (about 0.3 ms each).
 */
export type VerifierKeys =
  | { readonly kind: 'secret'; readonly key: KeyObject }
  | { readonly kind: 'public'; readonly key: KeyObject };

/** Claim checks beyond the signature; `config.jwt` fits as is. */
export interface VerifierOptions {
  /** Required `iss` when not null. */
  readonly issuer: string | null;
  /** Required `aud` (or one of the token's audiences) when not null. */
  readonly audience: string | null;
  /** Seconds of clock skew accepted on `exp` and `nbf`. */
  readonly clockToleranceSec: number;
}

/** What kind of failure a refused token or header is: safe to tell the client, unlike `reason`. */
export const AuthFailureKind = {
  /** No credentials at all. */
  Missing: 'missing',
  /** Something was sent, but not `Bearer <token>`. */
  Malformed: 'malformed',
  /** A well-formed token whose `exp` has passed. */
  Expired: 'expired',
  /** A token that does not verify (signature, algorithm, claims). */
  Invalid: 'invalid',
} as const;
export type AuthFailureKind = (typeof AuthFailureKind)[keyof typeof AuthFailureKind];

/** A token or header that does not authenticate anyone; `reason` is for logs, never for clients. */
export interface AuthFailure {
  readonly ok: false;
  readonly kind: AuthFailureKind;
  readonly reason: string;
}

/** A verified token and the viewer it names. */
export interface AuthSuccess {
  readonly ok: true;
  readonly viewer: Viewer;
}

/** The outcome of a verification: narrow on `ok`. */
export type AuthResult = AuthSuccess | AuthFailure;

/** Verifies bearer tokens against one key; never throws. */
export interface Verifier {
  /** The one algorithm a token may use with this key. */
  readonly algorithm: JwtAlgorithm;
  /** Verifies a bare compact JWS token. */
  verify(token: string): AuthResult;
  /** Verifies an `Authorization` value of exactly `Bearer <token>` (scheme case-insensitive). */
  verifyBearer(header: string | null | undefined): AuthResult;
}

// Exactly one scheme, one space and one token of base64url parts: rejects `Bearer a, Bearer b`,
// doubled spaces, trailing commas and other schemes.
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/** OpenID Connect Core §2 caps `sub` at 255 characters; longer ones would become owner ids. */
const MAX_SUBJECT_LENGTH = 255;

/**
 * Control characters (C0, DEL, C1) and unpaired surrogates: a `sub` holding one is refused. It
 * becomes an owner id, shown in logs and terminals; and UTF-8 stores a lone surrogate as U+FFFD,
 * so two different subjects would own the same operations.
 */
const NOT_A_SUBJECT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A refusal: `reason` for logs, `kind` for the client. */
export const authFailure = (
  reason: string,
  kind: AuthFailureKind = AuthFailureKind.Invalid,
): AuthFailure => ({ ok: false, kind, reason });
const fail = authFailure;

/** The token of an `Authorization` value of exactly `Bearer <token>`, else null. */
export function parseBearer(header: string | null | undefined): string | null {
  if (header === null || header === undefined) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

/**
 * The algorithm pinned to a key: secret → HS256 (at least 32 bytes), RSA (at least 2048 bits) →
 * RS256, EC on P-256 → ES256; throws for anything else.
 */
export function algorithmFor(key: KeyObject): JwtAlgorithm {
  if (key.type === 'secret') {
    if ((key.symmetricKeySize ?? 0) < 32) {
      throw new Error('An HS256 secret must be at least 32 bytes.');
    }
    return 'HS256';
  }
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details?.modulusLength ?? 0) < 2048) {
        throw new Error('An RSA key must be at least 2048 bits.');
      }
      return 'RS256';
    case 'ec':
      if (details?.namedCurve !== 'prime256v1') {
        throw new Error(`An EC key must be on P-256 for ES256, not ${details?.namedCurve}.`);
      }
      return 'ES256';
    default:
      throw new Error(
        `Unsupported key type ${key.asymmetricKeyType}: use an HS256 secret, RSA or EC P-256.`,
      );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Verified tokens a verifier remembers (the oldest is forgotten first). */
export const MAX_VERIFIED_TOKENS = 1_000;

/**
 * Builds the verifier for one key; throws when the key cannot be used (see `algorithmFor`).
 * `now` (ms) is injectable for tests.
 */
export function createVerifier(
  keys: VerifierKeys,
  options: VerifierOptions,
  now: () => number = Date.now,
): Verifier {
  const expectedType = keys.kind === 'secret' ? 'secret' : 'public';
  if (keys.key.type !== expectedType) {
    throw new Error(`A ${keys.kind} verifier key must be a ${expectedType} KeyObject.`);
  }
  const algorithm = algorithmFor(keys.key);
  const verifyOptions: VerifyOptions & { complete: true } = {
    algorithms: [algorithm],
    clockTolerance: options.clockToleranceSec,
    complete: true,
    ...(options.issuer === null ? {} : { issuer: options.issuer }),
    ...(options.audience === null ? {} : { audience: options.audience }),
  };

  const verifyUncached = (token: string): AuthResult => {
    let decoded: Jwt;
    try {
      decoded = jwt.verify(token, keys.key, {
        ...verifyOptions,
        clockTimestamp: Math.floor(now() / 1000),
      });
    } catch (error) {
      // jsonwebtoken's messages name the failed check and never echo the token.
      if (error instanceof jwt.TokenExpiredError)
        return fail(error.message, AuthFailureKind.Expired);
      return fail(error instanceof jwt.JsonWebTokenError ? error.message : 'token not verifiable');
    }
    // RFC 7515 §4.1.11: extensions listed in `crit` must be understood, and we understand none.
    if (decoded.header.crit !== undefined) return fail('unsupported crit header');
    // A watch token is never a user token, whatever key it was signed with.
    if (decoded.header.typ === WATCH_TOKEN_TYPE) return fail('a watch token is not a user token');
    const { payload } = decoded;
    if (!isRecord(payload)) return fail('payload is not a JSON object');
    // jsonwebtoken rejects a non-numeric or past exp, but accepts a token without one.
    const { exp, sub, roles } = payload;
    if (typeof exp !== 'number') return fail(exp === undefined ? 'exp is required' : 'invalid exp');
    const expiresAt = new Date(exp * 1000);
    if (Number.isNaN(expiresAt.getTime())) return fail('invalid exp');
    if (typeof sub !== 'string' || sub.trim() === '') return fail('sub must be a non-empty string');
    if (sub.length > MAX_SUBJECT_LENGTH) return fail('sub is too long');
    if (NOT_A_SUBJECT.test(sub)) return fail('sub is not well-formed text');
    const isAdmin =
      Array.isArray(roles) &&
      roles.every((role) => typeof role === 'string') &&
      roles.includes('admin');
    return { ok: true, viewer: { id: sub, isAdmin, expiresAt } };
  };

  // Verified tokens until their `exp` (strictly: the clock tolerance is granted only by a full
  // verification): a client sending the same token with every request pays for one HMAC or
  // signature check, not one per request. Refusals are never kept.
  const verified = new Map<string, AuthSuccess>();
  const verify = (token: string): AuthResult => {
    const known = verified.get(token);
    if (known !== undefined) {
      if (now() < known.viewer.expiresAt.getTime()) return known;
      verified.delete(token);
    }
    const result = verifyUncached(token);
    if (result.ok && now() < result.viewer.expiresAt.getTime()) {
      if (verified.size >= MAX_VERIFIED_TOKENS) {
        const oldest = verified.keys().next().value;
        if (oldest !== undefined) verified.delete(oldest);
      }
      verified.set(token, result);
    }
    return result;
  };

  return {
    algorithm,
    verify,
    verifyBearer(header) {
      if (header === null || header === undefined || header === '') {
        return fail('no authorization header', AuthFailureKind.Missing);
      }
      const token = parseBearer(header);
      return token === null
        ? fail('authorization is not "Bearer <token>"', AuthFailureKind.Malformed)
        : verify(token);
    },
  };
}

function pemToPublicKey(pem: string): KeyObject {
  // Tolerate PEMs squeezed onto one line with literal \n, as .env files and CI secrets often hold them.
  const text = pem.includes('\n') ? pem : pem.replaceAll('\\n', '\n');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new ConfigError(
      `JWT_PUBLIC_KEY: not a PEM public key (${error instanceof Error ? error.message : error}).`,
    );
  }
  try {
    algorithmFor(key);
  } catch (error) {
    throw new ConfigError(`JWT_PUBLIC_KEY: ${error instanceof Error ? error.message : error}`);
  }
  return key;
}

/**
 * The verifier key from configuration: `JWT_SECRET`, else the PEM `JWT_PUBLIC_KEY`, else the
 * development secret; throws `ConfigError` for an unusable key or when there is none.
 */
export function keysFromConfig(config: JwtConfig, devSecret: string | null): VerifierKeys {
  if (config.secret !== null) {
    return { kind: 'secret', key: createSecretKey(Buffer.from(config.secret, 'utf8')) };
  }
  if (config.publicKey !== null) return { kind: 'public', key: pemToPublicKey(config.publicKey) };
  if (devSecret !== null) {
    return { kind: 'secret', key: createSecretKey(Buffer.from(devSecret, 'utf8')) };
  }
  throw new ConfigError('Set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256).');
}

/** Claims of a token minted by longrun itself (dev banner, `npm run token`, tests). */
export interface MintClaims {
  readonly sub: string;
  /** Adds `roles: ['admin']`. */
  readonly admin?: boolean;
  /** Whole seconds until `exp`; a negative value mints an already expired token. */
  readonly ttlSec: number;
  readonly issuer?: string | null;
  readonly audience?: string | null;
}

/** Signs a token for `claims` with a secret (HS256) or private key (RS256/ES256). */
export function mintToken(
  claims: MintClaims,
  signingKey: KeyObject,
  algorithm: JwtAlgorithm,
): string {
  if (!Number.isInteger(claims.ttlSec)) throw new RangeError('ttlSec must be a whole number.');
  const payload =
    claims.admin === true ? { sub: claims.sub, roles: ['admin'] } : { sub: claims.sub };
  return jwt.sign(payload, signingKey, {
    algorithm,
    expiresIn: claims.ttlSec,
    ...(claims.issuer ? { issuer: claims.issuer } : {}),
    ...(claims.audience ? { audience: claims.audience } : {}),
  });
}
