/** The `longrun` command's exit codes; `--help` and the README list them from here. */
export const ExitCode = {
  /** Done; `watch` (and `start --watch`): the operation SUCCEEDED. */
  Ok: 0,
  /**
   * The operation ended FAILED or CANCELLED, a quota refused a start or retry, the server failed, or `token`
   * could not sign.
   */
  Failed: 1,
  /** Bad command line: unknown command or option, bad value, unknown kind or invalid input. */
  Usage: 2,
  /** No connection or no identity: server unreachable or not answering, token missing or refused. */
  Unavailable: 3,
  /** No such operation, or one the caller may not see. */
  NotFound: 4,
  /** `cancel`: the operation had already finished. */
  AlreadyFinished: 5,
  /** `wait`: the operation was not done within `--timeout` (its state is printed). */
  TimedOut: 124,
  /** Stopped by Ctrl-C (SIGINT). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const MEANINGS: Readonly<Record<ExitCode, string>> = {
  [ExitCode.Ok]: 'success (watch: the operation SUCCEEDED)',
  [ExitCode.Failed]:
    'the operation ended FAILED or CANCELLED, a quota refused a start or retry, or the server failed',
  [ExitCode.Usage]: 'usage: unknown command or option, bad value, unknown kind, invalid input',
  [ExitCode.Unavailable]:
    'cannot connect or authenticate: server unreachable, token missing or refused',
  [ExitCode.NotFound]: 'no such operation (or not visible to you)',
  [ExitCode.AlreadyFinished]: 'cancel: the operation had already finished',
  [ExitCode.TimedOut]: 'wait: the operation was not done within --timeout',
  [ExitCode.Interrupted]: 'interrupted (Ctrl-C)',
};

/** The exit code table as help text, one indented line per code. */
export function exitCodeHelp(): string {
  return Object.values(ExitCode)
    .map((code) => `  ${String(code).padEnd(5)}${MEANINGS[code]}`)
    .join('\n');
}
