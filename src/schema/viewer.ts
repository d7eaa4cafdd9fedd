import type { Viewer } from '../auth/viewer.js';
import { builder } from './builder.js';

/** `type Viewer`. */
export const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    isAdmin: t.exposeBoolean('isAdmin'),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    authScopes: { authenticated: true },
    resolve: (_root, _args, { viewer }) => viewer,
  }),
}));
