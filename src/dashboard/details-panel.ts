import type { Operation, OperationEvent } from '../client/index.js';
import {
  displayProgress,
  isCancellable,
  isRetryable,
  operationName,
  relativeAge,
  shortId,
  statusLabel,
} from './format.js';
import { createWatchLinkControl, type GrantedLink } from './watch-link-control.js';

/** The details panel's elements (the skeleton is in index.html; the fields are built here). */
export interface DetailsPanelElements {
  readonly dialog: HTMLDialogElement;
  readonly kind: HTMLElement;
  readonly shortId: HTMLElement;
  readonly close: HTMLButtonElement;
  readonly cancel: HTMLButtonElement;
  readonly retry: HTMLButtonElement;
  readonly fields: HTMLDListElement;
  readonly input: HTMLElement;
  readonly result: HTMLElement;
  readonly eventsTable: HTMLTableElement;
  readonly eventsBody: HTMLTableSectionElement;
  readonly eventsStatus: HTMLElement;
  readonly eventsError: HTMLElement;
  readonly watchLink: HTMLButtonElement;
  readonly watchLinkStatus: HTMLElement;
  readonly watchLinkField: HTMLInputElement;
}

/** What the panel asks of the page. */
export interface DetailsPanelActions {
  /** The operation's transition log, oldest first. */
  events(id: string): AsyncIterable<OperationEvent>;
  /** Opens the cancel confirmation for `op`; `trigger` gets focus back when it closes. */
  cancel(op: Operation, trigger: HTMLButtonElement): void;
  /** Starts a new run of `op` (FAILED or CANCELLED); `trigger` is the panel's Retry button. */
  retry(op: Operation, trigger: HTMLButtonElement): void;
  /** Shows the operation `id` (the one a retry retried) in the panel. */
  original(id: string, trigger: HTMLElement): void;
  /** Where focus goes on close when the element that opened the panel is gone. */
  fallbackFocus(op: Operation): HTMLElement | null;
  /** Describes a failed events request. */
  describeError(error: unknown): string;
  /** A read-only watch link to `op` (createWatchToken). */
  watchLink(op: Operation): Promise<GrantedLink>;
}

/** A side panel (a modal `<dialog>`) with everything known about one operation, kept live. */
export interface DetailsPanel {
  open(op: Operation, trigger: HTMLElement): void;
  /** Takes the newest merged state of an operation; ignored unless it is the one shown. */
  update(op: Operation): void;
  close(): void;
  /** Refreshes the relative times. */
  tick(now: number): void;
  /** The open panel's heading when it shows `id`, for focus after a nested dialog. */
  focusTarget(id: string): HTMLElement | null;
}

const NONE = '—';

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function none(): HTMLSpanElement {
  return element('span', 'details-none', NONE);
}

/** Pretty JSON for `<pre>`; `undefined`/`null` (nothing yet) as a dash. */
function prettyJson(value: unknown): string {
  if (value === undefined || value === null) return NONE;
  try {
    return JSON.stringify(value, null, 2) ?? NONE;
  } catch {
    return String(value);
  }
}

/** "14:03:07.412", local time with milliseconds: transitions are often milliseconds apart. */
function clockTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : `${Math.round(value * 100)}%`;
}

