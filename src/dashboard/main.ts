import {
  ALL_STATUSES,
  createOperationsClient,
  type Operation,
  type OperationKind,
  type OperationStatus,
  type OperationsClient,
  OperationsClientError,
  type Viewer,
} from '../client/index.js';
import { createCancelDialog } from './cancel-dialog.js';
import { createDetailsPanel } from './details-panel.js';
import { operationName, statusLabel } from './format.js';
import { type LiveSync, startLiveSync } from './live-sync.js';
import {
  createAlert,
  createAnnouncer,
  createConnectionIndicator,
  describeError,
} from './notices.js';
import { matchesFilter, type OperationFilter, OperationSet } from './operation-set.js';
import { createOperationsTable } from './operations-table.js';
import { createStartForm } from './start-form.js';
import { devToken, normaliseToken, savedToken, saveToken } from './token-store.js';

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page has no #${id}.`);
  return found as T;
}

const ui = {
  viewer: byId<HTMLParagraphElement>('viewer'),
  viewerId: byId<HTMLElement>('viewer-id'),
  viewerAdmin: byId<HTMLSpanElement>('viewer-admin'),
  tokenForm: byId<HTMLFormElement>('token-form'),
  token: byId<HTMLInputElement>('token'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  filters: byId<HTMLFormElement>('filters'),
  filterKind: byId<HTMLInputElement>('filter-kind'),
  knownKinds: byId<HTMLDataListElement>('known-kinds'),
  heading: byId<HTMLHeadingElement>('operations-heading'),
  table: byId<HTMLTableElement>('operations'),
  caption: byId<HTMLTableCaptionElement>('operations-caption'),
  summary: byId<HTMLParagraphElement>('operations-summary'),
  more: byId<HTMLDivElement>('operations-more'),
  moreButton: byId<HTMLButtonElement>('operations-more-button'),
};

/** The GraphQL endpoint beside the page (the page is served at the server's root). */
const API_URL = new URL('graphql', document.baseURI).href;

/** One signed-in session: a client per token, so a new token never mixes with the old one. */
interface Session {
  readonly client: OperationsClient;
  sync: LiveSync | null;
  /** The viewer's operations in all (the server's count at the last list), and if older remain. */
  pages: { total: number; hasOlder: boolean } | null;
  viewer: Viewer | null;
  loadingViewer: boolean;
  /** The server's kinds, for the start form; null until they are in. */
  kinds: OperationKind[] | null;
  loadingKinds: boolean;
  /** The first list is in: an empty table now means "no operations". */
  listed: boolean;
}

let session: Session | null = null;
const operations = new OperationSet();

const errorAlert = createAlert({
  region: byId('alert'),
  text: byId('alert-text'),
  dismiss: byId<HTMLButtonElement>('alert-dismiss'),
});
const announce = createAnnouncer(byId('announcer'));
const showConnection = createConnectionIndicator({
  indicator: byId('connection'),
  text: byId('connection-text'),
});

const table = createOperationsTable(
  {
    body: byId<HTMLTableSectionElement>('operations-body'),
    empty: byId<HTMLParagraphElement>('operations-empty'),
    summary: byId<HTMLParagraphElement>('operations-summary'),
  },
  {
    cancel: (op, trigger) => cancelDialog.open(op, trigger),
    retry: (op, trigger) => void retry(op, trigger, false),
    details: (op, trigger) => details.open(operations.get(op.id) ?? op, trigger),
    original: (id, trigger) => void showOperation(id, trigger),
  },
);

/**
 * Starts a new run of `op` (retryOperation). The new run joins the table at once; from the details
 * panel (`inPanel`), the panel moves on to it, where "Retry of" leads back.
 */
async function retry(op: Operation, trigger: HTMLButtonElement, inPanel: boolean): Promise<void> {
  const current = session;
  // Not `disabled`: that would take focus away from the button people just pressed.
  if (!current || trigger.getAttribute('aria-disabled') === 'true') return;
  trigger.setAttribute('aria-disabled', 'true');
  try {
    const result = await current.client.retry(op.id);
    if (session !== current) return;
    if (result.__typename !== 'RetryOperationSuccess') {
      errorAlert.show(`Could not retry ${operationName(op)}: ${result.message}`, 'action');
      return;
    }
    errorAlert.clear('action');
    receive(result.operation, 'action');
    announce(`Retried ${operationName(op)} as ${operationName(result.operation)}.`);
    if (inPanel) details.open(operations.get(result.operation.id) ?? result.operation, trigger);
  } catch (error) {
    if (session === current) errorAlert.show(describeError(error), 'action');
  } finally {
    trigger.removeAttribute('aria-disabled');
  }
}

/** Opens the details of operation `id`, reading it from the server when it is not loaded. */
async function showOperation(id: string, trigger: HTMLElement): Promise<void> {
  const current = session;
  if (!current) return;
  const known = operations.get(id);
  if (known) {
    details.open(known, trigger);
    return;
  }
  try {
    const op = await current.client.get(id);
    if (session !== current) return;
    if (op === null) {
      errorAlert.show('That operation is gone (deleted after its retention period).', 'action');
      return;
    }
    details.open(op, trigger);
  } catch (error) {
    if (session === current) errorAlert.show(describeError(error), 'action');
  }
}

const startForm = createStartForm(
  {
    form: byId<HTMLFormElement>('start-form'),
    kind: byId<HTMLSelectElement>('start-kind'),
    kindHint: byId<HTMLParagraphElement>('start-kind-hint'),
    input: byId<HTMLTextAreaElement>('start-input'),
    error: byId<HTMLParagraphElement>('start-error'),
    submit: byId<HTMLButtonElement>('start-submit'),
  },
  {
    async start(kind, input) {
      const current = session;
      if (!current) throw new Error('Connect with a token first.');
      const result = await current.client.start(kind, input);
      if (result.__typename === 'StartOperationSuccess' && session === current) {
        receive(result.operation, 'action');
        announce(`Started ${operationName(result.operation)}.`);
      }
      return result;
    },
    failed(error) {
      if (session) errorAlert.show(describeError(error), 'action');
    },
  },
);

const cancelDialog = createCancelDialog(
  {
    dialog: byId<HTMLDialogElement>('cancel-dialog'),
    form: byId<HTMLFormElement>('cancel-form'),
    description: byId<HTMLParagraphElement>('cancel-description'),
    reason: byId<HTMLInputElement>('cancel-reason'),
    error: byId<HTMLParagraphElement>('cancel-error'),
    keep: byId<HTMLButtonElement>('cancel-keep'),
    confirm: byId<HTMLButtonElement>('cancel-confirm'),
  },
  {
    async cancel(op, reason) {
      const current = session;
      if (!current) return 'Connect with a token first.';
      try {
        const result = await current.client.cancel(op.id, reason);
        if (session !== current) return null;
        switch (result.__typename) {
          case 'CancelOperationSuccess':
            receive(result.operation, 'action');
            return null;
          case 'OperationFinishedError':
            receive(result.operation, 'action');
            return result.message;
          case 'NotFoundError':
          case 'ValidationError':
            return result.message;
        }
      } catch (error) {
        return describeError(error);
      }
    },
    // The details panel first: when it is open under this dialog, the table behind is inert.
    fallbackFocus: (op) => details.focusTarget(op.id) ?? table.rowHeader(op.id) ?? ui.heading,
  },
);

const details = createDetailsPanel(
  {
    dialog: byId<HTMLDialogElement>('details-dialog'),
    kind: byId('details-kind'),
    shortId: byId('details-short-id'),
    close: byId<HTMLButtonElement>('details-close'),
    cancel: byId<HTMLButtonElement>('details-cancel'),
    retry: byId<HTMLButtonElement>('details-retry'),
    fields: byId<HTMLDListElement>('details-fields'),
    input: byId('details-input'),
    result: byId('details-result'),
    eventsTable: byId<HTMLTableElement>('details-events'),
    eventsBody: byId<HTMLTableSectionElement>('details-events-body'),
    eventsStatus: byId('details-events-status'),
    eventsError: byId('details-events-error'),
    watchLink: byId<HTMLButtonElement>('details-watch-link'),
    watchLinkStatus: byId('details-watch-link-status'),
    watchLinkField: byId<HTMLInputElement>('details-watch-link-url'),
  },
  {
    events(id) {
      if (!session) throw new Error('Connect with a token first.');
      return session.client.events(id);
    },
    cancel: (op, trigger) => cancelDialog.open(op, trigger),
    retry: (op, trigger) => void retry(op, trigger, true),
    original: (id, trigger) => void showOperation(id, trigger),
    fallbackFocus: (op) => table.rowHeader(op.id) ?? ui.heading,
    describeError,
    async watchLink(op) {
      if (!session) throw new Error('Connect with a token first.');
      const result = await session.client.createWatchToken(op.id);
      if (result.__typename !== 'CreateWatchTokenSuccess') throw new Error(result.message);
      return { url: result.watchUrl, expiresAt: result.expiresAt };
    },
  },
);

function currentFilter(): OperationFilter {
  const statuses = new Set<OperationStatus>();
  for (const box of ui.filters.querySelectorAll<HTMLInputElement>('input[name="status"]')) {
    const status = ALL_STATUSES.find((s) => s === box.value);
    if (box.checked && status) statuses.add(status);
  }
  return { statuses, kind: ui.filterKind.value };
}

let knownKinds = '';

function render(): void {
  const all = operations.sorted();
  const filter = currentFilter();
  const visible = all.filter((op) => matchesFilter(op, filter));
  const emptyText =
    session === null
      ? 'Enter a token to see operations.'
      : !session.listed
        ? 'Loading operations…'
        : all.length === 0
          ? 'No operations yet. Start one above.'
          : 'No operations match the filters.';
  table.render(visible, all.length, emptyText);
  const pages = session?.pages ?? null;
  ui.more.hidden = !pages?.hasOlder;
  if (pages && pages.total > all.length) {
    ui.summary.textContent += ` · ${all.length} of ${pages.total} loaded`;
  }
  ui.table.setAttribute('aria-busy', String(session !== null && !session.listed));
  const kinds = operations.kinds().join('\n');
  if (kinds !== knownKinds) {
    knownKinds = kinds;
    ui.knownKinds.replaceChildren(
      ...operations
        .kinds()
        .map((kind) => Object.assign(document.createElement('option'), { value: kind })),
    );
  }
}

let renderQueued = false;

/** Renders once after the current burst of updates. */
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    render();
  });
}

