import { parseCommandArgs, parseWholeNumber } from '../args.js';
import { CliError, UsageError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { clause, invalid } from '../failure.js';
import { reportStarted } from '../follow.js';

/** The server's own limit (`LIMITS.maxTimeoutMs`): one day. */
const MAX_TIMEOUT_MS = 86_400_000;

const OPTIONS = {
  input: { type: 'string' },
  timeout: { type: 'string' },
  'idempotency-key': { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
} as const;

const USAGE = `Usage: longrun start <kind> [--input <json>] [--timeout <ms>] [--idempotency-key <key>] [--watch]

Starts an operation of <kind> and prints its id (with --json, the operation as JSON).

Options:
  --input <json>             the operation's input, as JSON, e.g. '{"ms": 5000, "steps": 5}'
  --timeout <ms>             fail it with TIMEOUT when it runs longer than this
  --idempotency-key <key>    start at most one operation per key: a repeat returns the first
  -w, --watch                then follow it as "longrun watch" does, and exit as watch does

Exit codes: 0 started (with --watch: it SUCCEEDED), 1 with --watch: it ended FAILED or
CANCELLED, 2 unknown kind or input the kind rejects (nothing is started), 3 no connection.`;

function parseInput(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`--input is not valid JSON: ${reason}`);
  }
}

/** `longrun start <kind>`. */
export const startCommand: Command = {
  name: 'start',
  synopsis: 'start <kind>',
  summary: 'start an operation; prints its id (--watch: then follows it)',
  usage: USAGE,
  async run(argv, session) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, { names: ['kind'] });
    if (values.help) {
      session.io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const kind = positionals[0] ?? '';
    const input = parseInput(values.input);
    const timeoutMs =
      values.timeout === undefined
        ? undefined
        : parseWholeNumber(values.timeout, '--timeout', { min: 1, max: MAX_TIMEOUT_MS });
    const idempotencyKey = values['idempotency-key'];
    const { client } = session.connect(values);
    const result = await client.start(kind, input, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    switch (result.__typename) {
      case 'UnknownKindError':
        throw new CliError(clause(result.message), ExitCode.Usage);
      case 'ValidationError':
        throw new CliError(invalid(result), ExitCode.Usage);
      case 'RateLimitedError':
        throw new CliError(clause(result.message), ExitCode.Failed);
      case 'StartOperationSuccess':
        break;
    }
    return await reportStarted(client, result.operation, session.io, {
      json: values.json ?? false,
      watch: values.watch ?? false,
    });
  },
};
