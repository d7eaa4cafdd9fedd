import { type Operation, OperationStatus, type OperationsClient } from '../client/node.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo, OutputStream } from './io.js';
import { liveLine, outcomeLine, plainLine } from './render.js';
import { CLEAR_LINE, HIDE_CURSOR, printable, SHOW_CURSOR } from './terminal-text.js';

/** Writes each state of the followed operation: NDJSON, a redrawn line, or plain lines. */
interface Printer {
  update(op: Operation): void;
  /** Called once, however following ended. */
  close(): void;
}

function jsonPrinter(out: OutputStream): Printer {
  return { update: (op) => out.write(`${JSON.stringify(op)}\n`), close: () => undefined };
}

function plainPrinter(out: OutputStream): Printer {
  return { update: (op) => out.write(`${plainLine(op)}\n`), close: () => undefined };
}

/** The terminal's width; 80 when it reports none (a pseudo-terminal may say 0). */
function width(out: OutputStream): number {
  return out.columns !== undefined && out.columns > 0 ? out.columns : 80;
}

function terminalPrinter(out: OutputStream): Printer {
  let drawn = false;
  out.write(HIDE_CURSOR);
  return {
    update(op) {
      out.write(`${CLEAR_LINE}${liveLine(op, { columns: width(out) })}`);
      drawn = true;
    },
    close() {
      out.write(`${drawn ? '\n' : ''}${SHOW_CURSOR}`);
    },
  };
}

/**
 * What `start` and `retry` print of the operation they started: its id (with `json`, the
 * operation as one JSON line), or with `watch` that and then every later state as
 * `followOperation` does. Returns the exit code.
 */
export async function reportStarted(
  client: OperationsClient,
  operation: Operation,
  io: CliIo,
  options: { readonly json: boolean; readonly watch: boolean },
): Promise<number> {
  const { json, watch } = options;
  if (!watch) {
    io.stdout.write(`${json ? JSON.stringify(operation) : printable(operation.id)}\n`);
    return ExitCode.Ok;
  }
  // With --json the first record is the operation itself; otherwise its id on a line of its own.
  if (!json) io.stdout.write(`${printable(operation.id)}\n`);
  return await followOperation(client, operation, io, json);
}

/**
 * Prints `initial`, then every later state of the operation until it ends (or Ctrl-C); returns
 * the exit code: 0 when it SUCCEEDED, 1 when it ended FAILED or CANCELLED (the outcome on
 * stderr), 130 when interrupted. Connection failures are thrown.
 */
export async function followOperation(
  client: OperationsClient,
  initial: Operation,
  io: CliIo,
  json: boolean,
): Promise<number> {
  const printer = json
    ? jsonPrinter(io.stdout)
    : io.stdout.isTTY
      ? terminalPrinter(io.stdout)
      : plainPrinter(io.stdout);
  let last = initial;
  try {
    printer.update(initial);
    if (!initial.done) {
      const updates = client.watch(initial.id, {
        afterRevision: initial.revision,
        signal: io.signal,
      });
      for await (const op of updates) {
        printer.update(op);
        last = op;
      }
    }
  } catch (error) {
    if (!io.signal.aborted) throw error;
  } finally {
    printer.close();
  }
  if (!last.done && !io.signal.aborted) {
    throw new CliError(
      `the live stream of ${last.id} ended before the operation did`,
      ExitCode.Unavailable,
    );
  }
  if (!last.done) {
    io.stderr.write(
      `longrun: interrupted; operation ${printable(last.id)} is still ${printable(last.status)} ` +
        `(stop it with: longrun cancel ${printable(last.id)})\n`,
    );
    return ExitCode.Interrupted;
  }
  if (last.status === OperationStatus.Succeeded) return ExitCode.Ok;
  io.stderr.write(`longrun: ${outcomeLine(last)}\n`);
  return ExitCode.Failed;
}
