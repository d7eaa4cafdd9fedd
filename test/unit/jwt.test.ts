import {
  createHmac,
  createPrivateKey,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import {
  type AuthResult,
  createVerifier,
  keysFromConfig,
  mintToken,
  type VerifierOptions,
} from '../../src/auth/jwt.js';
import { canSee, type Viewer } from '../../src/auth/viewer.js';
import { ConfigError, type JwtConfig } from '../../src/config.js';

const SECRET = randomBytes(32).toString('base64url');
const secretKey = createSecretKey(Buffer.from(SECRET));
const PLAIN: VerifierOptions = { issuer: null, audience: null, clockToleranceSec: 5 };
const hs256 = createVerifier({ kind: 'secret', key: secretKey }, PLAIN);

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token built by hand, for the shapes jsonwebtoken refuses to sign. */
function handMade(
  payload: unknown,
  { alg = 'HS256', key = SECRET as string | Buffer, header = {} as object } = {},
): string {
  const input = `${b64({ alg, typ: 'JWT', ...header })}.${b64(payload)}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const signature =
    hash === undefined ? '' : createHmac(hash, key).update(input).digest('base64url');
  return `${input}.${signature}`;
}

const valid = (extra: Record<string, unknown> = {}) => ({
  sub: 'alice',
  exp: now() + 600,
  ...extra,
});

function viewerOf(result: AuthResult): Viewer {
  if (!result.ok) throw new Error(`expected a viewer, got "${result.reason}"`);
  return result.viewer;
}

function reasonOf(result: AuthResult): string {
  if (result.ok) throw new Error(`expected a failure, got viewer ${result.viewer.id}`);
  return result.reason;
}

describe('verified token cache', () => {
  it('answers a token again until its exp, then verifies it afresh (and refuses it once expired)', () => {
    let clock = Date.now();
    const verifier = createVerifier({ kind: 'secret', key: secretKey }, PLAIN, () => clock);
    const exp = Math.floor(clock / 1000) + 60;
    const token = handMade(valid({ exp }));
    const first = verifier.verify(token);
    expect(viewerOf(first).id).toBe('alice');
    // The same verdict, not a second verification.
    expect(verifier.verify(token)).toBe(first);
    // Past exp but within the 5 s tolerance: verified again, still accepted, as without a cache.
    clock = exp * 1000 + 1_000;
    const again = verifier.verify(token);
    expect(again).not.toBe(first);
    expect(viewerOf(again).id).toBe('alice');
    clock = exp * 1000 + 6_000;
    expect(reasonOf(verifier.verify(token))).toMatch(/expired/);
  });

  it('never keeps a refusal, and a changed signature is refused whatever was verified before', () => {
    const verifier = createVerifier({ kind: 'secret', key: secretKey }, PLAIN);
    const token = handMade(valid());
    expect(viewerOf(verifier.verify(token)).id).toBe('alice');
    const [header, payload, signature = ''] = token.split('.');
    const forged = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(reasonOf(verifier.verify(forged))).toMatch(/signature/);
    expect(reasonOf(verifier.verify(forged))).toMatch(/signature/);
    const early = handMade(valid({ nbf: now() + 600 }));
    expect(reasonOf(verifier.verify(early))).toMatch(/not active/);
    expect(reasonOf(verifier.verify(early))).toMatch(/not active/);
  });
});

describe('HS256 verifier', () => {
  it('accepts a minted token and reads sub, roles and exp', () => {
    const token = mintToken({ sub: 'alice', ttlSec: 3600 }, secretKey, 'HS256');
    const viewer = viewerOf(hs256.verify(token));
    expect(viewer).toEqual({ id: 'alice', isAdmin: false, expiresAt: expect.any(Date) });
    const { exp } = jwt.decode(token, { json: true }) ?? {};
    expect(viewer.expiresAt.getTime()).toBe((exp ?? 0) * 1000);
    expect(Math.abs(viewer.expiresAt.getTime() / 1000 - (now() + 3600))).toBeLessThanOrEqual(2);
    expect(hs256.algorithm).toBe('HS256');
  });

  it('sets expiresAt to exp exactly', () => {
    const exp = now() + 1234;
    expect(viewerOf(hs256.verify(handMade(valid({ exp })))).expiresAt).toEqual(
      new Date(exp * 1000),
    );
  });

  it('rejects alg none, with or without a signature', () => {
    expect(reasonOf(hs256.verify(handMade(valid(), { alg: 'none' })))).toMatch(/signature/);
    const withJunk = `${handMade(valid(), { alg: 'none' })}${'A'.repeat(43)}`;
    expect(reasonOf(hs256.verify(withJunk))).toMatch(/algorithm/);
    expect(reasonOf(hs256.verifyBearer(`Bearer ${handMade(valid(), { alg: 'none' })}`))).toMatch(
      /signature/,
    );
  });

  it.each(['HS384', 'HS512'])('rejects %s when only HS256 is allowed', (alg) => {
    expect(reasonOf(hs256.verify(handMade(valid(), { alg })))).toBe('invalid algorithm');
  });

  it('rejects a bad signature', () => {
    const forged = handMade(valid(), { key: randomBytes(32) });
    expect(reasonOf(hs256.verify(forged))).toBe('invalid signature');
  });

  it('rejects a truncated token', () => {
    const token = handMade(valid());
    expect(reasonOf(hs256.verify(token.slice(0, -4)))).toBe('invalid signature');
    expect(reasonOf(hs256.verify(token.slice(0, token.lastIndexOf('.'))))).toBe('jwt malformed');
    expect(reasonOf(hs256.verify(token.slice(0, 20)))).toBe('jwt malformed');
  });

  it('rejects a token with a crit header it cannot understand', () => {
    const token = handMade(valid(), { header: { crit: ['exp'] } });
    expect(reasonOf(hs256.verify(token))).toBe('unsupported crit header');
  });

  it('never throws on garbage', () => {
    for (const junk of ['', '.', '..', 'a.b.c', '!!!.???.***', `${b64('x')}.${b64('y')}.z`]) {
      expect(hs256.verify(junk).ok).toBe(false);
    }
  });

  it('rejects a token without exp', () => {
    expect(reasonOf(hs256.verify(handMade({ sub: 'alice' })))).toBe('exp is required');
  });

  it('rejects exp in the past beyond the tolerance and accepts it within', () => {
    expect(reasonOf(hs256.verify(handMade(valid({ exp: now() - 10 }))))).toBe('jwt expired');
    expect(viewerOf(hs256.verify(handMade(valid({ exp: now() - 2 })))).id).toBe('alice');
    const strict = createVerifier(
      { kind: 'secret', key: secretKey },
      { ...PLAIN, clockToleranceSec: 0 },
    );
    expect(reasonOf(strict.verify(handMade(valid({ exp: now() - 2 }))))).toBe('jwt expired');
  });

  it.each([
    ['a numeric string', String(Math.floor(Date.now() / 1000) + 600)],
    ['null', null],
    ['an object', { at: 1 }],
  ])('rejects exp as %s', (_label, exp) => {
    expect(reasonOf(hs256.verify(handMade(valid({ exp }))))).toBe('invalid exp value');
  });

  it('rejects an exp beyond the range of Date', () => {
    expect(reasonOf(hs256.verify(handMade(valid({ exp: 1e300 }))))).toBe('invalid exp');
  });

  it('honours nbf', () => {
    expect(reasonOf(hs256.verify(handMade(valid({ nbf: now() + 60 }))))).toBe('jwt not active');
    expect(hs256.verify(handMade(valid({ nbf: now() + 2 }))).ok).toBe(true);
    expect(hs256.verify(handMade(valid({ nbf: now() - 60 }))).ok).toBe(true);
    expect(reasonOf(hs256.verify(handMade(valid({ nbf: 'soon' }))))).toBe('invalid nbf value');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['numeric', 42],
    ['null', null],
    ['an array', ['alice']],
    ['longer than 255 characters', 'a'.repeat(256)],
  ])('rejects sub %s', (_label, sub) => {
    expect(reasonOf(hs256.verify(handMade({ sub, exp: now() + 600 })))).toMatch(/^sub /);
  });

  it('accepts a sub of 255 characters', () => {
    expect(viewerOf(hs256.verify(handMade(valid({ sub: 'a'.repeat(255) })))).id).toHaveLength(255);
  });

  it.each([
    ['a JSON string', 'hello'],
    ['a JSON array', [{ sub: 'alice' }]],
  ])('rejects a payload that is %s', (_label, payload) => {
    expect(reasonOf(hs256.verify(handMade(payload)))).toBe('payload is not a JSON object');
  });

  it.each([
    [['admin'], true],
    [['reader', 'admin'], true],
    ['admin', false],
    [['Admin'], false],
    [['ADMIN'], false],
    [['admin '], false],
    [[['admin']], false],
    [['admin', 1], false],
    [{ admin: true }, false],
    [[], false],
    [undefined, false],
  ])('roles %j → isAdmin %s', (roles, isAdmin) => {
    expect(viewerOf(hs256.verify(handMade(valid({ roles })))).isAdmin).toBe(isAdmin);
  });
});

describe('verifyBearer', () => {
  const token = handMade(valid());

  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('accepts the scheme spelt %s', (scheme) => {
    expect(viewerOf(hs256.verifyBearer(`${scheme} ${token}`)).id).toBe('alice');
  });

  it.each([
    ['no header', undefined, 'missing'],
    ['a null header', null, 'missing'],
    ['an empty header', '', 'missing'],
    ['a bare scheme', 'Bearer', 'malformed'],
    ['a scheme and a space', 'Bearer ', 'malformed'],
    ['a token without scheme', token, 'malformed'],
    ['another scheme', `Basic ${token}`, 'malformed'],
    ['the Token scheme', `Token ${token}`, 'malformed'],
    ['two tokens with a comma', `Bearer ${token}, Bearer ${token}`, 'malformed'],
    ['two tokens with a space', `Bearer ${token} ${token}`, 'malformed'],
    ['two tokens with a comma, no scheme', `Bearer ${token},${token}`, 'malformed'],
    ['a trailing comma', `Bearer ${token},`, 'malformed'],
    ['two spaces', `Bearer  ${token}`, 'malformed'],
    ['a tab', `Bearer\t${token}`, 'malformed'],
    ['a leading space', ` Bearer ${token}`, 'malformed'],
    ['a trailing space', `Bearer ${token} `, 'malformed'],
    ['a trailing newline', `Bearer ${token}\n`, 'malformed'],
    ['quotes', `Bearer "${token}"`, 'malformed'],
  ] as const)('rejects %s, saying why', (_label, header, kind) => {
    expect(hs256.verifyBearer(header)).toEqual({
      ok: false,
      kind,
      reason:
        kind === 'missing' ? 'no authorization header' : 'authorization is not "Bearer <token>"',
    });
  });
});

describe('issuer and audience', () => {
  const checked = createVerifier(
    { kind: 'secret', key: secretKey },
    { issuer: 'https://issuer.test', audience: 'longrun', clockToleranceSec: 5 },
  );
  const claims = { iss: 'https://issuer.test', aud: 'longrun' };

  it('accepts the configured iss and aud, and aud in an array', () => {
    expect(checked.verify(handMade(valid(claims))).ok).toBe(true);
    expect(checked.verify(handMade(valid({ ...claims, aud: ['other', 'longrun'] }))).ok).toBe(true);
  });

  it.each([
    ['a wrong iss', { iss: 'https://evil.test' }],
    ['no iss', { iss: undefined }],
    ['a wrong aud', { aud: 'other' }],
    ['no aud', { aud: undefined }],
    ['aud as an array without ours', { aud: ['other'] }],
  ])('rejects %s', (_label, override) => {
    expect(reasonOf(checked.verify(handMade(valid({ ...claims, ...override }))))).toMatch(
      /issuer|audience/,
    );
  });

  it('ignores iss and aud when not configured', () => {
    expect(hs256.verify(handMade(valid({ iss: 'anyone', aud: 'anything' }))).ok).toBe(true);
  });

  it('mints tokens that carry them', () => {
    const token = mintToken(
      { sub: 'bob', admin: true, ttlSec: 60, issuer: 'https://issuer.test', audience: 'longrun' },
      secretKey,
      'HS256',
    );
    expect(viewerOf(checked.verify(token))).toMatchObject({ id: 'bob', isAdmin: true });
  });
});

describe('RS256 verifier', () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rs256 = createVerifier({ kind: 'public', key: pair.publicKey }, PLAIN);

  it('accepts a token signed with the private key', () => {
    expect(rs256.algorithm).toBe('RS256');
    const token = mintToken({ sub: 'carol', admin: true, ttlSec: 60 }, pair.privateKey, 'RS256');
    expect(viewerOf(rs256.verify(token))).toMatchObject({ id: 'carol', isAdmin: true });
  });

  it('rejects an HS256 token MACed with the public key PEM (algorithm confusion)', () => {
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' });
    expect(reasonOf(rs256.verify(handMade(valid(), { key: pem })))).toBe('invalid algorithm');
    const pkcs1 = pair.publicKey.export({ type: 'pkcs1', format: 'pem' });
    expect(reasonOf(rs256.verify(handMade(valid(), { key: pkcs1 })))).toBe('invalid algorithm');
  });

  it('rejects a token signed by another RSA key', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = mintToken({ sub: 'carol', ttlSec: 60 }, other.privateKey, 'RS256');
    expect(reasonOf(rs256.verify(token))).toBe('invalid signature');
  });

  it('rejects RS384 and PS256 tokens from the right key', () => {
    for (const algorithm of ['RS384', 'PS256'] as const) {
      const token = jwt.sign(valid(), pair.privateKey, { algorithm });
      expect(reasonOf(rs256.verify(token))).toBe('invalid algorithm');
    }
  });

  it('still requires exp and sub', () => {
    const noExp = jwt.sign({ sub: 'carol' }, pair.privateKey, { algorithm: 'RS256' });
    expect(reasonOf(rs256.verify(noExp))).toBe('exp is required');
    const noSub = jwt.sign({ exp: now() + 60 }, pair.privateKey, { algorithm: 'RS256' });
    expect(reasonOf(rs256.verify(noSub))).toMatch(/^sub /);
  });
});

describe('ES256 verifier', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const es256 = createVerifier({ kind: 'public', key: pair.publicKey }, PLAIN);

  it('accepts a token signed with the private key', () => {
    expect(es256.algorithm).toBe('ES256');
    const token = mintToken({ sub: 'dave', ttlSec: 60 }, pair.privateKey, 'ES256');
    expect(viewerOf(es256.verify(token))).toMatchObject({ id: 'dave', isAdmin: false });
  });

  it('rejects HS256 MACed with its public key, and RS256 from another key', () => {
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' });
    expect(reasonOf(es256.verify(handMade(valid(), { key: pem })))).toBe('invalid algorithm');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = mintToken({ sub: 'dave', ttlSec: 60 }, rsa.privateKey, 'RS256');
    expect(reasonOf(es256.verify(token))).toBe('invalid algorithm');
  });

  it('rejects a tampered payload', () => {
    const token = mintToken({ sub: 'dave', ttlSec: 60 }, pair.privateKey, 'ES256');
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ sub: 'dave', roles: ['admin'], exp: now() + 60 })}.${signature}`;
    expect(reasonOf(es256.verify(forged))).toBe('invalid signature');
  });
});

