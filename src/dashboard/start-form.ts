import type { StartResult } from '../client/index.js';

/** The "Start operation" form's elements. */
export interface StartFormElements {
  readonly form: HTMLFormElement;
  readonly kind: HTMLInputElement;
  readonly input: HTMLTextAreaElement;
  readonly error: HTMLElement;
  readonly submit: HTMLButtonElement;
}

/** What the form asks of the page. */
export interface StartFormActions {
  /** Starts the operation (and shows it); the form shows a refusal on the field at fault. */
  start(kind: string, input: unknown): Promise<StartResult>;
  /** A failure that is not about the form's fields (network, refused token). */
  failed(error: unknown): void;
}

/** The start form: parses the JSON input, and shows refusals inline on the field at fault. */
export interface StartForm {
  /** Enables the form (signed in) or disables it. */
  setEnabled(enabled: boolean): void;
}

/** Wires the form's submit handling. */
export function createStartForm(elements: StartFormElements, actions: StartFormActions): StartForm {
  const { form, kind, input, error, submit } = elements;
  let enabled = false;
  let busy = false;
  const sync = () => {
    submit.disabled = !enabled || busy;
  };

  const clearError = () => {
    error.hidden = true;
    error.textContent = '';
    for (const field of [kind, input]) {
      field.removeAttribute('aria-invalid');
      field.removeAttribute('aria-describedby');
    }
  };

  /** Shows `text` (a role="alert" element) tied to `field`, and moves focus there. */
  const fieldError = (field: HTMLInputElement | HTMLTextAreaElement, text: string) => {
    error.textContent = text;
    error.hidden = false;
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', error.id);
    field.focus();
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!enabled || busy) return;
    clearError();
    const kindName = kind.value.trim();
    if (kindName === '') return fieldError(kind, 'Enter the kind of operation to start.');
    let value: unknown;
    const raw = input.value.trim();
    if (raw !== '') {
      try {
        value = JSON.parse(raw);
      } catch (failure) {
        const detail = failure instanceof Error ? failure.message : String(failure);
        return fieldError(input, `The input is not valid JSON: ${detail}`);
      }
    }
    busy = true;
    sync();
    actions
      .start(kindName, value)
      .then((result) => {
        switch (result.__typename) {
          case 'StartOperationSuccess':
            return;
          case 'UnknownKindError':
            return fieldError(kind, result.message);
          case 'ValidationError':
            return fieldError(
              input,
              result.field && !result.message.includes(result.field)
                ? `${result.message} (field: ${result.field})`
                : result.message,
            );
        }
      })
      .catch((failure: unknown) => actions.failed(failure))
      .finally(() => {
        busy = false;
        sync();
      });
  });

  return {
    setEnabled(value) {
      enabled = value;
      sync();
    },
  };
}
