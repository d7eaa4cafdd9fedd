import type { Operation } from '../client/index.js';
import {
  displayMessage,
  displayProgress,
  isCancellable,
  isRetryable,
  operationName,
  relativeAge,
  shortId,
  statusLabel,
} from './format.js';

/** The DOM of one row, kept so updates touch only what changed. */
interface Row {
  readonly tr: HTMLTableRowElement;
  readonly header: HTMLTableCellElement;
  readonly status: HTMLSpanElement;
  readonly progress: HTMLProgressElement;
  readonly percent: HTMLSpanElement;
  readonly message: HTMLTableCellElement;
  readonly owner: HTMLTableCellElement;
  readonly age: HTMLTimeElement;
  readonly actions: HTMLTableCellElement;
  op: Operation;
}

/** What the table needs from the page. */
export interface OperationsTableElements {
  readonly body: HTMLTableSectionElement;
  readonly empty: HTMLElement;
  readonly summary: HTMLElement;
}

/** The operations table: keyed rows updated in place, so focus and progress bars survive. */
export interface OperationsTable {
  /** Shows `visible` in this order; `total` is how many are known before filtering. */
  render(visible: readonly Operation[], total: number, emptyText: string): void;
  /** Refreshes the relative ages. */
  tick(now: number): void;
  /** The row's header cell (focusable), to put focus somewhere sensible after its button goes. */
  rowHeader(id: string): HTMLElement | null;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

/** What the table's controls ask of the page. */
export interface OperationsTableActions {
  /** A row's Cancel button (PENDING and RUNNING rows). */
  cancel(op: Operation, trigger: HTMLButtonElement): void;
  /** A row's Retry button (FAILED and CANCELLED rows). */
  retry(op: Operation, trigger: HTMLButtonElement): void;
  /** A row's name (the row header's link): its details. */
  details(op: Operation, trigger: HTMLElement): void;
  /** A retry's "retry of" link: the details of the operation it retried. */
  original(id: string, trigger: HTMLElement): void;
}

/** Builds the table over `elements`; its buttons and links call `on`. */
export function createOperationsTable(
  elements: OperationsTableElements,
  on: OperationsTableActions,
): OperationsTable {
  const rows = new Map<string, Row>();

  function createRow(op: Operation): Row {
    const tr = element('tr');
    tr.dataset.operationId = op.id;

    const header = element('th');
    header.scope = 'row';
    header.tabIndex = -1;
    // A link to the details panel (a link, so the row's only button stays its Cancel button).
    const link = element('a', 'op-link');
    link.href = '#details-dialog';
    link.setAttribute('aria-label', `Details of ${operationName(op)}`);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      on.details(row.op, link);
    });
    const kind = element('span', 'kind');
    kind.textContent = op.kind;
    const id = element('code', 'op-id');
    id.textContent = shortId(op.id);
    id.title = op.id;
    link.append(kind, id);
    header.append(link);
    // Which operation this one retries never changes: drawn once.
    const original = op.retryOf?.id;
    if (original) {
      const back = element('a', 'retry-of');
      back.href = '#details-dialog';
      back.textContent = `retry of ${shortId(original)}`;
      back.title = original;
      back.setAttribute('aria-label', `Retry of ${op.kind} ${shortId(original)}: its details`);
      back.addEventListener('click', (event) => {
        event.preventDefault();
        on.original(original, back);
      });
      header.append(back);
    }

    const statusCell = element('td');
    const status = element('span', 'status');
    statusCell.append(status);

    const progressCell = element('td');
    const wrap = element('div', 'progress');
    const progress = element('progress');
    progress.max = 1;
    progress.setAttribute('aria-label', `Progress of ${operationName(op)}`);
    const percent = element('span', 'percent');
    percent.setAttribute('aria-hidden', 'true');
    wrap.append(progress, percent);
    progressCell.append(wrap);

    const message = element('td', 'message');
    const owner = element('td', 'owner');
    const ageCell = element('td', 'age');
    const age = element('time');
    age.dateTime = op.createdAt;
    age.title = new Date(op.createdAt).toLocaleString();
    ageCell.append(age);
    const actions = element('td', 'row-actions');

    tr.append(header, statusCell, progressCell, message, owner, ageCell, actions);
    const row: Row = { tr, header, status, progress, percent, message, owner, age, actions, op };
    update(row, op, true);
    return row;
  }

  function actionButton(row: Row, action: 'Cancel' | 'Retry'): HTMLButtonElement {
    const button = element('button', 'button button-small');
    button.type = 'button';
    button.textContent = action;
    button.dataset.action = action;
    button.setAttribute('aria-label', `${action} ${operationName(row.op)}`);
    button.addEventListener('click', () =>
      action === 'Cancel' ? on.cancel(row.op, button) : on.retry(row.op, button),
    );
    return button;
  }

  function update(row: Row, op: Operation, fresh = false): void {
    const previous = row.op;
    row.op = op;
    if (fresh || previous.status !== op.status) {
      row.tr.dataset.status = op.status;
      row.status.className = `status status-${op.status.toLowerCase()}`;
      row.status.textContent = statusLabel(op.status);
      // Only PENDING and RUNNING can be cancelled (CANCELLING is already on its way); FAILED and
      // CANCELLED can be retried. A row has at most one of the two.
      const wanted = isCancellable(op) ? 'Cancel' : isRetryable(op) ? 'Retry' : null;
      const existing = row.actions.querySelector('button');
      if (existing && existing.dataset.action !== wanted) existing.remove();
      if (wanted && existing?.dataset.action !== wanted) {
        row.actions.append(actionButton(row, wanted));
      }
    }
    const value = displayProgress(op);
    if (value === null) {
      row.progress.removeAttribute('value');
      row.percent.textContent = '';
    } else {
      row.progress.value = value;
      row.percent.textContent = `${Math.round(value * 100)}%`;
    }
    row.progress.className = `progress-${op.status.toLowerCase()}`;
    row.message.textContent = displayMessage(op);
    row.owner.textContent = op.ownerId;
    row.age.textContent = relativeAge(op.createdAt, Date.now());
  }

  return {
    render(visible, total, emptyText) {
      const wanted = new Set(visible.map((op) => op.id));
      for (const [id, row] of rows) {
        if (!wanted.has(id)) {
          row.tr.remove();
          rows.delete(id);
        }
      }
      // Insert rather than move: a row that stays where it is keeps focus.
      let next = elements.body.firstElementChild;
      for (const op of visible) {
        let row = rows.get(op.id);
        if (!row) {
          row = createRow(op);
          rows.set(op.id, row);
        } else if (row.op !== op) update(row, op);
        if (row.tr === next) next = next.nextElementSibling;
        else elements.body.insertBefore(row.tr, next);
      }
      elements.empty.hidden = visible.length > 0;
      elements.empty.textContent = emptyText;
      elements.summary.textContent =
        visible.length === total
          ? `${total} ${total === 1 ? 'operation' : 'operations'}`
          : `${visible.length} shown of ${total}`;
    },

    tick(now) {
      for (const row of rows.values()) {
        const text = relativeAge(row.op.createdAt, now);
        if (row.age.textContent !== text) row.age.textContent = text;
      }
    },

    rowHeader(id) {
      return rows.get(id)?.header ?? null;
    },
  };
}