/** Takes a state from any source; only a higher revision than the one shown replaces it. */
function receive(op: Operation, source: 'list' | 'live' | 'action'): void {
  const outcome = operations.merge(op);
  if (outcome.kind === 'stale') return;
  details.update(op);
  // Status changes are announced; progress ticks are not.
  if (outcome.kind === 'updated' && outcome.previous.status !== op.status) {
    announce(`${operationName(op)} is now ${statusLabel(op.status)}.`);
  } else if (outcome.kind === 'added' && source === 'live') {
    announce(`New operation ${operationName(op)}: ${statusLabel(op.status)}.`);
  }
  scheduleRender();
}

function showViewer(viewer: Viewer | null): void {
  ui.viewer.hidden = viewer === null;
  ui.viewerId.textContent = viewer?.id ?? '';
  ui.viewerAdmin.hidden = !viewer?.isAdmin;
  const title = viewer?.isAdmin ? 'All operations' : viewer ? 'Your operations' : 'Operations';
  ui.heading.textContent = title;
  ui.caption.textContent = `${title}, newest first`;
  startForm.setEnabled(viewer !== null);
}

function endSession(): void {
  const ended = session;
  session = null;
  if (ended) {
    ended.sync?.stop();
    // close() rejects with the socket's CloseEvent when a connection attempt was still under way
    // (a refused token, most often); the session is over either way.
    ended.client.close().catch(() => undefined);
  }
  details.close();
  operations.clear();
  startForm.setKinds(null);
  showViewer(null);
  showConnection(null);
  ui.signOut.disabled = true;
  render();
}

