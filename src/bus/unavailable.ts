import { UnavailableError } from '../operations/errors.js';

/**
 * The error a Redis command of the bus rejects with. The bus sends only well-formed commands, so
 * any failure (connection refused or closed, offline with no queue, command timeout) means Redis
 * cannot be reached right now: `UnavailableError`, with ioredis's error as its cause.
 */
export function busUnavailable(error: unknown): UnavailableError {
  return error instanceof UnavailableError ? error : new UnavailableError('event bus', error);
}
