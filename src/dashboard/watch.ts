import { OperationStatus } from '../client/status.js';
import { displayProgress, shortId, statusLabel } from './format.js';
import {
  eventSourceUrl,
  outcomeText,
  readWatchLink,
  type WatchedOperation,
  type WatchLink,
} from './watch-link.js';

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page has no #${id}.`);
  return found as T;
}

const ui = {
  kind: byId('watch-kind'),
  id: byId('watch-id'),
  status: byId('watch-status'),
  progress: byId<HTMLProgressElement>('watch-progress'),
  percent: byId('watch-percent'),
  message: byId('watch-message'),
  outcome: byId('watch-outcome'),
  notice: byId('watch-notice'),
  expiry: byId('watch-expiry'),
};

/** The GraphQL endpoint beside the page (both are served by the same longrun). */
const API_URL = new URL('graphql', document.baseURI).href;

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const formatTime = (iso: string) => timeFormat.format(new Date(iso));

/** A GraphQL error as the stream sends it. */
interface StreamError {
  readonly message: string;
  readonly extensions?: { readonly code?: string };
}

function notice(text: string | null): void {
  ui.notice.hidden = text === null;
  ui.notice.textContent = text ?? '';
}

function render(op: WatchedOperation): void {
  ui.kind.textContent = op.kind;
  ui.id.textContent = shortId(op.id);
  ui.status.textContent = statusLabel(op.status);
  ui.status.className = `status status-${op.status.toLowerCase()}`;
  const progress = displayProgress(op);
  if (progress === null) {
    ui.progress.removeAttribute('value');
    ui.percent.textContent = '';
  } else {
    ui.progress.value = progress;
    ui.percent.textContent = `${Math.round(progress * 100)}%`;
  }
  ui.progress.className = `progress-${op.status.toLowerCase()}`;
  ui.message.textContent = op.message ?? '';
  const outcome = outcomeText(op, formatTime);
  ui.outcome.hidden = outcome === null;
  ui.outcome.textContent = outcome ?? '';
  ui.outcome.dataset.status = op.status;
  const percent = progress === null ? '' : `${Math.round(progress * 100)}% · `;
  document.title = `${percent}${statusLabel(op.status)} · ${op.kind} · longrun`;
}

/** Says the link can no longer be used; the page keeps showing the last state it had. */
function expired(link: WatchLink): void {
  notice(
    `This watch link expired at ${timeFormat.format(link.expiresAt)}. Ask for a new one to keep watching.`,
  );
  ui.expiry.textContent = '';
  if (ui.status.textContent === 'Connecting…') ui.status.textContent = 'Unknown';
}

/**
 * Follows the operation over Server-Sent Events with the browser's `EventSource`, which sends no
 * headers: the watch token goes as `access_token`, the one place longrun accepts a token in a URL.
 * `EventSource` reconnects by itself (sending the last event id, so the stream resumes after the
 * last state it showed); the page closes it once the operation is done or the link is refused.
 */
function watch(link: WatchLink): void {
  let done = false;
  const source = new EventSource(eventSourceUrl(API_URL, link));
  const stop = () => {
    source.close();
    clearTimeout(expiryTimer);
  };
  const expiryTimer = setTimeout(
    () => {
      if (done) return;
      stop();
      expired(link);
    },
    Math.min(link.expiresAt.getTime() - Date.now(), 2_147_483_647),
  );
  ui.expiry.textContent = `This link works until ${timeFormat.format(link.expiresAt)}.`;

  source.addEventListener('next', (event) => {
    const payload = JSON.parse((event as MessageEvent<string>).data) as {
      data?: { operationUpdated?: WatchedOperation } | null;
      errors?: readonly StreamError[];
    };
    const error = payload.errors?.[0];
    if (error) {
      switch (error.extensions?.code) {
        case 'SERVICE_UNAVAILABLE':
          // The server is restarting: EventSource reconnects and resumes by itself.
          notice('The server is restarting; reconnecting…');
          return;
        case 'UNAUTHENTICATED':
          stop();
          return expired(link);
        case 'NOT_FOUND':
          stop();
          ui.status.textContent = 'Not found';
          return notice('There is no such operation any more: it may have been deleted.');
        default:
          stop();
          return notice(`The server refused to show this operation: ${error.message}`);
      }
    }
    const op = payload.data?.operationUpdated;
    if (!op) return;
    notice(null);
    render(op);
    if (op.done || op.status === OperationStatus.Cancelled) {
      done = true;
      ui.expiry.textContent = '';
    }
  });
  // After the terminal state: nothing more will come.
  source.addEventListener('complete', stop);
  source.addEventListener('error', () => {
    if (done) return stop();
    if (source.readyState === EventSource.CONNECTING) {
      notice('The connection to the server was lost; reconnecting…');
      return;
    }
    // Closed by the browser: the server answered without a stream (the link was refused).
    stop();
    if (Date.now() >= link.expiresAt.getTime()) return expired(link);
    notice('The server refused this watch link. Ask for a new one.');
  });
}

// Another link pasted into the same tab changes only the fragment: start over with it.
window.addEventListener('hashchange', () => location.reload());

const link = readWatchLink(location.hash);
if (link === null) {
  ui.status.textContent = 'No link';
  notice(
    'This page shows one operation from a watch link (…/watch#token=…); this address has none.',
  );
} else if (Date.now() >= link.expiresAt.getTime()) {
  expired(link);
} else {
  watch(link);
}
