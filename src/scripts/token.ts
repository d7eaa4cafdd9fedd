import { createPrivateKey, type KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadOrCreateDevSecret } from '../auth/dev-key.js';
import { algorithmFor, createVerifier, keysFromConfig, mintToken } from '../auth/jwt.js';
import { loadConfig } from '../config.js';

const USAGE = `Usage: npm run token -- --sub <user> [--admin] [--ttl <duration>]

Prints a bearer token for longrun on stdout, signed with the configured key:
JWT_SECRET (HS256), JWT_PRIVATE_KEY matching JWT_PUBLIC_KEY (RS256/ES256), or, outside
production with neither set, the development secret in DATA_DIR (./data by default).

Options:
  --sub <user>      the token's subject (required)
  --admin           add roles: ["admin"]
  --ttl <duration>  lifetime: 30s, 15m, 1h, 7d or plain seconds (default 1h, at most 365d)
  -h, --help        show this text`;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };
const MAX_TTL_SEC = 365 * 86_400;

/** A bad invocation: exit 2 with the message and a hint. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parseTtl(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_TTL_SEC)) {
    throw new UsageError(
      `--ttl: expected 30s, 15m, 1h, 7d or plain seconds between 1 and 365d, got "${text}".`,
    );
  }
  return seconds;
}

function parse(argv: string[]): { sub: string; admin: boolean; ttlSec: number } | 'help' {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    values = parseOptions(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const sub = values.sub?.trim() ?? '';
  if (sub === '') throw new UsageError('--sub is required and must not be empty.');
  if (sub.length > 255) throw new UsageError('--sub must be at most 255 characters.');
  return { sub, admin: values.admin ?? false, ttlSec: parseTtl(values.ttl ?? '1h') };
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      sub: { type: 'string' },
      admin: { type: 'boolean' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function signingKey(verifierKey: KeyObject): KeyObject {
  if (verifierKey.type === 'secret') return verifierKey;
  const pem = process.env.JWT_PRIVATE_KEY;
  if (pem === undefined || pem.trim() === '') {
    throw new Error('JWT_PUBLIC_KEY is set: set JWT_PRIVATE_KEY to the matching PEM private key.');
  }
  try {
    return createPrivateKey({ key: pem.includes('\n') ? pem : pem.replaceAll('\\n', '\n') });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`JWT_PRIVATE_KEY: not a PEM private key (${reason}).`);
  }
}

function main(argv: string[]): number {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`token: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const config = loadConfig(process.env);
    const hasKey = config.jwt.secret !== null || config.jwt.publicKey !== null;
    const keys = keysFromConfig(config.jwt, hasKey ? null : loadOrCreateDevSecret(config.dataDir));
    const key = signingKey(keys.key);
    const token = mintToken(
      { ...args, issuer: config.jwt.issuer, audience: config.jwt.audience },
      key,
      algorithmFor(key),
    );
    // Check the token the way the server will, so a mismatched key pair fails here, not there.
    const check = createVerifier(keys, config.jwt).verify(token);
    if (!check.ok) {
      throw new Error(`the minted token does not verify with the server's key: ${check.reason}.`);
    }
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