/** Builds the panel over `elements`. */
export function createDetailsPanel(
  elements: DetailsPanelElements,
  actions: DetailsPanelActions,
): DetailsPanel {
  const { dialog } = elements;
  const watchLink = createWatchLinkControl(
    {
      button: elements.watchLink,
      status: elements.watchLinkStatus,
      field: elements.watchLinkField,
    },
    actions.watchLink,
    actions.describeError,
  );
  let current: { op: Operation; trigger: HTMLElement } | null = null;
  /** Bumped on each events request, so only the newest answer is shown. */
  let eventsLoad = 0;

  // --- Fields ---------------------------------------------------------------------------------

  /**
   * One `<dt>`/`<dd>` pair; its value is rebuilt only when its key changes, so a progress tick
   * leaves the id's selection, the Copy button's focus and the other values alone.
   */
  interface Field {
    readonly wrap: HTMLDivElement;
    readonly dd: HTMLElement;
    key: string | null;
  }
  const fields = new Map<string, Field>();
  /** The relative parts of the shown times, by field label, refreshed by `tick`. */
  const relativeTimes = new Map<string, { iso: string; node: HTMLElement }>();
  let copyStatus: HTMLElement | null = null;
  let idText: HTMLElement | null = null;
  let progressBar: HTMLProgressElement | null = null;
  let progressText: HTMLElement | null = null;

  function resetFields(): void {
    fields.clear();
    relativeTimes.clear();
    copyStatus = null;
    idText = null;
    progressBar = null;
    progressText = null;
    elements.fields.replaceChildren();
  }

  function field(
    label: string,
    key: string,
    build: () => Node | string | null,
    className?: string,
  ): Field {
    let entry = fields.get(label);
    if (!entry) {
      const wrap = element('div', className ? `details-field ${className}` : 'details-field');
      const dd = element('dd');
      wrap.append(element('dt', undefined, label), dd);
      elements.fields.append(wrap);
      entry = { wrap, dd, key: null };
      fields.set(label, entry);
    }
    if (entry.key !== key) {
      entry.key = key;
      const value = build();
      if (value === null || value === '') entry.dd.replaceChildren(none());
      else entry.dd.replaceChildren(value);
    }
    return entry;
  }

  function timeField(label: string, iso: string | null | undefined): Field {
    return field(
      label,
      iso ?? '',
      () => {
        relativeTimes.delete(label);
        if (!iso) return null;
        const wrap = element('span', 'details-time');
        const time = element('time', undefined, iso);
        time.dateTime = iso;
        const relative = element('span', 'details-relative', `(${relativeAge(iso, Date.now())})`);
        relativeTimes.set(label, { iso, node: relative });
        wrap.append(time, ' ', relative);
        return wrap;
      },
      'details-field-wide',
    );
  }

  function idValue(id: string): Node {
    const wrap = element('span', 'details-id');
    const code = element('code', 'details-id-text', id);
    idText = code;
    const copy = element('button', 'button button-small', 'Copy');
    copy.type = 'button';
    copy.setAttribute('aria-label', 'Copy the full id');
    const status = element('span', 'details-copied');
    status.setAttribute('role', 'status');
    copyStatus = status;
    copy.addEventListener('click', () => copyId(id));
    wrap.append(code, copy, status);
    return wrap;
  }

  function selectId(): void {
    if (!idText) return;
    const range = document.createRange();
    range.selectNodeContents(idText);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
  }

  function copyId(id: string): void {
    const say = (text: string) => {
      if (copyStatus) copyStatus.textContent = text;
    };
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard?.writeText) {
      selectId();
      say('Selected: press Ctrl+C to copy.');
      return;
    }
    clipboard.writeText(id).then(
      () => say('Copied.'),
      () => {
        selectId();
        say('Copying was refused: the id is selected, press Ctrl+C.');
      },
    );
  }

  function progressValue(op: Operation): Node {
    const wrap = element('span', 'progress details-progress');
    progressBar = element('progress');
    progressBar.max = 1;
    progressBar.setAttribute('aria-label', `Progress of ${operationName(op)}`);
    progressText = element('span', 'percent');
    progressText.setAttribute('aria-hidden', 'true');
    wrap.append(progressBar, progressText);
    return wrap;
  }

  /** Updates the bar in place, like the table does, so its transition runs. */
  function showProgress(op: Operation): void {
    if (!progressBar || !progressText) return;
    const value = displayProgress(op);
    if (value === null) {
      progressBar.removeAttribute('value');
      progressText.textContent = '';
    } else {
      progressBar.value = value;
      progressText.textContent = percent(value);
    }
    progressBar.className = `progress-${op.status.toLowerCase()}`;
  }

  function renderFields(op: Operation): void {
    field('Kind', op.kind, () => op.kind);
    field('Id', op.id, () => idValue(op.id), 'details-field-wide');
    field('Status', op.status, () =>
      element('span', `status status-${op.status.toLowerCase()}`, statusLabel(op.status)),
    );
    field('Progress', op.id, () => progressValue(op));
    showProgress(op);
    field('Owner', op.ownerId ?? '', () => op.ownerId ?? null);
    field('Timeout', String(op.timeoutMs), () =>
      typeof op.timeoutMs === 'number' ? `${op.timeoutMs} ms` : null,
    );
    const original = op.retryOf?.id ?? null;
    field(
      'Retry of',
      original ?? '',
      () => {
        if (!original) return null;
        const link = element('a', 'op-link');
        link.href = '#details-dialog';
        link.title = original;
        link.setAttribute('aria-label', `Retry of ${op.kind} ${shortId(original)}: its details`);
        link.append(
          element('span', 'kind', op.kind),
          ' ',
          element('code', 'op-id', shortId(original)),
        );
        link.addEventListener('click', (event) => {
          event.preventDefault();
          actions.original(original, link);
        });
        return link;
      },
      'details-field-wide',
    ).wrap.hidden = original === null;
    field('Message', op.message ?? '', () => op.message ?? null, 'details-field-wide');
    timeField('Created', op.createdAt);
    timeField('Started', op.startedAt);
    timeField('Finished', op.finishedAt);
    const error = op.error ?? null;
    field(
      'Error',
      error ? `${error.code}\n${error.message}` : '',
      () => {
        if (!error) return null;
        const wrap = element('span', 'details-error');
        wrap.append(
          element('code', 'details-error-code', error.code ?? NONE),
          ' ',
          element('span', undefined, error.message ?? ''),
        );
        return wrap;
      },
      'details-field-wide',
    );
    // The cancel fields only once there was a cancel: dashes on every run would be noise.
    const cancelled = Boolean(op.cancelRequestedAt || op.cancelledBy || op.cancelReason);
    timeField('Cancel requested', op.cancelRequestedAt).wrap.hidden = !cancelled;
    field('Cancelled by', op.cancelledBy ?? '', () => op.cancelledBy ?? null).wrap.hidden =
      !cancelled;
    field(
      'Cancel reason',
      op.cancelReason ?? '',
      () => op.cancelReason ?? null,
      'details-field-wide',
    ).wrap.hidden = !cancelled;
    const input = prettyJson(op.input);
    if (elements.input.textContent !== input) elements.input.textContent = input;
    const result = prettyJson(op.result);
    if (elements.result.textContent !== result) elements.result.textContent = result;
  }

  function render(op: Operation): void {
    watchLink.show(op);
    elements.kind.textContent = op.kind;
    elements.shortId.textContent = shortId(op.id);
    renderFields(op);
    // As in the table. Removed rather than hidden, so the cancel dialog sees its trigger is gone
    // and asks for another place for focus.
    const cancellable = isCancellable(op);
    elements.cancel.setAttribute('aria-label', `Cancel ${operationName(op)}`);
    if (cancellable && !elements.cancel.isConnected) dialogActions().append(elements.cancel);
    if (!cancellable) elements.cancel.remove();
    const retryable = isRetryable(op);
    elements.retry.setAttribute('aria-label', `Retry ${operationName(op)}`);
    if (retryable && !elements.retry.isConnected) dialogActions().prepend(elements.retry);
    if (!retryable) elements.retry.remove();
  }

  const actionsBar = elements.cancel.parentElement;
  function dialogActions(): HTMLElement {
    if (!actionsBar) throw new Error('The Cancel button has no parent.');
    return actionsBar;
  }

  // --- Transition log -------------------------------------------------------------------------

  function eventRow(event: OperationEvent): HTMLTableRowElement {
    const tr = element('tr');
    const rev = element('td', 'details-num', String(event.revision));
    const timeCell = element('td', 'details-nowrap');
    const time = element('time', undefined, clockTime(event.time));
    time.dateTime = event.time;
    time.title = event.time;
    timeCell.append(time);
    const statusCell = element('td');
    statusCell.append(
      element('span', `status status-${event.status.toLowerCase()}`, statusLabel(event.status)),
    );
    const progress = element('td', 'details-num', percent(event.progress));
    const actor = element('td', 'details-actor', event.actor || NONE);
    const reason = element('td', 'details-reason', event.reason ?? NONE);
    tr.dataset.status = event.status;
    tr.append(rev, timeCell, statusCell, progress, actor, reason);
    return tr;
  }

  function loadEvents(id: string): void {
    const load = ++eventsLoad;
    const stillWanted = () => load === eventsLoad && current?.op.id === id;
    elements.eventsTable.setAttribute('aria-busy', 'true');
    if (elements.eventsBody.childElementCount === 0) {
      elements.eventsStatus.textContent = 'Loading the transition log…';
      elements.eventsStatus.hidden = false;
    }
    void (async () => {
      const events: OperationEvent[] = [];
      try {
        for await (const event of actions.events(id)) events.push(event);
      } catch (error) {
        if (!stillWanted()) return;
        elements.eventsTable.setAttribute('aria-busy', 'false');
        elements.eventsStatus.hidden = true;
        elements.eventsError.textContent = `Could not load the transition log: ${actions.describeError(error)}`;
        elements.eventsError.hidden = false;
        return;
      }
      if (!stillWanted()) return;
      elements.eventsError.hidden = true;
      elements.eventsError.textContent = '';
      elements.eventsBody.replaceChildren(...events.map(eventRow));
      elements.eventsTable.setAttribute('aria-busy', 'false');
      elements.eventsStatus.textContent = events.length === 0 ? 'No transitions recorded.' : '';
      elements.eventsStatus.hidden = events.length > 0;
    })();
  }

  // --- Wiring ---------------------------------------------------------------------------------

  elements.close.addEventListener('click', () => dialog.close());
  elements.cancel.addEventListener('click', () => {
    if (current) actions.cancel(current.op, elements.cancel);
  });
  elements.retry.addEventListener('click', () => {
    if (current) actions.retry(current.op, elements.retry);
  });
  // A click on the backdrop (outside the sheet, which fills the dialog box) closes the panel.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    const closed = current;
    current = null;
    eventsLoad++;
    if (!closed) return;
    const target = closed.trigger.isConnected ? closed.trigger : actions.fallbackFocus(closed.op);
    target?.focus();
  });

  return {
    open(op, trigger) {
      // Already open (a retry's new run, or the operation it retried): show `op` in place. Closing
      // first would queue a close event that lands after this open; focus still goes back, on
      // close, to what opened the panel in the first place.
      const opener = dialog.open && current ? current.trigger : trigger;
      current = { op, trigger: opener };
      resetFields();
      elements.eventsBody.replaceChildren();
      elements.eventsError.hidden = true;
      render(op);
      if (!dialog.open) dialog.showModal();
      elements.close.focus();
      loadEvents(op.id);
    },

    update(op) {
      const shown = current;
      if (!shown || shown.op.id !== op.id || shown.op === op) return;
      const statusChanged = shown.op.status !== op.status;
      shown.op = op;
      render(op);
      if (statusChanged) loadEvents(op.id);
    },

    close() {
      if (dialog.open) dialog.close();
    },

    tick(now) {
      if (!current) return;
      for (const { iso, node } of relativeTimes.values()) {
        const text = `(${relativeAge(iso, now)})`;
        if (node.textContent !== text) node.textContent = text;
      }
    },

    focusTarget(id) {
      return current?.op.id === id ? elements.close : null;
    },
  };
}
