import { UnavailableError } from '../operations/errors.js';

/**
 * True when `error` is, or was caused by, an `UnavailableError`: a backing service (database, event
 * bus) could not be reached, so clients get SERVICE_UNAVAILABLE and may retry. The adapters decide
 * what counts; this layer knows no database or Redis error codes.
 */
export function isUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof UnavailableError) return true;
    current = current.cause;
  }
  return false;
}
