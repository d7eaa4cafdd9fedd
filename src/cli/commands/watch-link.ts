import { parseCommandArgs, parseDuration } from '../args.js';
import { CliError, UsageError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { invalid } from '../failure.js';
import { printable } from '../terminal-text.js';

const OPTIONS = {
  ttl: { type: 'string' },
} as const;

/** The longest life the server gives a watch token: one day. */
const MAX_TTL_MS = 86_400_000;

const USAGE = `Usage: longrun watch-link <id> [--ttl <duration>]

Prints a link to a page of the server that shows the operation live (status, progress, message,
how it ended) and nothing else, for someone who should watch it without your token. The link holds
a read-only token for that one operation: it can read the operation, never list, start or cancel
anything. Anyone holding the link can watch until it expires. With --json, prints the token, its
expiry, the link and the operation.

Options:
  --ttl <duration>  how long the link works: 30s, 15m, 1h, 1d or plain seconds
                    (default 1h, at most 1d)

Exit codes: 0 printed, 2 bad arguments, 3 no connection or token refused, 4 no such operation
(or not yours).`;

/** `longrun watch-link <id>`. */
export const watchLinkCommand: Command = {
  name: 'watch-link',
  synopsis: 'watch-link <id>',
  summary: 'print a read-only link to a page that shows one operation live',
  usage: USAGE,
  async run(argv, session) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, { names: ['id'] });
    if (values.help) {
      session.io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const id = positionals[0] ?? '';
    let ttlSeconds: number | undefined;
    if (values.ttl !== undefined) {
      const ms = parseDuration(values.ttl, '--ttl', { min: 1_000, max: MAX_TTL_MS });
      if (ms % 1_000 !== 0) throw new UsageError(`--ttl: whole seconds only, got "${values.ttl}"`);
      ttlSeconds = ms / 1_000;
    }
    const { client } = session.connect(values);
    const result = await client.createWatchToken(
      id,
      ttlSeconds === undefined ? {} : { ttlSeconds },
    );
    switch (result.__typename) {
      case 'NotFoundError':
        throw new CliError(`no operation ${id} (or it is not visible to you)`, ExitCode.NotFound);
      case 'ValidationError':
        throw new CliError(invalid(result), ExitCode.Usage);
      case 'CreateWatchTokenSuccess': {
        const { token, expiresAt, watchUrl, operation } = result;
        session.io.stdout.write(
          values.json
            ? `${JSON.stringify({ token, expiresAt, watchUrl, operation })}\n`
            : `${printable(watchUrl)}\n`,
        );
        return ExitCode.Ok;
      }
    }
  },
};
