import { isWatchOnly, type Viewer } from '../auth/viewer.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { OperationRecord } from './model.js';
import type { OperationsService } from './service.js';

/** Lifetimes a watch token may be given, in seconds (SEMANTICS.md, "Frontends, scripts and token renewal"). */
export const WATCH_TTL_SECONDS = { default: 3_600, min: 1, max: 86_400 } as const;

/**
 * The path of the watch page, relative to the server's public base URL. The token travels in the
 * fragment (`#token=…`): browsers send a fragment neither to the server nor in `Referer`.
 */
export const WATCH_PAGE_PATH = 'watch';

/** Signs watch tokens (the port `auth/watch-token.ts` implements). */
export interface WatchTokenSigner {
  mint(grant: {
    readonly sub: string;
    readonly operationId: string;
    readonly ttlSeconds: number;
  }): {
    readonly token: string;
    readonly expiresAt: Date;
  };
}

/** A granted watch token and the operation it reads. */
export interface WatchGrant {
  readonly token: string;
  readonly expiresAt: Date;
  readonly operation: OperationRecord;
}

/** Grants read-only tokens for one operation. */
export interface WatchLinks {
  /**
   * A token that reads operation `id` (parsed raw id, null when malformed; `givenId` as sent) for
   * `ttlSeconds` (default one hour). The owner or an admin only: anyone else, like a missing id,
   * gets `NotFoundError`; a lifetime outside 1..86400 is a `ValidationError`.
   */
  create(
    viewer: Viewer,
    id: string | null,
    givenId: string,
    ttlSeconds: number | null | undefined,
  ): Promise<WatchGrant>;
}

/** The watch page's URL for `token`, under the server's public `base` URL. */
export function watchPageUrl(base: URL, token: string): string {
  const url = new URL(WATCH_PAGE_PATH, base);
  url.hash = `token=${token}`;
  return url.href;
}

/** Watch links over the service's visibility rule and a token signer. */
export function createWatchLinks(deps: {
  readonly operations: Pick<OperationsService, 'get'>;
  readonly tokens: WatchTokenSigner;
}): WatchLinks {
  return {
    async create(viewer, id, givenId, ttlSeconds) {
      const ttl = ttlSeconds ?? WATCH_TTL_SECONDS.default;
      if (!Number.isInteger(ttl) || ttl < WATCH_TTL_SECONDS.min || ttl > WATCH_TTL_SECONDS.max) {
        throw new ValidationError(
          `ttlSeconds: must be a whole number from ${WATCH_TTL_SECONDS.min} to ${WATCH_TTL_SECONDS.max}.`,
          'ttlSeconds',
        );
      }
      const operation = await deps.operations.get(viewer, id);
      // A watch token could otherwise mint itself a longer life; the transport refuses its
      // mutations first, this keeps the rule true for any other caller of the service.
      if (operation === null || isWatchOnly(viewer)) throw new NotFoundError(givenId);
      const { token, expiresAt } = deps.tokens.mint({
        sub: viewer.id,
        operationId: operation.id,
        ttlSeconds: ttl,
      });
      return { token, expiresAt, operation };
    },
  };
}

/**
 * A live stream that yields nothing and ends when `signal` aborts: what a watch token gets from a
 * feed of many operations (its lists are empty), without a completion that would make a client
 * subscribe again at once.
 */
export function silentStream<T>(signal: AbortSignal): AsyncIterableIterator<T> {
  const done: IteratorResult<T> = { done: true, value: undefined };
  let finish: () => void = () => undefined;
  const ended = new Promise<IteratorResult<T>>((resolve) => {
    finish = () => resolve(done);
  });
  if (signal.aborted) finish();
  else signal.addEventListener('abort', finish, { once: true });
  return {
    next: () => ended,
    return: () => {
      signal.removeEventListener('abort', finish);
      finish();
      return Promise.resolve(done);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
