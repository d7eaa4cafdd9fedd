import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it } from 'vitest';
import { DEV_SECRET_FILE, devBanner, loadOrCreateDevSecret } from '../../src/auth/dev-key.js';
import { createVerifier, keysFromConfig, mintToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const posix = process.platform !== 'win32';

const temporaryDirs: string[] = [];
function temporaryDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'longrun-dev-key-'));
  temporaryDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('loadOrCreateDevSecret', () => {
  it('creates the directory and a 0600 secret file, then reuses it', () => {
    const dataDir = join(temporaryDir(), 'nested', 'data');
    const secret = loadOrCreateDevSecret(dataDir);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    const file = join(dataDir, DEV_SECRET_FILE);
    if (posix) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateDevSecret(dataDir)).toBe(secret);
    expect(readdirSync(dataDir)).toEqual([DEV_SECRET_FILE]);
  });

  it('makes a different secret for another data directory', () => {
    expect(loadOrCreateDevSecret(temporaryDir())).not.toBe(loadOrCreateDevSecret(temporaryDir()));
  });

  it.runIf(posix)('tightens a readable-by-others file to 0600 and keeps its secret', () => {
    const dataDir = temporaryDir();
    const secret = loadOrCreateDevSecret(dataDir);
    const file = join(dataDir, DEV_SECRET_FILE);
    chmodSync(file, 0o644);
    expect(loadOrCreateDevSecret(dataDir)).toBe(secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a file that does not hold a secret', () => {
    const dataDir = temporaryDir();
    writeFileSync(join(dataDir, DEV_SECRET_FILE), 'short\n');
    expect(() => loadOrCreateDevSecret(dataDir)).toThrow(/delete it/);
  });
});

describe('devBanner', () => {
  it('says it is a development key and gives a ready-to-paste header', () => {
    const key = keysFromConfig(loadConfig({}).jwt, 'x'.repeat(64)).key;
    const token = mintToken({ sub: 'dev', admin: true, ttlSec: 3600 }, key, 'HS256');
    const banner = devBanner(token, 'http://127.0.0.1:4000/graphql');
    expect(banner).toMatch(/development/i);
    expect(banner).toContain(`\n  Authorization: Bearer ${token}\n`);
    expect(banner).toContain('http://127.0.0.1:4000/graphql');
    expect(banner).toContain('user "dev", admin');
    expect(banner.split(token)).toHaveLength(2);
  });
});

const run = promisify(execFile);

/** Runs the token script the way `npm run token` does, with only the given settings. */
async function tokenScript(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(JWT_|NODE_ENV$|DATA_DIR$)/.test(name)),
  );
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/scripts/token.ts', ...args],
      { cwd: ROOT, env: { ...clean, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm run token', () => {
  it('signs with the development secret in DATA_DIR', async () => {
    const dataDir = temporaryDir();
    const { code, stdout } = await tokenScript(['--sub', 'alice', '--admin', '--ttl', '1h'], {
      DATA_DIR: dataDir,
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const config = loadConfig({ DATA_DIR: dataDir });
    const verifier = createVerifier(
      keysFromConfig(config.jwt, loadOrCreateDevSecret(dataDir)),
      config.jwt,
    );
    const result = verifier.verify(stdout.trim());
    if (!result.ok) throw new Error(result.reason);
    expect(result.viewer.id).toBe('alice');
    expect(result.viewer.isAdmin).toBe(true);
    const expected = Date.now() + 3_600_000;
    expect(Math.abs(result.viewer.expiresAt.getTime() - expected)).toBeLessThan(10_000);
  });

  it('uses JWT_SECRET and adds iss and aud', async () => {
    const env = {
      JWT_SECRET: 'k'.repeat(40),
      JWT_ISSUER: 'https://issuer.test',
      JWT_AUDIENCE: 'lr',
    };
    const { code, stdout } = await tokenScript(['--sub', 'bob', '--ttl', '90'], env);
    expect(code).toBe(0);
    const claims = jwt.verify(stdout.trim(), env.JWT_SECRET, { algorithms: ['HS256'] });
    expect(claims).toMatchObject({ sub: 'bob', iss: 'https://issuer.test', aud: 'lr' });
    expect(claims).not.toHaveProperty('roles');
    if (typeof claims === 'string' || claims.exp === undefined || claims.iat === undefined) {
      throw new Error('no exp');
    }
    expect(claims.exp - claims.iat).toBe(90);
  });

  it('signs with JWT_PRIVATE_KEY when JWT_PUBLIC_KEY is set, and needs it', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const JWT_PUBLIC_KEY = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const JWT_PRIVATE_KEY = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const signed = await tokenScript(['--sub', 'carol'], { JWT_PUBLIC_KEY, JWT_PRIVATE_KEY });
    expect(signed.code).toBe(0);
    expect(
      jwt.verify(signed.stdout.trim(), JWT_PUBLIC_KEY, { algorithms: ['ES256'] }),
    ).toMatchObject({
      sub: 'carol',
    });

    const missing = await tokenScript(['--sub', 'carol'], { JWT_PUBLIC_KEY });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/JWT_PRIVATE_KEY/);

    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const mismatched = await tokenScript(['--sub', 'carol'], {
      JWT_PUBLIC_KEY,
      JWT_PRIVATE_KEY: other.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    expect(mismatched.code).toBe(1);
    expect(mismatched.stdout).toBe('');
    expect(mismatched.stderr).toMatch(/does not verify/);
  });

  it('refuses production without a key', async () => {
    const { code, stdout, stderr } = await tokenScript(['--sub', 'alice'], {
      NODE_ENV: 'production',
      DATA_DIR: temporaryDir(),
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/JWT_SECRET/);
  });

  it.each([
    [['--sub', 'alice', '--ttl', '1y'], /--ttl/],
    [['--sub', 'alice', '--ttl', '0'], /--ttl/],
    [['--sub', 'alice', '--ttl', '366d'], /--ttl/],
    [['--sub', 'alice', '--ttl', '-5'], /ttl/],
    [['--ttl', '1h'], /--sub/],
    [['--sub', ''], /--sub/],
    [['--sub', 'alice', '--bogus'], /bogus/],
    [['--sub', 'alice', 'extra'], /extra/],
  ])('exits 2 for %j', async (args, message) => {
    const { code, stdout, stderr } = await tokenScript(args, { DATA_DIR: temporaryDir() });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it('prints usage for --help', async () => {
    const { code, stdout } = await tokenScript(['--help'], {});
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: npm run token -- --sub/);
  });
});

describe('the dev secret file', () => {
  it('is what the token script reads', async () => {
    const dataDir = temporaryDir();
    const secret = loadOrCreateDevSecret(dataDir);
    const { stdout } = await tokenScript(['--sub', 'zoe'], { DATA_DIR: dataDir });
    expect(readFileSync(join(dataDir, DEV_SECRET_FILE), 'utf8').trim()).toBe(secret);
    expect(jwt.verify(stdout.trim(), secret, { algorithms: ['HS256'] })).toMatchObject({
      sub: 'zoe',
    });
  });
});
