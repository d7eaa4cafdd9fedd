import { ClientErrorCode, isOperationsClientError } from '../client/node.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { printable } from './terminal-text.js';

/** System error codes of a failed connection, as the reason shown in parentheses. */
const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  CERT_HAS_EXPIRED: 'certificate expired',
};

/** The first system error code (ECONNREFUSED, …) along the `cause` chain. */
function systemCode(error: unknown): string | null {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code in NETWORK_REASONS) return code;
    // AggregateError (both IPv4 and IPv6 refused) keeps its parts in `errors`.
    const parts = (current as { errors?: unknown }).errors;
    if (Array.isArray(parts) && parts.length > 0) return systemCode(parts[0]);
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** The message of the innermost `cause` ("bad port" rather than "fetch failed"). */
function rootMessage(error: unknown): string | null {
  let message: string | null = null;
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    message = current.message;
    current = current.cause;
  }
  return message;
}

/**
 * A message as a clause: no capital first letter, no final period, and control characters (it
 * may come from the server) written as escapes.
 */
export function clause(message: string): string {
  const trimmed = printable(message.trim().replace(/\.$/, ''));
  return trimmed.charAt(0).toLowerCase() + trimmed.slice(1);
}

/** A `ValidationError` result as a line: `invalid input.ms: too small: …`. */
export function invalid(error: {
  readonly message: string;
  readonly field: string | null;
}): string {
  const message = clause(error.message);
  if (error.field === null || message.startsWith(`${error.field.toLowerCase()}:`)) {
    return `invalid ${message}`;
  }
  return `invalid ${error.field}: ${message}`;
}

/**
 * Turns anything a command threw into the one line and exit code the user sees: client errors by
 * their code, `CliError` as it is, anything else as an unexpected failure (exit 1).
 */
export function toCliError(error: unknown, url: string | null): CliError {
  if (error instanceof CliError) return error;
  if (!isOperationsClientError(error)) {
    return new CliError(error instanceof Error ? error.message : String(error), ExitCode.Failed);
  }
  const where = url ?? 'the server';
  switch (error.code) {
    case ClientErrorCode.Network: {
      const code = systemCode(error.cause);
      const root = code ? NETWORK_REASONS[code] : rootMessage(error.cause);
      // Without a cause the client's own message says it all ("the live connection … failed").
      const message = root ? `cannot reach ${where} (${clause(root)})` : clause(error.message);
      return new CliError(message, ExitCode.Unavailable);
    }
    case ClientErrorCode.Timeout:
      return new CliError(clause(error.message), ExitCode.Unavailable);
    case ClientErrorCode.Unauthenticated:
      return new CliError(
        `not authenticated: ${clause(error.message)} (check --token or LONGRUN_TOKEN)`,
        ExitCode.Unavailable,
      );
    case ClientErrorCode.ServiceUnavailable:
      return new CliError(
        `${where} is unavailable: ${clause(error.message)}`,
        ExitCode.Unavailable,
      );
    case ClientErrorCode.Protocol:
      return new CliError(
        `${clause(error.message)}: is it a longrun GraphQL endpoint?`,
        ExitCode.Unavailable,
      );
    case ClientErrorCode.NotFound:
      return new CliError(clause(error.message), ExitCode.NotFound);
    case ClientErrorCode.BadUserInput:
    case ClientErrorCode.BadRequest:
      return new CliError(clause(error.message), ExitCode.Usage);
    case ClientErrorCode.Aborted:
      return new CliError('interrupted', ExitCode.Interrupted);
    default: {
      const request = error.requestId ? ` (request id ${error.requestId})` : '';
      return new CliError(`the server failed: ${clause(error.message)}${request}`, ExitCode.Failed);
    }
  }
}
