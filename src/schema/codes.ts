import { GraphQLError } from 'graphql';

/** The `extensions.code` values clients can rely on. */
export const ErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  BadUserInput: 'BAD_USER_INPUT',
  BadRequest: 'BAD_REQUEST',
  Internal: 'INTERNAL_SERVER_ERROR',
  ServiceUnavailable: 'SERVICE_UNAVAILABLE',
  /** The request's cost, measured before it ran, is over `MAX_QUERY_COST`; nothing ran. */
  CostLimitExceeded: 'COST_LIMIT_EXCEEDED',
  /** The user already holds `MAX_SUBSCRIPTIONS_PER_USER` live subscriptions. */
  TooManySubscriptions: 'TOO_MANY_SUBSCRIPTIONS',
  /** A live stream fell too far behind its reader and was ended; subscribe again. */
  SubscriberTooSlow: 'SUBSCRIBER_TOO_SLOW',
  /** `createWatchToken` on a server without a watch token key (production without `WATCH_TOKEN_SECRET`). */
  WatchLinksDisabled: 'WATCH_LINKS_DISABLED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** No or bad bearer token: HTTP 401, nothing read or changed. */
export function unauthenticated(message = 'A valid bearer token is required.'): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.Unauthenticated, http: { status: 401 } },
  });
}

/** The token is valid but may not do this (a watch token asking for a mutation): HTTP 403. */
export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.Forbidden, http: { status: 403 } },
  });
}

/** The operation does not exist or the viewer may not see it (the two look the same). */
export function notFound(id: string): GraphQLError {
  return new GraphQLError('No such operation.', {
    extensions: { code: ErrorCode.NotFound, id },
  });
}

/** An argument outside what the API accepts; nothing was read or changed. */
export function badUserInput(message: string, field: string | null): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BadUserInput, ...(field ? { field } : {}) },
  });
}

/** The request would cost more than the limit: refused before anything executes. */
export function costLimitExceeded(cost: number, limit: number): GraphQLError {
  return new GraphQLError(
    `The request costs ${cost}, more than the limit of ${limit}: ask for smaller pages (first/last) or fewer fields.`,
    {
      extensions: {
        code: ErrorCode.CostLimitExceeded,
        cost,
        limit,
      },
    },
  );
}

/** Watch links are off on this server; nothing was changed. */
export function watchLinksDisabled(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.WatchLinksDisabled } });
}

/** A live stream was ended because its reader fell too far behind (status changes never skip). */
export function subscriberTooSlow(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.SubscriberTooSlow } });
}
