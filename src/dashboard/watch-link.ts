import type { Operation } from '../client/index.js';
import { OperationStatus } from '../client/status.js';

/** What the watch page reads from its URL: `#token=<watch token>`. */
export interface WatchLink {
  readonly token: string;
  /** The raw id of the operation the token reads (its `op` claim). */
  readonly operationId: string;
  /** When the token stops being accepted (its `exp` claim). */
  readonly expiresAt: Date;
}

/** The fields of an operation the page shows. */
export type WatchedOperation = Pick<
  Operation,
  | 'id'
  | 'kind'
  | 'status'
  | 'done'
  | 'progress'
  | 'message'
  | 'error'
  | 'finishedAt'
  | 'cancelledBy'
  | 'cancelReason'
  | 'revision'
>;

/** The subscription the page opens: the operation's state, then every change to its end. */
export const WATCH_SUBSCRIPTION = `subscription Watch($id: ID!) {
  operationUpdated(id: $id) {
    id kind status done progress message error { code message }
    finishedAt cancelledBy cancelReason revision
  }
}`;

function base64UrlJson(part: string): unknown {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/**
 * The watch link in a URL fragment (`#token=…`), or null when there is none or it is not a watch
 * token. The claims are read, not verified: the server verifies the token on every request, the
 * page only needs to know what to ask for and until when.
 */
export function readWatchLink(hash: string): WatchLink | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token')?.trim() ?? '';
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  let claims: unknown;
  try {
    claims = base64UrlJson(payload);
  } catch {
    return null;
  }
  if (typeof claims !== 'object' || claims === null) return null;
  const { op, exp } = claims as { op?: unknown; exp?: unknown };
  if (typeof op !== 'string' || op === '' || typeof exp !== 'number') return null;
  return { token, operationId: op, expiresAt: new Date(exp * 1000) };
}

/** The URL of the page's EventSource: a GET subscription with the watch token as `access_token`. */
export function eventSourceUrl(apiUrl: string, link: WatchLink): string {
  const url = new URL(apiUrl);
  url.searchParams.set('query', WATCH_SUBSCRIPTION);
  url.searchParams.set('variables', JSON.stringify({ id: link.operationId }));
  url.searchParams.set('access_token', link.token);
  return url.href;
}

/** How a done operation ended, as one sentence; null while it runs. */
export function outcomeText(
  op: WatchedOperation,
  formatTime: (iso: string) => string,
): string | null {
  const at = op.finishedAt ? ` at ${formatTime(op.finishedAt)}` : '';
  switch (op.status) {
    case OperationStatus.Succeeded:
      return `Succeeded${at}.`;
    case OperationStatus.Failed:
      return op.error ? `Failed${at}: ${op.error.message} (${op.error.code}).` : `Failed${at}.`;
    case OperationStatus.Cancelled: {
      const by = op.cancelledBy ? ` by ${op.cancelledBy}` : '';
      const why = op.cancelReason ? `: “${op.cancelReason}”` : '';
      return `Cancelled${by}${at}${why}.`;
    }
    default:
      return null;
  }
}
