import { OperationStatus } from '../../client/node.js';
import { parseCommandArgs, parseDuration } from '../args.js';
import { CliError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { outcomeLine, plainLine } from '../render.js';

/** The longest `--timeout`: thirty days. */
const MAX_TIMEOUT_MS = 30 * 86_400_000;

const OPTIONS = {
  timeout: { type: 'string' },
} as const;

const USAGE = `Usage: longrun wait <id> [--timeout <duration>]

Waits until an operation is done, over plain HTTP (no WebSocket or event stream: fit for CI jobs
and scripts behind proxies), and prints its final state once:
  <time> <status> <progress%> <message>   (with --json, the operation as JSON)
How a FAILED or CANCELLED operation ended goes to stderr, e.g. CANCELLED by alice: "not needed".
It asks the server to wait up to a minute at a time, and asks again until the operation is done
or --timeout passes; a broken connection or a server restart in between is retried.

Options:
  --timeout <duration>  give up after this long, e.g. 30s, 10m, 2h (plain numbers are seconds);
                        then its current state is printed and the exit code is 124

Exit codes: 0 it SUCCEEDED, 1 it ended FAILED or CANCELLED, 2 bad arguments, 3 no connection
or token refused, 4 no such operation, 124 not done within --timeout, 130 interrupted.`;

/** `longrun wait <id>`. */
export const waitCommand: Command = {
  name: 'wait',
  synopsis: 'wait <id>',
  summary: 'wait until an operation is done, over plain HTTP; the exit code tells how',
  usage: USAGE,
  async run(argv, session) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, { names: ['id'] });
    const { io } = session;
    if (values.help) {
      io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const id = positionals[0] ?? '';
    const timeoutMs =
      values.timeout === undefined
        ? undefined
        : parseDuration(values.timeout, '--timeout', { min: 1, max: MAX_TIMEOUT_MS });
    const { client } = session.connect(values);
    const operation = await client.wait(id, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      signal: io.signal,
    });
    if (operation === null) {
      throw new CliError(`no operation ${id} (or it is not visible to you)`, ExitCode.NotFound);
    }
    io.stdout.write(`${values.json ? JSON.stringify(operation) : plainLine(operation)}\n`);
    if (!operation.done) {
      io.stderr.write(
        `longrun: operation ${id} is still ${operation.status} after --timeout ${values.timeout}\n`,
      );
      return ExitCode.TimedOut;
    }
    if (operation.status === OperationStatus.Succeeded) return ExitCode.Ok;
    io.stderr.write(`longrun: ${outcomeLine(operation)}\n`);
    return ExitCode.Failed;
  },
};
