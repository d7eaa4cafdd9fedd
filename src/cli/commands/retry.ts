import { parseCommandArgs } from '../args.js';
import { CliError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { clause, invalid } from '../failure.js';
import { reportStarted } from '../follow.js';

const OPTIONS = {
  watch: { type: 'boolean', short: 'w' },
} as const;

const USAGE = `Usage: longrun retry <id> [--watch]

Starts a new run of a done operation (SUCCEEDED, FAILED or CANCELLED) with the same kind, input
and timeout, owned by the same user, and prints the new operation's id (with --json, the new
operation as JSON; its retryOf is the operation retried). Each retry is a new operation.

Options:
  -w, --watch   then follow the new run as "longrun watch" does, and exit as watch does

Exit codes: 0 started (with --watch: it SUCCEEDED), 1 a quota refused it (nothing started) or,
with --watch, it ended FAILED or CANCELLED, 2 the operation is not done yet (or its kind no
longer accepts its input), 3 no connection, 4 no such operation (or not visible to you).`;

/** `longrun retry <id>`. */
export const retryCommand: Command = {
  name: 'retry',
  synopsis: 'retry <id>',
  summary: 'start a new run of a done operation; prints its id (--watch: then follows it)',
  usage: USAGE,
  async run(argv, session) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, { names: ['id'] });
    if (values.help) {
      session.io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const id = positionals[0] ?? '';
    const { client } = session.connect(values);
    const result = await client.retry(id);
    switch (result.__typename) {
      case 'NotFoundError':
        throw new CliError(`no operation ${id} (or it is not visible to you)`, ExitCode.NotFound);
      case 'ValidationError':
        throw new CliError(invalid(result), ExitCode.Usage);
      case 'RateLimitedError':
        throw new CliError(clause(result.message), ExitCode.Failed);
      case 'RetryOperationSuccess':
        break;
    }
    return await reportStarted(client, result.operation, session.io, {
      json: values.json ?? false,
      watch: values.watch ?? false,
    });
  },
};