/** Ends the session after an error no retry fixes (a refused token, most often). */
function failSession(error: unknown): void {
  endSession();
  errorAlert.show(describeError(error), 'session');
}

function loadViewer(current: Session): void {
  if (current.loadingViewer || current.viewer !== null) return;
  current.loadingViewer = true;
  current.client.viewer().then(
    (viewer) => {
      current.loadingViewer = false;
      if (session !== current) return;
      current.viewer = viewer;
      showViewer(viewer);
    },
    (error: unknown) => {
      current.loadingViewer = false;
      if (session !== current) return;
      if (error instanceof OperationsClientError && error.code === 'UNAUTHENTICATED') {
        failSession(error);
      } else errorAlert.show(describeError(error), 'sync');
    },
  );
}

function loadKinds(current: Session): void {
  if (current.loadingKinds || current.kinds !== null) return;
  current.loadingKinds = true;
  current.client.kinds().then(
    (kinds) => {
      current.loadingKinds = false;
      if (session !== current) return;
      current.kinds = kinds;
      startForm.setKinds(kinds);
    },
    (error: unknown) => {
      current.loadingKinds = false;
      // A refused token is reported by the viewer request; anything else is retried on reconnect.
      if (session === current) errorAlert.show(describeError(error), 'sync');
    },
  );
}

