import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_SECRET_FILE, loadOrCreateDevSecret } from '../auth/dev-key.js';
import { keysFromConfig, mintToken } from '../auth/jwt.js';
import { createOperationsClient, type OperationsClient } from '../client/node.js';
import { loadConfig } from '../config.js';
import type { GlobalValues } from './args.js';
import { CliError, UsageError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Where `--url` and `LONGRUN_URL` point when neither is set: a local `npm start`. */
export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

/** The development token's subject and role: the same user as the server's start-up banner. */
const DEV_SUBJECT = 'developer';
/** Development tokens are minted afresh for every request and reconnection; short is enough. */
const DEV_TOKEN_TTL_SEC = 600;

/** A connected client and the URL it talks to (for messages). */
export interface Connection {
  readonly client: OperationsClient;
  readonly url: string;
}

/** How the CLI authenticates: a fixed token, a development key, or nothing (and why). */
type Auth =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'dev'; readonly getToken: () => string }
  | { readonly kind: 'none'; readonly why: string };

function resolveUrl(values: GlobalValues, env: CliIo['env']): string {
  const text = values.url ?? (env.LONGRUN_URL?.trim() || DEFAULT_URL);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url: not a URL: "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url: expected an http:// or https:// URL, got "${text}"`);
  }
  return url.href;
}

/**
 * `--token`, else `LONGRUN_TOKEN`, else the development key of a local server: only when the
 * server's configuration (read from the same environment) has no key, is not production, and
 * the key file already exists in DATA_DIR. The CLI never creates that file.
 */
function resolveAuth(values: GlobalValues, env: CliIo['env']): Auth {
  const given = values.token ?? env.LONGRUN_TOKEN;
  if (given !== undefined && given.trim() !== '') {
    return { kind: 'token', token: given.trim().replace(/^Bearer\s+/i, '') };
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (error) {
    return { kind: 'none', why: error instanceof Error ? error.message : String(error) };
  }
  if (config.jwt.secret !== null || config.jwt.publicKey !== null) {
    return {
      kind: 'none',
      why: 'a key is configured: mint a token with "longrun token --sub <user>"',
    };
  }
  if (config.production) return { kind: 'none', why: 'NODE_ENV is production' };
  if (!existsSync(join(config.dataDir, DEV_SECRET_FILE))) {
    return { kind: 'none', why: `no development key in ${config.dataDir}` };
  }
  const keys = keysFromConfig(config.jwt, loadOrCreateDevSecret(config.dataDir));
  const claims = {
    sub: DEV_SUBJECT,
    admin: true,
    ttlSec: DEV_TOKEN_TTL_SEC,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  };
  return { kind: 'dev', getToken: () => mintToken(claims, keys.key, 'HS256') };
}

/** A client for the global options and environment; throws `CliError` when it cannot be made. */
export function connect(values: GlobalValues, env: CliIo['env']): Connection {
  const url = resolveUrl(values, env);
  const auth = resolveAuth(values, env);
  if (auth.kind === 'none') {
    throw new CliError(
      `no token: pass --token <jwt> or set LONGRUN_TOKEN (${auth.why})`,
      ExitCode.Unavailable,
    );
  }
  const client = createOperationsClient({
    url,
    ...(auth.kind === 'token' ? { token: auth.token } : { getToken: auth.getToken }),
    // A live stream survives a server restart, but a CLI should not wait forever for a dead one.
    retry: { maxAttempts: 8, maxDelayMs: 5_000 },
  });
  return { client, url };
}
