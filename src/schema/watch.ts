import type { Viewer } from '../auth/viewer.js';
import { NotFoundError, ValidationError, WatchLinksDisabledError } from '../operations/errors.js';
import { type WatchGrant, watchPageUrl } from '../operations/watch-links.js';
import { builder } from './builder.js';
import { watchLinksDisabled } from './codes.js';
import { COST } from './cost.js';
import { parseOperationId } from './ids.js';
import { OperationRef } from './operation.js';
import { ViewerRef } from './viewer.js';

const CreateWatchTokenInput = builder.inputType('CreateWatchTokenInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    ttlSeconds: t.int({
      required: false,
      description: 'Lifetime of the token; default 3600, at most 86400.',
    }),
  }),
});

const CreateWatchTokenSuccess = builder
  .objectRef<WatchGrant & { readonly watchUrl: string }>('CreateWatchTokenSuccess')
  .implement({
    isTypeOf: (value) => typeof value === 'object' && value !== null && 'watchUrl' in value,
    fields: (t) => ({
      token: t.exposeString('token'),
      expiresAt: t.field({ type: 'DateTime', resolve: (grant) => grant.expiresAt }),
      watchUrl: t.exposeString('watchUrl', {
        description: 'A page of this server that shows the operation live, with the token in it.',
      }),
      operation: t.field({ type: OperationRef, resolve: (grant) => grant.operation }),
    }),
  });

const RenewSessionSuccess = builder
  .objectRef<{ readonly renewed: Viewer }>('RenewSessionSuccess')
  .implement({
    isTypeOf: (value) => typeof value === 'object' && value !== null && 'renewed' in value,
    fields: (t) => ({
      viewer: t.field({ type: ViewerRef, resolve: (r) => r.renewed }),
      expiresAt: t.field({ type: 'DateTime', resolve: (r) => r.renewed.expiresAt }),
    }),
  });

/** The token in `renewSession`'s argument: bare, or as an `Authorization` value. */
const bareToken = (token: string) => token.trim().replace(/^Bearer\s+/i, '');

builder.mutationFields((t) => ({
  createWatchToken: t.field({
    type: CreateWatchTokenSuccess,
    description:
      'A read-only token for one operation, to hand to a page or a script that should watch it and nothing else.',
    authScopes: { authenticated: true },
    complexity: COST.grant,
    errors: {
      types: [NotFoundError, ValidationError],
      directResult: true,
      union: { name: 'CreateWatchTokenResult' },
    },
    args: { input: t.arg({ type: CreateWatchTokenInput, required: true }) },
    resolve: async (_root, { input }, { watchLinks, viewer, publicBase }) => {
      try {
        const grant = await watchLinks.create(
          viewer,
          parseOperationId(input.id),
          input.id,
          input.ttlSeconds,
        );
        return { ...grant, watchUrl: watchPageUrl(publicBase, grant.token) };
      } catch (error) {
        throw error instanceof WatchLinksDisabledError ? watchLinksDisabled(error.message) : error;
      }
    },
  }),
  renewSession: t.field({
    type: RenewSessionSuccess,
    description:
      "Over a WebSocket: replaces the connection's token without dropping its subscriptions. The new token must have\nthe same sub (otherwise the socket is closed with 4403). Elsewhere: ValidationError.",
    authScopes: { authenticated: true },
    errors: { types: [ValidationError], directResult: true, union: { name: 'RenewSessionResult' } },
    args: { token: t.arg.string({ required: true }) },
    resolve: (_root, { token }, { session }) => {
      if (session === null) {
        throw new ValidationError(
          'renewSession renews a WebSocket connection; over HTTP and SSE each request carries its own token.',
          'token',
        );
      }
      const outcome = session.renew(bareToken(token));
      switch (outcome.kind) {
        case 'renewed':
          return { renewed: outcome.viewer };
        case 'invalid':
          throw new ValidationError(
            'token: is not a valid token; the connection keeps its current one until it expires.',
            'token',
          );
        case 'other-principal':
          throw new ValidationError(
            'token: names another user or role; the connection is closed.',
            'token',
          );
      }
    },
  }),
}));
