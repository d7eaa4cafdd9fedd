import { parseCommandArgs } from '../args.js';
import { CliError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { invalid } from '../failure.js';
import { printable } from '../terminal-text.js';

const OPTIONS = {
  reason: { type: 'string' },
} as const;

const USAGE = `Usage: longrun cancel <id> [--reason <text>]

Asks to cancel an operation and prints its status: CANCELLED when it had not started yet,
CANCELLING while its handler stops ("longrun watch <id>" follows it to CANCELLED). Cancelling a
cancelled operation again changes nothing. With --json, prints the operation as JSON.

Options:
  --reason <text>   why, kept on the operation (cancelReason)

Exit codes: 0 cancelled or cancelling, 2 bad arguments, 3 no connection, 4 no such operation,
5 it had already finished (SUCCEEDED or FAILED).`;

/** `longrun cancel <id>`. */
export const cancelCommand: Command = {
  name: 'cancel',
  synopsis: 'cancel <id>',
  summary: 'ask to cancel an operation; prints its status',
  usage: USAGE,
  async run(argv, session) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, { names: ['id'] });
    if (values.help) {
      session.io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const id = positionals[0] ?? '';
    const { client } = session.connect(values);
    const result = await client.cancel(id, values.reason);
    switch (result.__typename) {
      case 'NotFoundError':
        throw new CliError(`no operation ${id} (or it is not visible to you)`, ExitCode.NotFound);
      case 'OperationFinishedError':
        throw new CliError(
          `operation ${id} already ended ${result.operation.status}; it can no longer be cancelled`,
          ExitCode.AlreadyFinished,
        );
      case 'ValidationError':
        throw new CliError(invalid(result), ExitCode.Usage);
      case 'CancelOperationSuccess': {
        const { operation } = result;
        const json = values.json ?? false;
        session.io.stdout.write(
          `${json ? JSON.stringify(operation) : printable(operation.status)}\n`,
        );
        return ExitCode.Ok;
      }
    }
  },
};
