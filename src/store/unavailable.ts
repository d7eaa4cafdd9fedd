import { UnavailableError } from '../operations/errors.js';

// Errors that say the database cannot be reached or cannot take more work right now, rather than
// that a statement is wrong: the socket-level codes Node and node-postgres raise, SQLite's busy
// timeout, and PostgreSQL's connection-exception class (08xxx) and shutdown/overload codes.
const CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'SQLITE_BUSY',
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement_timeout)
  '53300', // too_many_connections
]);

// node-postgres and its pool report a lost or refused connection with plain Errors and no code.
const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Query read timeout',
];

function isConnectionFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return false;
    const { code, message, cause } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string' && (CODES.has(code) || code.startsWith('08'))) return true;
    if (typeof message === 'string' && MESSAGES.some((text) => message.includes(text))) return true;
    current = cause;
  }
  return false;
}

/**
 * The error a store call rejects with: `UnavailableError` (the driver's error as its cause) when
 * the database is unreachable, lost the connection or is overloaded; otherwise `error` unchanged.
 */
export function storeError(error: unknown): unknown {
  if (error instanceof UnavailableError || !isConnectionFailure(error)) return error;
  return new UnavailableError('database', error);
}