describe('createVerifier refuses unusable keys', () => {
  it.each([
    ['a short secret', () => ({ kind: 'secret', key: createSecretKey(randomBytes(16)) }) as const],
    ['a public key as secret', () => ({ kind: 'secret', key: rsaPublic(2048) }) as const],
    ['a secret as public key', () => ({ kind: 'public', key: secretKey }) as const],
    ['a private key', () => ({ kind: 'public', key: ecPrivate('P-256') }) as const],
    ['RSA under 2048 bits', () => ({ kind: 'public', key: rsaPublic(1024) }) as const],
    ['EC on P-384', () => ({ kind: 'public', key: ecPublic('P-384') }) as const],
    ['Ed25519', () => ({ kind: 'public', key: generateKeyPairSync('ed25519').publicKey }) as const],
  ])('%s', (_label, keys) => {
    expect(() => createVerifier(keys(), PLAIN)).toThrow();
  });
});

const rsaPublic = (bits: number): KeyObject =>
  generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
const ecPublic = (curve: string): KeyObject =>
  generateKeyPairSync('ec', { namedCurve: curve }).publicKey;
const ecPrivate = (curve: string): KeyObject =>
  generateKeyPairSync('ec', { namedCurve: curve }).privateKey;

describe('keysFromConfig', () => {
  const base: JwtConfig = {
    secret: null,
    publicKey: null,
    issuer: null,
    audience: null,
    clockToleranceSec: 5,
  };
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('prefers JWT_SECRET', () => {
    const keys = keysFromConfig({ ...base, secret: SECRET }, 'dev-secret-is-ignored');
    expect(keys.kind).toBe('secret');
    expect(keys.key.export().toString()).toBe(SECRET);
  });

  it('parses the PEM public key, also with literal \\n escapes', () => {
    for (const text of [pem, pem.replaceAll('\n', '\\n')]) {
      const keys = keysFromConfig({ ...base, publicKey: text }, null);
      expect(keys.kind).toBe('public');
      const token = mintToken({ sub: 'erin', ttlSec: 60 }, pair.privateKey, 'ES256');
      expect(createVerifier(keys, base).verify(token).ok).toBe(true);
    }
  });

  it('throws a ConfigError naming JWT_PUBLIC_KEY for a bad PEM or key type', () => {
    expect(() => keysFromConfig({ ...base, publicKey: 'not a pem' }, null)).toThrow(ConfigError);
    expect(() => keysFromConfig({ ...base, publicKey: 'not a pem' }, null)).toThrow(
      /JWT_PUBLIC_KEY/,
    );
    const p384 = ecPublic('P-384').export({ type: 'spki', format: 'pem' }).toString();
    expect(() => keysFromConfig({ ...base, publicKey: p384 }, null)).toThrow(
      /JWT_PUBLIC_KEY.*P-256/,
    );
  });

  it('falls back to the development secret, and throws without any key', () => {
    const dev = randomBytes(48).toString('base64url');
    const keys = keysFromConfig(base, dev);
    expect(keys.kind).toBe('secret');
    const token = mintToken({ sub: 'frank', ttlSec: 60 }, keys.key, 'HS256');
    expect(createVerifier(keys, base).verify(token).ok).toBe(true);
    expect(() => keysFromConfig(base, null)).toThrow(ConfigError);
  });
});

