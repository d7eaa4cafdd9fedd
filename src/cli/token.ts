import { createPrivateKey, type KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadOrCreateDevSecret } from '../auth/dev-key.js';
import { algorithmFor, createVerifier, keysFromConfig, mintToken } from '../auth/jwt.js';
import { loadConfig } from '../config.js';
import { parseArgsMessage } from './args.js';
import { UsageError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/** How the token command is invoked: `npm run token --` or `longrun token`. */
export interface TokenProgram {
  /** Shown in the usage line, e.g. `longrun token`. */
  readonly invocation: string;
  /** Prefix of error lines, e.g. `longrun`. */
  readonly name: string;
}

/** `longrun token`. */
export const LONGRUN_TOKEN: TokenProgram = { invocation: 'longrun token', name: 'longrun' };

const usage = (
  program: TokenProgram,
) => `Usage: ${program.invocation} --sub <user> [--admin] [--ttl <duration>]

Prints a bearer token for longrun on stdout, signed with the configured key:
JWT_SECRET (HS256), JWT_PRIVATE_KEY matching JWT_PUBLIC_KEY (RS256/ES256), or, outside
production with neither set, the development secret in DATA_DIR (./data by default).

Options:
  --sub <user>      the token's subject (required)
  --admin           add roles: ["admin"]
  --ttl <duration>  lifetime: 30s, 15m, 1h, 7d or plain seconds (default 1h, at most 365d)
  -h, --help        show this text

Exit codes: 0 printed, 1 no usable key, 2 bad arguments.`;

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };
const MAX_TTL_SEC = 365 * 86_400;

function parseTtl(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_TTL_SEC)) {
    throw new UsageError(
      `--ttl: expected 30s, 15m, 1h, 7d or plain seconds between 1 and 365d, got "${text}"`,
    );
  }
  return seconds;
}

interface TokenArgs {
  readonly sub: string;
  readonly admin: boolean;
  readonly ttlSec: number;
}

function parse(argv: readonly string[]): TokenArgs | 'help' {
  let values: { sub?: string; admin?: boolean; ttl?: string; help?: boolean };
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        sub: { type: 'string' },
        admin: { type: 'boolean' },
        ttl: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  if (values.help) return 'help';
  const sub = values.sub?.trim() ?? '';
  if (sub === '') throw new UsageError('--sub is required and must not be empty');
  if (sub.length > 255) throw new UsageError('--sub must be at most 255 characters');
  return { sub, admin: values.admin ?? false, ttlSec: parseTtl(values.ttl ?? '1h') };
}

function signingKey(verifierKey: KeyObject, privatePem: string | undefined): KeyObject {
  if (verifierKey.type === 'secret') return verifierKey;
  if (privatePem === undefined || privatePem.trim() === '') {
    throw new Error('JWT_PUBLIC_KEY is set: set JWT_PRIVATE_KEY to the matching PEM private key.');
  }
  try {
    return createPrivateKey({
      key: privatePem.includes('\n') ? privatePem : privatePem.replaceAll('\\n', '\n'),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`JWT_PRIVATE_KEY: not a PEM private key (${reason}).`);
  }
}

/** Signs a token for `args` with the key the server configured in `env` would verify it with. */
function mintConfigured(args: TokenArgs, env: CliIo['env']): string {
  const config = loadConfig(env);
  const hasKey = config.jwt.secret !== null || config.jwt.publicKey !== null;
  const keys = keysFromConfig(config.jwt, hasKey ? null : loadOrCreateDevSecret(config.dataDir));
  const key = signingKey(keys.key, env.JWT_PRIVATE_KEY);
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
  return token;
}

/**
 * The token command (`npm run token` and `longrun token`): prints a token signed with the
 * configured key, or the development key in DATA_DIR (made when missing); returns the exit code.
 */
export function runToken(
  argv: readonly string[],
  io: Pick<CliIo, 'env' | 'stdout' | 'stderr'>,
  program: TokenProgram = LONGRUN_TOKEN,
): number {
  let args: TokenArgs | 'help';
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${program.name}: ${error.message} (run with --help for usage)\n`);
    return ExitCode.Usage;
  }
  if (args === 'help') {
    io.stdout.write(`${usage(program)}\n`);
    return ExitCode.Ok;
  }
  try {
    io.stdout.write(`${mintConfigured(args, io.env)}\n`);
    return ExitCode.Ok;
  } catch (error) {
    io.stderr.write(`${program.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Failed;
  }
}
