import { type ConnectionState, OperationsClientError } from '../client/index.js';

/** A sentence for an error from the client, naming what to do next. */
export function describeError(error: unknown): string {
  if (error instanceof OperationsClientError) {
    switch (error.code) {
      case 'UNAUTHENTICATED':
        return `The server refused the token: ${error.message} Enter a valid token and connect again.`;
      case 'NETWORK':
      case 'TIMEOUT':
        return `Cannot reach the server. ${error.message}`;
      case 'SERVICE_UNAVAILABLE':
        return 'The server is unavailable right now; it will be retried.';
      default:
        return error.requestId ? `${error.message} (request ${error.requestId})` : error.message;
    }
  }
  return error instanceof Error ? error.message : 'Something went wrong.';
}

/** Where an alert came from, so a later success clears only its own kind of failure. */
export type AlertSource = 'session' | 'sync' | 'action';

/** The page's `role="alert"` region. */
export interface Alert {
  show(text: string, source: AlertSource): void;
  /** Hides the alert; with `source`, only when it came from there. */
  clear(source?: AlertSource): void;
}

/** Wires the alert region and its Dismiss button. */
export function createAlert(elements: {
  readonly region: HTMLElement;
  readonly text: HTMLElement;
  readonly dismiss: HTMLButtonElement;
}): Alert {
  let shown: AlertSource | null = null;
  const alert: Alert = {
    show(text, source) {
      shown = source;
      elements.text.textContent = text;
      elements.region.hidden = false;
    },
    clear(source) {
      if (source !== undefined && shown !== source) return;
      shown = null;
      elements.region.hidden = true;
      elements.text.textContent = '';
    },
  };
  elements.dismiss.addEventListener('click', () => alert.clear());
  return alert;
}

/**
 * Says things through a polite live region; messages that come close together are read as one,
 * so a burst of status changes is not a burst of interruptions.
 */
export function createAnnouncer(region: HTMLElement): (text: string) => void {
  const pending: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (text) => {
    pending.push(text);
    clearTimeout(timer);
    timer = setTimeout(() => {
      region.textContent = pending.splice(0).join(' ');
    }, 250);
  };
}

const CONNECTION_TEXT: Readonly<Record<ConnectionState, string>> = {
  idle: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
};

/** The connection indicator (a `role="status"` element): Live, Connecting…, Reconnecting…, Offline. */
export function createConnectionIndicator(elements: {
  readonly indicator: HTMLElement;
  readonly text: HTMLElement;
}): (state: ConnectionState | null) => void {
  let current: ConnectionState | null = null;
  const show = (state: ConnectionState | null) => {
    current = state;
    // A browser that knows it has no network says so, rather than "Reconnecting…" for ever.
    const offline =
      state === null || state === 'closed' || (state !== 'connected' && !navigator.onLine);
    elements.indicator.dataset.state = offline ? 'offline' : state;
    const text = offline ? 'Offline' : CONNECTION_TEXT[state];
    // Rewritten only on change: the region is live, and every write may be read out.
    if (elements.text.textContent !== text) elements.text.textContent = text;
  };
  window.addEventListener('online', () => show(current));
  window.addEventListener('offline', () => show(current));
  return show;
}
