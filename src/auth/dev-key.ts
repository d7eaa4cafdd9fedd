import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';

/** File name of the development secret inside the data directory. */
export const DEV_SECRET_FILE = 'dev-jwt-secret';

/** File name of the development key of watch tokens inside the data directory. */
export const DEV_WATCH_SECRET_FILE = 'dev-watch-secret';

const SECRET_SHAPE = /^[A-Za-z0-9_-]{32,}$/;

function readSecret(file: string): string {
  const secret = readFileSync(file, 'utf8').trim();
  if (!SECRET_SHAPE.test(secret)) {
    throw new Error(
      `${file} does not hold a development secret; delete it to have a new one made.`,
    );
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return secret;
}

/**
 * The development HS256 secret kept in `<dataDir>/<name>` (mode 0600, `dev-jwt-secret` unless
 * named), made on first use, so the start-up token and `npm run token` agree across restarts;
 * never used in production.
 */
export function loadOrCreateDevSecret(dataDir: string, name: string = DEV_SECRET_FILE): string {
  const file = join(dataDir, name);
  try {
    return readSecret(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  // Write a complete temporary file, then link it into place: link() fails if the name exists,
  // so two processes starting at once agree on one secret and neither reads a half-written file.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(48).toString('base64url')}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readSecret(file);
}

/**
 * The start-up notice for development mode with a ready-to-paste `Authorization` header; the
 * caller writes it once to stdout, never through the logger, so the token stays out of logs.
 */
export function devBanner(token: string, url: string): string {
  const claims = jwt.decode(token, { json: true });
  const who = typeof claims?.sub === 'string' ? `user "${claims.sub}"` : 'the development user';
  const role = Array.isArray(claims?.roles) && claims.roles.includes('admin') ? ', admin' : '';
  const until =
    typeof claims?.exp === 'number'
      ? `, valid until ${new Date(claims.exp * 1000).toISOString()}`
      : '';
  return [
    '',
    'longrun is running in DEVELOPMENT mode: no JWT_SECRET or JWT_PUBLIC_KEY is set, so tokens are',
    `signed with a generated development secret kept in the data directory (${DEV_SECRET_FILE}).`,
    'Never rely on it in production: set a key and NODE_ENV=production.',
    '',
    `GraphQL endpoint: ${url} (GraphiQL in a browser)`,
    `Live dashboard:   ${new URL('/', url).href}`,
    `Send this header (${who}${role}${until}):`,
    '',
    `  Authorization: Bearer ${token}`,
    '',
    'Both already hold this token. More tokens: npx longrun token --sub alice [--admin] [--ttl 1h]',
    '',
  ].join('\n');
}