describe('mintToken', () => {
  it('adds roles only for admins', () => {
    const plain = jwt.decode(mintToken({ sub: 'a', ttlSec: 60 }, secretKey, 'HS256'), {
      json: true,
    });
    expect(plain?.roles).toBeUndefined();
    const admin = jwt.decode(mintToken({ sub: 'a', admin: true, ttlSec: 60 }, secretKey, 'HS256'), {
      json: true,
    });
    expect(admin?.roles).toEqual(['admin']);
  });

  it('mints expired tokens for negative ttl and refuses fractional ttl', () => {
    expect(reasonOf(hs256.verify(mintToken({ sub: 'a', ttlSec: -60 }, secretKey, 'HS256')))).toBe(
      'jwt expired',
    );
    expect(() => mintToken({ sub: 'a', ttlSec: 1.5 }, secretKey, 'HS256')).toThrow(RangeError);
  });

  it('refuses a key that does not fit the algorithm', () => {
    const pkcs8 = createPrivateKey(
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    );
    expect(() => mintToken({ sub: 'a', ttlSec: 60 }, pkcs8, 'HS256')).toThrow();
    expect(() => mintToken({ sub: 'a', ttlSec: 60 }, secretKey, 'RS256')).toThrow();
  });
});

describe('canSee', () => {
  const expiresAt = new Date(Date.now() + 60_000);
  const alice: Viewer = { id: 'alice', isAdmin: false, expiresAt };
  const admin: Viewer = { id: 'root', isAdmin: true, expiresAt };

  it('lets a watch token see its one operation, whoever owns it, and nothing else', () => {
    const watcher: Viewer = { id: 'alice', isAdmin: false, expiresAt, watchOnly: 'op1' };
    expect(canSee(watcher, { id: 'op1', ownerId: 'bob' })).toBe(true);
    expect(canSee(watcher, { id: 'op2', ownerId: 'alice' })).toBe(false);
    // Even an admin's grant is one operation only.
    expect(canSee({ ...watcher, isAdmin: true }, { id: 'op2', ownerId: 'bob' })).toBe(false);
  });

  it('lets owners and admins see an operation, and nobody else', () => {
    expect(canSee(alice, { id: 'op1', ownerId: 'alice' })).toBe(true);
    expect(canSee(alice, { id: 'op1', ownerId: 'bob' })).toBe(false);
    expect(canSee(alice, { id: 'op1', ownerId: 'Alice' })).toBe(false);
    expect(canSee(admin, { id: 'op1', ownerId: 'bob' })).toBe(true);
  });
});
