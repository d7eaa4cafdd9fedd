/** The authenticated caller, built from a verified bearer token. */
export interface Viewer {
  /** The token's `sub`: the user who owns the operations they start. */
  readonly id: string;
  /** True when the token's `roles` array contains exactly `'admin'`. */
  readonly isAdmin: boolean;
  /** When the token expires: live streams and sockets end here. */
  readonly expiresAt: Date;
  /**
   * Set for a watch token: the raw id of the one operation it may read. Such a viewer sees
   * nothing else and changes nothing; absent for a user token.
   */
  readonly watchOnly?: string;
}

/**
 * The one ownership rule: a viewer may see, cancel and watch an operation they own, and an admin
 * any operation; a watch token only its one operation. Callers treat `false` exactly like a
 * missing operation.
 */
export function canSee(
  viewer: Viewer,
  op: { readonly id: string; readonly ownerId: string },
): boolean {
  if (viewer.watchOnly !== undefined) return op.id === viewer.watchOnly;
  return viewer.isAdmin || op.ownerId === viewer.id;
}

/**
 * Whose quota a viewer's sockets and streams count against: the user's for a user token, the
 * operation's for a watch token, so that whoever holds a watch link cannot use up the quota of the
 * user who granted it. The two kinds of key never collide.
 */
export function quotaHolder(viewer: Viewer): string {
  return viewer.watchOnly === undefined ? userQuota(viewer.id) : `watch:${viewer.watchOnly}`;
}

/** The quota key of the user `id` (see `quotaHolder`). */
export function userQuota(id: string): string {
  return `user:${id}`;
}

/** True for a watch token's viewer: it reads one operation and may change nothing. */
export function isWatchOnly(viewer: Viewer): boolean {
  return viewer.watchOnly !== undefined;
}
