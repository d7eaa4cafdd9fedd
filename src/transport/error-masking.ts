import { GraphQLError } from 'graphql';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../schema/codes.js';
import { isUnavailable } from './unavailable.js';

/**
 * Masks every error that is not ours. A masked error is logged with the id of its request, which
 * it then carries in its extensions, as its result leaves (`report`): the edges know the request,
 * the masking hook does not.
 */
export class ErrorMasking {
  readonly #logger: Logger;
  /** Each masked error's cause, until it is reported. */
  readonly #causes = new WeakMap<GraphQLError, unknown>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** yoga's `maskError`: our errors pass, any other becomes a generic one. */
  readonly mask = (error: unknown): GraphQLError => {
    if (error instanceof GraphQLError) {
      const original = error.originalError;
      if (original === undefined || original === null || original instanceof GraphQLError) {
        return error;
      }
    }
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const at = error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {};
    const masked = isUnavailable(original)
      ? new GraphQLError('The service is temporarily unavailable; try again shortly.', {
          ...at,
          extensions: { code: ErrorCode.ServiceUnavailable, http: { status: 503 } },
        })
      : new GraphQLError('Unexpected error.', { ...at, extensions: { code: ErrorCode.Internal } });
    this.#causes.set(masked, original);
    return masked;
  };

  /** Logs each error of `errors` masked here with `requestId`, and adds the id to it. */
  report(errors: readonly unknown[] | undefined, requestId: string | null): void {
    if (errors === undefined) return;
    for (const error of errors) {
      if (!(error instanceof GraphQLError) || !this.#causes.has(error)) continue;
      const cause = this.#causes.get(error);
      this.#causes.delete(error);
      if (isUnavailable(cause)) {
        this.#logger.warn('a backing service is unavailable', { requestId, error: cause });
      } else {
        this.#logger.error('unexpected error', { requestId, error: cause });
      }
      if (requestId !== null) (error.extensions as Record<string, unknown>).requestId = requestId;
    }
  }
}
