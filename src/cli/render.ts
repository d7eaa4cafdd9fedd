import { type Operation, OperationStatus } from '../client/node.js';
import { printable } from './terminal-text.js';

/** Characters of the bar between its brackets. */
export const BAR_WIDTH = 20;

/** The fields of an operation the renderers read. */
export type RenderedOperation = Pick<
  Operation,
  'status' | 'progress' | 'message' | 'updatedAt' | 'cancelledBy' | 'cancelReason' | 'error'
>;

// Progress is a float: 0.7 * 10 is 7.000000000000001 and 0.57 * 100 is 56.99999999999999.
const EPSILON = 1e-9;

function fraction(progress: number | null): number {
  return progress === null || Number.isNaN(progress) ? 0 : Math.min(1, Math.max(0, progress));
}

/** `[██████░░░░]` for 0.6 at width 10: filled cells round down, so only 1 fills the bar. */
export function progressBar(progress: number | null, width = BAR_WIDTH): string {
  const cells = Math.max(1, Math.floor(width));
  const filled = Math.floor(fraction(progress) * cells + EPSILON);
  return `[${'█'.repeat(filled)}${'░'.repeat(cells - filled)}]`;
}

/** `60%`, rounded down (so 100% means done); `-` when the operation reports no progress. */
export function percent(progress: number | null): string {
  if (progress === null || Number.isNaN(progress)) return '-';
  return `${Math.floor(fraction(progress) * 100 + EPSILON)}%`;
}

/**
 * The line `watch` redraws on a terminal, e.g. `[██████░░░░]  60%  RUNNING  step 6 of 10`, cut to
 * `columns - 1` characters so it never wraps (a wrapped line cannot be redrawn in place). The
 * bar is `BAR_WIDTH` wide, narrower (down to 5) when the terminal is, to leave room for the status.
 */
export function liveLine(
  op: RenderedOperation,
  options: { readonly columns?: number; readonly barWidth?: number } = {},
): string {
  const columns = options.columns ?? Number.POSITIVE_INFINITY;
  const barWidth = options.barWidth ?? Math.max(5, Math.min(BAR_WIDTH, columns - 40));
  const bar = progressBar(op.progress, barWidth);
  const line = `${bar} ${percent(op.progress).padStart(4)}  ${printable(op.status)}  ${printable(op.message ?? '')}`;
  return truncate(line.trimEnd(), columns - 1);
}

/** One line per change when stdout is not a terminal: `<iso time> <status> <progress%> <message>`. */
export function plainLine(op: RenderedOperation): string {
  const text = `${op.updatedAt} ${op.status} ${percent(op.progress)} ${op.message ?? ''}`;
  return printable(text).trimEnd();
}

/**
 * How a FAILED or CANCELLED operation ended, e.g. `CANCELLED by alice: "not needed"`; control
 * characters the server sent are written as escapes.
 */
export function outcomeLine(op: RenderedOperation): string {
  return printable(outcome(op));
}

function outcome(op: RenderedOperation): string {
  if (op.status === OperationStatus.Cancelled) {
    const by = op.cancelledBy === null ? '' : ` by ${op.cancelledBy}`;
    const reason = op.cancelReason ? `: ${JSON.stringify(op.cancelReason)}` : '';
    const forced =
      op.error?.code === 'CANCEL_FORCED' ? ` (${op.error.code}: ${op.error.message})` : '';
    return `CANCELLED${by}${reason}${forced}`;
  }
  if (op.error) return `${op.status} (${op.error.code}): ${op.error.message}`;
  return op.status;
}

/** Time since `iso` as one unit: `45s`, `12m`, `5h`, `3d`. */
export function age(iso: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/**
 * Rows as columns padded to their widest cell, two spaces apart (the last column unpadded);
 * control characters in cells are written as escapes.
 */
export function table(cells: readonly (readonly string[])[]): string {
  const rows = cells.map((row) => row.map(printable));
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length),
        )
        .join('  '),
    )
    .join('\n');
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return max < 1 ? '' : `${chars.slice(0, max - 1).join('')}…`;
}
