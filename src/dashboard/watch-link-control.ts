import type { Operation } from '../client/index.js';
import { operationName } from './format.js';

/** The "Copy watch link" button of the details panel and where it reports. */
export interface WatchLinkElements {
  readonly button: HTMLButtonElement;
  /** A polite live region: what happened. */
  readonly status: HTMLElement;
  /** Shown, filled and selected when the clipboard refuses, so the link can be copied by hand. */
  readonly field: HTMLInputElement;
}

/** A granted watch link. */
export interface GrantedLink {
  readonly url: string;
  readonly expiresAt: string;
}

/** The button over one shown operation at a time. */
export interface WatchLinkControl {
  /** The panel now shows `op`: a link made for another operation is forgotten. */
  show(op: Operation): void;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/**
 * "Copy watch link": asks the server for a read-only link to the shown operation (`grant`) and
 * puts it on the clipboard, or, when the clipboard refuses, shows it selected in a field.
 */
export function createWatchLinkControl(
  elements: WatchLinkElements,
  grant: (op: Operation) => Promise<GrantedLink>,
  describeError: (error: unknown) => string,
): WatchLinkControl {
  let shown: Operation | null = null;
  /** Bumped per operation shown, so a link that arrives late for another is dropped. */
  let turn = 0;

  const say = (text: string) => {
    elements.status.textContent = text;
  };

  async function copy(op: Operation, mine: number): Promise<void> {
    elements.button.disabled = true;
    say('Making a watch link…');
    let link: GrantedLink;
    try {
      link = await grant(op);
    } catch (error) {
      if (mine === turn) say(`No watch link: ${describeError(error)}`);
      return;
    } finally {
      if (mine === turn) elements.button.disabled = false;
    }
    if (mine !== turn) return;
    const until = timeFormat.format(new Date(link.expiresAt));
    const clipboard = navigator.clipboard as Clipboard | undefined;
    const copied = await (clipboard?.writeText
      ? clipboard.writeText(link.url).then(
          () => true,
          () => false,
        )
      : Promise.resolve(false));
    if (mine !== turn) return;
    elements.field.value = link.url;
    elements.field.hidden = copied;
    if (copied) {
      say(`Copied a watch link to this operation, read-only, valid until ${until}.`);
    } else {
      elements.field.focus();
      elements.field.select();
      say(`Copying was refused: the watch link (valid until ${until}) is selected, press Ctrl+C.`);
    }
  }

  elements.button.addEventListener('click', () => {
    if (shown) void copy(shown, turn);
  });

  return {
    show(op) {
      if (shown?.id === op.id) {
        shown = op;
        return;
      }
      shown = op;
      turn += 1;
      elements.button.disabled = false;
      elements.button.setAttribute('aria-label', `Copy watch link of ${operationName(op)}`);
      elements.field.hidden = true;
      elements.field.value = '';
      say('');
    },
  };
}
