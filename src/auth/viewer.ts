/** The authenticated caller, built from a verified bearer token. */
export interface Viewer {
  /** The token's `sub`: the user who owns the operations they start. */
  readonly id: string;
  /** True when the token's `roles` array contains exactly `'admin'`. */
  readonly isAdmin: boolean;
  /** When the token expires: live streams and sockets end here. */
  readonly expiresAt: Date;
}

/**
 * The one ownership rule: a viewer may see, cancel and watch an operation they own, and an admin
 * any operation; callers treat `false` exactly like a missing operation.
 */
export function canSee(viewer: Viewer, op: { readonly ownerId: string }): boolean {
  return viewer.isAdmin || op.ownerId === viewer.id;
}
