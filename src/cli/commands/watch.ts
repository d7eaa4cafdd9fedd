import { parseCommandArgs } from '../args.js';
import { CliError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { followOperation } from '../follow.js';

const USAGE = `Usage: longrun watch <id>

Follows an operation live until it ends; reconnects and resumes if the connection breaks.
  on a terminal   one line redrawn in place: [██████░░░░]  60%  RUNNING  step 6 of 10
  otherwise       one line per change: <time> <status> <progress%> <message>
  with --json     one JSON object (the operation) per line and per change
How a FAILED or CANCELLED operation ended goes to stderr, e.g. CANCELLED by alice: "not needed".
Ctrl-C stops watching; the operation keeps running.

Exit codes: 0 it SUCCEEDED, 1 it ended FAILED or CANCELLED, 2 bad arguments, 3 no connection
or token refused, 4 no such operation, 130 interrupted.`;

/** `longrun watch <id>`. */
export const watchCommand: Command = {
  name: 'watch',
  synopsis: 'watch <id>',
  summary: 'follow an operation live until it ends; the exit code tells how',
  usage: USAGE,
  async run(argv, session) {
    const { values, positionals } = parseCommandArgs(argv, {}, { names: ['id'] });
    if (values.help) {
      session.io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const id = positionals[0] ?? '';
    const { client } = session.connect(values);
    // One HTTP request first: an unknown id, a refused token or a dead server fail at once,
    // where the live stream would keep retrying.
    const current = await client.get(id);
    if (current === null) {
      throw new CliError(`no operation ${id} (or it is not visible to you)`, ExitCode.NotFound);
    }
    return await followOperation(client, current, session.io, values.json ?? false);
  },
};
