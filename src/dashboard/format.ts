import type { Operation } from '../client/index.js';
import { OperationStatus } from '../client/status.js';

const STATUS_LABELS: Readonly<Record<OperationStatus, string>> = {
  PENDING: 'Pending',
  RUNNING: 'Running',
  CANCELLING: 'Cancelling',
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};

/** Whether a Cancel button is offered: a cancel of a CANCELLING operation changes nothing. */
export function isCancellable(op: Operation): boolean {
  return op.status === OperationStatus.Pending || op.status === OperationStatus.Running;
}

/**
 * Whether a Retry button is offered: a run that failed or was cancelled. The server retries any
 * done operation (SUCCEEDED too, through the API and the CLI); the dashboard offers it where a
 * second run is what people want.
 */
export function isRetryable(op: Operation): boolean {
  return op.status === OperationStatus.Failed || op.status === OperationStatus.Cancelled;
}

/** The status as people read it ("Running"). */
export function statusLabel(status: OperationStatus): string {
  return STATUS_LABELS[status];
}

/** The raw id inside a Relay global id (`base64("Operation:<raw>")`), or the id as given. */
function rawId(id: string): string {
  try {
    const decoded = atob(id);
    const colon = decoded.indexOf(':');
    if (colon > 0 && /^[\x20-\x7e]+$/.test(decoded)) return decoded.slice(colon + 1);
  } catch {
    // Not base64: a raw id already.
  }
  return id;
}

/** A short handle for an operation in labels and announcements: the tail of its raw id. */
export function shortId(id: string): string {
  const raw = rawId(id).replace(/=+$/, '');
  return raw.length <= 8 ? raw : `…${raw.slice(-8)}`;
}

/** "demo.sleep …AxYz": names one operation in accessible labels. */
export function operationName(op: Pick<Operation, 'id' | 'kind'>): string {
  return `${op.kind} ${shortId(op.id)}`;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function relativeAge(fromIso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** What the message column shows: the handler's message, or why it ended. */
export function displayMessage(op: Operation): string {
  if (
    op.error &&
    (op.status === OperationStatus.Failed || op.status === OperationStatus.Cancelled)
  ) {
    return op.error.code === 'CANCELLED'
      ? op.error.message
      : `${op.error.code}: ${op.error.message}`;
  }
  if (op.status === OperationStatus.Cancelling)
    return op.cancelReason ? `Cancelling: ${op.cancelReason}` : 'Cancelling…';
  return op.message ?? '';
}

/** Progress to draw, 0..1; null while it is unknown (a running op that has not reported yet). */
export function displayProgress(op: Pick<Operation, 'progress' | 'status'>): number | null {
  if (op.progress !== null) return op.progress;
  if (op.status === OperationStatus.Succeeded) return 1;
  if (op.status === OperationStatus.Running || op.status === OperationStatus.Cancelling)
    return null;
  return 0;
}
