import type { OperationKind, StartResult } from '../client/index.js';
import { createInputCheck, type InputCheck } from './input-check.js';

/** The "Start operation" form's elements. */
export interface StartFormElements {
  readonly form: HTMLFormElement;
  readonly kind: HTMLSelectElement;
  /** The chosen kind's description. */
  readonly kindHint: HTMLElement;
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

/**
 * The start form: the server's kinds in a list, the chosen kind's example pre-filled, the JSON
 * input checked against the kind's schema in the page, and refusals shown on the field at fault.
 */
export interface StartForm {
  /** Enables the form (signed in) or disables it. */
  setEnabled(enabled: boolean): void;
  /** The kinds to offer (from `operationKinds`); null while they are unknown. */
  setKinds(kinds: readonly OperationKind[] | null): void;
}

/** The example as the input field shows it; empty when the kind gives none. */
function exampleText(kind: OperationKind | undefined): string {
  return kind?.exampleInput === null || kind?.exampleInput === undefined
    ? ''
    : JSON.stringify(kind.exampleInput);
}

/** Wires the form's kind list and submit handling. */
export function createStartForm(elements: StartFormElements, actions: StartFormActions): StartForm {
  const { form, kind, kindHint, input, error, submit } = elements;
  let enabled = false;
  let busy = false;
  let kinds = new Map<string, { info: OperationKind; check: InputCheck }>();
  /** The example last put into the input field: replaced on a kind change unless edited. */
  let prefilled = input.value;
  const sync = () => {
    submit.disabled = !enabled || busy || kinds.size === 0;
    kind.disabled = !enabled || kinds.size === 0;
  };

  const clearError = () => {
    error.hidden = true;
    error.textContent = '';
    for (const field of [kind, input]) field.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  };

  /** Shows `text` (a role="alert" element) tied to `field`, and moves focus there. */
  const fieldError = (field: HTMLSelectElement | HTMLTextAreaElement, text: string) => {
    error.textContent = text;
    error.hidden = false;
    field.setAttribute('aria-invalid', 'true');
    if (field === input) input.setAttribute('aria-describedby', error.id);
    field.focus();
  };

  const showKind = () => {
    const chosen = kinds.get(kind.value)?.info;
    kindHint.textContent = chosen?.description ?? '';
    kindHint.hidden = !chosen?.description;
    if (input.value.trim() === '' || input.value === prefilled) {
      prefilled = exampleText(chosen);
      input.value = prefilled;
    }
  };

  kind.addEventListener('change', () => {
    clearError();
    showKind();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!enabled || busy) return;
    clearError();
    const chosen = kinds.get(kind.value);
    if (!chosen) return fieldError(kind, 'Choose the kind of operation to start.');
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
    // No input is sent as null, and the kind's schema decides whether null will do.
    const problem = chosen.check.problem(value ?? null);
    if (problem !== null) return fieldError(input, problem);
    busy = true;
    sync();
    actions
      .start(chosen.info.kind, value)
      .then((result) => {
        switch (result.__typename) {
          case 'StartOperationSuccess':
            return;
          case 'UnknownKindError':
          case 'RateLimitedError':
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
    setKinds(list) {
      const previous = kind.value;
      kinds = new Map(
        (list ?? []).map((info) => [
          info.kind,
          { info, check: createInputCheck(info.inputSchema) },
        ]),
      );
      kind.replaceChildren(
        ...(list ?? []).map((info) =>
          Object.assign(document.createElement('option'), { value: info.kind, text: info.kind }),
        ),
      );
      if (kinds.has(previous)) kind.value = previous;
      clearError();
      showKind();
      sync();
    },
  };
}
