import type { Operation } from '../client/index.js';
import { operationName } from './format.js';

/** The cancel confirmation's elements. */
export interface CancelDialogElements {
  readonly dialog: HTMLDialogElement;
  readonly form: HTMLFormElement;
  readonly description: HTMLElement;
  readonly reason: HTMLInputElement;
  readonly error: HTMLElement;
  readonly keep: HTMLButtonElement;
  readonly confirm: HTMLButtonElement;
}

/** What the dialog asks of the page. */
export interface CancelDialogActions {
  /** Sends the cancel; resolves with an error text to show, or null once it is done. */
  cancel(op: Operation, reason: string | null): Promise<string | null>;
  /** Where focus goes on close when the button that opened the dialog is gone. */
  fallbackFocus(op: Operation): HTMLElement | null;
}

/** The confirmation before a cancel: a modal `<dialog>`; Escape or "Keep running" closes it. */
export interface CancelDialog {
  open(op: Operation, trigger: HTMLElement): void;
}

/** Wires the dialog's form, buttons and focus handling. */
export function createCancelDialog(
  elements: CancelDialogElements,
  actions: CancelDialogActions,
): CancelDialog {
  const { dialog, form, reason, error, keep, confirm } = elements;
  let current: { op: Operation; trigger: HTMLElement } | null = null;
  let pending = false;

  const showError = (text: string | null) => {
    error.textContent = text ?? '';
    error.hidden = text === null;
  };

  const setPending = (value: boolean) => {
    pending = value;
    confirm.disabled = value;
    confirm.textContent = value ? 'Cancelling…' : 'Cancel operation';
  };

  keep.addEventListener('click', () => dialog.close());

  // Escape fires `cancel`; while the request is out the dialog stays, so its answer has a place.
  dialog.addEventListener('cancel', (event) => {
    if (pending) event.preventDefault();
  });

  dialog.addEventListener('close', () => {
    const closed = current;
    current = null;
    if (!closed) return;
    const target = closed.trigger.isConnected ? closed.trigger : actions.fallbackFocus(closed.op);
    target?.focus();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const target = current;
    if (!target || pending) return;
    setPending(true);
    showError(null);
    const text = reason.value.trim();
    void actions
      .cancel(target.op, text === '' ? null : text)
      .then((failure) => {
        if (current !== target) return;
        if (failure === null) dialog.close();
        else showError(failure);
      })
      .finally(() => setPending(false));
  });

  return {
    open(op, trigger) {
      if (dialog.open) return;
      current = { op, trigger };
      elements.description.textContent = `${operationName(op)} (owner ${op.ownerId}) will be asked to stop. This cannot be undone.`;
      reason.value = '';
      showError(null);
      setPending(false);
      dialog.showModal();
      reason.focus();
    },
  };
}