function connect(token: string): void {
  endSession();
  errorAlert.clear();
  saveToken(token);
  const client = createOperationsClient({ url: API_URL, token, retry: { maxDelayMs: 3_000 } });
  const current: Session = {
    client,
    sync: null,
    pages: null,
    viewer: null,
    loadingViewer: false,
    kinds: null,
    loadingKinds: false,
    listed: false,
  };
  session = current;
  ui.signOut.disabled = false;
  render();
  current.sync = startLiveSync(client, {
    operation: (op, source) => {
      if (session === current) receive(op, source);
    },
    connection: (state) => {
      if (session !== current) return;
      showConnection(state);
      // A viewer request that failed while the server was away is retried once it is back.
      if (state === 'connected') {
        loadViewer(current);
        loadKinds(current);
      }
    },
    pages: (info) => {
      if (session !== current) return;
      current.pages = info;
      scheduleRender();
    },
    listed: () => {
      if (session !== current) return;
      current.listed = true;
      errorAlert.clear('sync');
      scheduleRender();
    },
    error: (error, fatal) => {
      if (session !== current) return;
      if (fatal) failSession(error);
      else errorAlert.show(describeError(error), 'sync');
    },
  });
  loadViewer(current);
  loadKinds(current);
}

ui.tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = normaliseToken(ui.token.value);
  if (token === '') {
    errorAlert.show('Enter a token to connect.', 'session');
    ui.token.focus();
    return;
  }
  connect(token);
});

ui.signOut.addEventListener('click', () => {
  saveToken(null);
  ui.token.value = '';
  endSession();
  errorAlert.clear();
  ui.token.focus();
});

ui.moreButton.addEventListener('click', () => {
  const current = session;
  if (!current?.sync) return;
  ui.moreButton.disabled = true;
  ui.moreButton.textContent = 'Loading older operations…';
  void current.sync.loadOlder().finally(() => {
    ui.moreButton.disabled = false;
    ui.moreButton.textContent = 'Show older operations';
    if (session === current && !current.pages?.hasOlder) ui.heading.focus();
  });
});

ui.filters.addEventListener('submit', (event) => event.preventDefault());
ui.filters.addEventListener('input', render);
ui.filters.addEventListener('change', render);

setInterval(() => {
  const now = Date.now();
  table.tick(now);
  details.tick(now);
}, 1_000);

const initialToken = savedToken() ?? devToken();
render();
if (initialToken !== null) {
  ui.token.value = initialToken;
  connect(initialToken);
}
