import { ExitCode } from './exit-codes.js';

/** A failure reported as one line on stderr and an exit code; never a stack trace. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** A bad command line: exit 2, with a pointer to the command's `--help`. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, ExitCode.Usage);
  }
}
