import { GLOBAL_OPTIONS_HELP, type GlobalValues } from './args.js';
import type { Connection } from './connect.js';
import type { CliIo } from './io.js';

/** What a command gets from `runCli`. */
export interface Session {
  readonly io: CliIo;
  /** The client for the global options; `runCli` closes it (and on Ctrl-C) when the command ends. */
  connect(values: GlobalValues): Connection;
}

/** One `longrun <command>`. */
export interface Command {
  readonly name: string;
  /** One line for the command list of `longrun --help`, after the synopsis. */
  readonly summary: string;
  /** E.g. `start <kind>`. */
  readonly synopsis: string;
  /** The command's full `--help` text. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: readonly string[], session: Session): Promise<number>;
}

/** A command's help: its own text, then the global options. */
export function commandHelp(usage: string): string {
  return `${usage}\n\n${GLOBAL_OPTIONS_HELP}\n`;
}
