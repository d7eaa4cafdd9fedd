import { createHmac, createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/auth/authenticator.js';
import { createVerifier, mintToken } from '../../src/auth/jwt.js';
import {
  createWatchTokens,
  WATCH_TOKEN_AUDIENCE,
  WATCH_TOKEN_TYPE,
  watchTokenKey,
} from '../../src/auth/watch-token.js';

const USER_SECRET = 'u'.repeat(40);
const WATCH_SECRET = 'w'.repeat(40);
const userKey = createSecretKey(Buffer.from(USER_SECRET));
const watchKey = watchTokenKey(WATCH_SECRET);
const options = { issuer: null, audience: null, clockToleranceSec: 0 };
const users = createVerifier({ kind: 'secret', key: userKey }, options);
const watch = createWatchTokens(watchKey, options);
const auth = createAuthenticator(users, watch);

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token built by hand: any header, any payload, HS256 over `secret` (or no signature). */
function handMade(header: object, payload: object, secret: string | null): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    secret === null ? '' : createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${signature}`;
}

const watchHeader = { alg: 'HS256', typ: WATCH_TOKEN_TYPE };
const watchClaims = (extra: object = {}) => ({
  sub: 'alice',
  op: 'op-1',
  aud: WATCH_TOKEN_AUDIENCE,
  exp: now() + 600,
  ...extra,
});

describe('watch tokens', () => {
  it('carry their one operation, are never admin, and expire when asked', () => {
    const { token, expiresAt } = watch.mint({ sub: 'root', operationId: 'op-1', ttlSeconds: 60 });
    const header = jwt.decode(token, { complete: true })?.header;
    expect(header).toEqual({ alg: 'HS256', typ: WATCH_TOKEN_TYPE });
    const result = watch.verify(token);
    expect(result).toEqual({
      ok: true,
      viewer: { id: 'root', isAdmin: false, expiresAt, watchOnly: 'op-1' },
    });
    expect(expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(58_000);
    // Roles in a watch token grant nothing.
    const withRoles = handMade(watchHeader, watchClaims({ roles: ['admin'] }), WATCH_SECRET);
    expect(watch.verify(withRoles)).toMatchObject({ ok: true, viewer: { isAdmin: false } });
  });

  it.each<[string, () => string]>([
    [
      'the watch type signed with the user key',
      () => handMade(watchHeader, watchClaims(), USER_SECRET),
    ],
    ['no typ header', () => handMade({ alg: 'HS256' }, watchClaims(), WATCH_SECRET)],
    ['typ JWT', () => handMade({ alg: 'HS256', typ: 'JWT' }, watchClaims(), WATCH_SECRET)],
    ['no aud', () => handMade(watchHeader, watchClaims({ aud: undefined }), WATCH_SECRET)],
    ['another aud', () => handMade(watchHeader, watchClaims({ aud: 'longrun' }), WATCH_SECRET)],
    ['no op', () => handMade(watchHeader, watchClaims({ op: undefined }), WATCH_SECRET)],
    ['an empty op', () => handMade(watchHeader, watchClaims({ op: ' ' }), WATCH_SECRET)],
    ['a numeric op', () => handMade(watchHeader, watchClaims({ op: 7 }), WATCH_SECRET)],
    ['no sub', () => handMade(watchHeader, watchClaims({ sub: undefined }), WATCH_SECRET)],
    ['no exp', () => handMade(watchHeader, watchClaims({ exp: undefined }), WATCH_SECRET)],
    ['an exp passed', () => handMade(watchHeader, watchClaims({ exp: now() - 5 }), WATCH_SECRET)],
    ['alg none', () => handMade({ alg: 'none', typ: WATCH_TOKEN_TYPE }, watchClaims(), null)],
    [
      'HS512 with the watch key',
      () =>
        jwt.sign(watchClaims(), WATCH_SECRET, {
          algorithm: 'HS512',
          header: { alg: 'HS512', typ: WATCH_TOKEN_TYPE },
        }),
    ],
    [
      'a crit header',
      () => handMade({ ...watchHeader, crit: ['x'], x: 1 }, watchClaims(), WATCH_SECRET),
    ],
  ])('refuse %s', (_name, token) => {
    expect(watch.verify(token())).toMatchObject({ ok: false });
    expect(auth.verify(token())).toMatchObject({ ok: false });
    expect(auth.verifyUrlToken(token())).toMatchObject({ ok: false });
  });
});

describe('the two kinds of token never pass as each other', () => {
  it('the user verifier refuses a watch token, even one signed with the user key', () => {
    const { token } = watch.mint({ sub: 'alice', operationId: 'op-1', ttlSeconds: 60 });
    expect(users.verify(token)).toMatchObject({ ok: false });
    const sameKey = createWatchTokens(userKey, options).mint({
      sub: 'alice',
      operationId: 'op-1',
      ttlSeconds: 60,
    });
    expect(users.verify(sameKey.token)).toEqual({
      ok: false,
      kind: 'invalid',
      reason: 'a watch token is not a user token',
    });
  });

  it('the authenticator takes each kind with its own key, and only a watch token from a URL', () => {
    const user = mintToken({ sub: 'alice', admin: true, ttlSec: 600 }, userKey, 'HS256');
    const { token } = watch.mint({ sub: 'alice', operationId: 'op-1', ttlSeconds: 60 });
    expect(auth.verify(user)).toMatchObject({ ok: true, viewer: { id: 'alice', isAdmin: true } });
    expect(auth.verify(user)).not.toHaveProperty('viewer.watchOnly');
    expect(auth.verifyBearer(`Bearer ${token}`)).toMatchObject({
      ok: true,
      viewer: { id: 'alice', isAdmin: false, watchOnly: 'op-1' },
    });
    expect(auth.verifyUrlToken(token)).toMatchObject({ ok: true });
    expect(auth.verifyUrlToken(user)).toMatchObject({ ok: false });
    expect(watch.verify(user)).toMatchObject({ ok: false });
    expect(auth.verifyBearer(`Bearer ${token}, Bearer ${token}`)).toMatchObject({ ok: false });
    expect(auth.verifyBearer(token)).toMatchObject({ ok: false });
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => watchTokenKey('short')).toThrow(/32 bytes/);
  });
});
