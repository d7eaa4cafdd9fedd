import type { OutputStream } from './io.js';

/** Hides the cursor while `watch` redraws its line. */
export const HIDE_CURSOR = '\x1b[?25l';
/** Shows the cursor again; `main.ts` writes it too when a second Ctrl-C exits at once. */
export const SHOW_CURSOR = '\x1b[?25h';
/** Back to the start of the line, and clear it. */
export const CLEAR_LINE = '\r\x1b[2K';

/**
 * C0 and C1 control characters, DEL, and the bidirectional formatting characters: text from a
 * server holding one could move the cursor, rewrite what was printed, retitle the window, or
 * make a line read differently from what it says.
 */
const UNPRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escaped(char: string): string {
  return SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `text` (server data: a message, reason, owner, kind, error) safe to print on one line:
 * every character `UNPRINTABLE` matches, newlines and tabs included, written as an escape
 * (`\n`, `\u001b`).
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escaped);
}

// The CLI's own line break and cursor sequences (CLEAR_LINE, HIDE_CURSOR, SHOW_CURSOR) first,
// so they pass whole; any other control character is escaped.
const OUTPUT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /\r\x1b\[2K|\x1b\[\?25[hl]|\n|[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A stream that escapes every control character written to it except a line break and the
 * CLI's own cursor sequences: a second guard behind `printable`, covering JSON output too (a
 * `\u009b` escape is valid JSON for the same character).
 */
export function safeOutput(out: OutputStream): OutputStream {
  return {
    write: (text: string) =>
      out.write(
        text.replace(OUTPUT, (match) =>
          match.length > 1 || match === '\n' ? match : escaped(match),
        ),
      ),
    get isTTY() {
      return out.isTTY;
    },
    get columns() {
      return out.columns;
    },
  };
}
