import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, GLOBAL_OPTIONS_HELP, parseArgsMessage, splitCommandLine } from './args.js';
import { UsageError } from './cli-error.js';
import { type Command, commandHelp } from './command.js';
import { cancelCommand } from './commands/cancel.js';
import { kindsCommand } from './commands/kinds.js';
import { listCommand } from './commands/list.js';
import { retryCommand } from './commands/retry.js';
import { startCommand } from './commands/start.js';
import { waitCommand } from './commands/wait.js';
import { watchCommand } from './commands/watch.js';
import { watchLinkCommand } from './commands/watch-link.js';
import { type Connection, connect } from './connect.js';
import { ExitCode, exitCodeHelp } from './exit-codes.js';
import { toCliError } from './failure.js';
import type { CliIo } from './io.js';
import { safeOutput } from './terminal-text.js';
import { runToken } from './token.js';

const COMMANDS: readonly Command[] = [
  startCommand,
  listCommand,
  watchCommand,
  waitCommand,
  cancelCommand,
  retryCommand,
  kindsCommand,
  watchLinkCommand,
];

function usage(): string {
  const entries = [
    ...COMMANDS.map((command) => [command.synopsis, command.summary]),
    ['token --sub <user>', "print a bearer token signed with the server's key"],
    ['help [command]', 'show help for a command'],
  ];
  const width = Math.max(...entries.map(([synopsis]) => synopsis?.length ?? 0));
  return `Usage: longrun <command> [options]

Starts, lists, watches, waits for, cancels and retries longrun operations.

Commands:
${entries.map(([synopsis, summary]) => `  ${synopsis?.padEnd(width)}  ${summary}`).join('\n')}

${GLOBAL_OPTIONS_HELP}
  --version        print the version

Exit codes:
${exitCodeHelp()}

"longrun <command> --help" describes a command.
`;
}

function version(): string {
  // ../../package.json from src/cli/ and from dist/cli/ alike.
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** `longrun` without a command: `--help`, `--version`, or a usage error. */
function withoutCommand(argv: readonly string[], io: CliIo): number {
  let values: { help?: boolean; version?: boolean };
  try {
    values = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  if (values.version) {
    io.stdout.write(`${version()}\n`);
    return ExitCode.Ok;
  }
  if (values.help) {
    io.stdout.write(usage());
    return ExitCode.Ok;
  }
  io.stderr.write(usage());
  return ExitCode.Usage;
}

/** `longrun help [command]`. */
function help(argv: readonly string[], io: CliIo): number {
  const name = argv[0];
  if (name === undefined) {
    io.stdout.write(usage());
    return ExitCode.Ok;
  }
  if (name === 'token') return runToken(['--help'], io);
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  io.stdout.write(commandHelp(command.usage));
  return ExitCode.Ok;
}

/**
 * Runs `longrun` with `argv` (the arguments after the program name) and resolves with the exit
 * code. Every failure is written as one line on stderr; nothing here exits the process.
 */
export async function runCli(argv: readonly string[], given: CliIo): Promise<number> {
  // Whatever a server sends, no control character of it reaches the terminal raw.
  const io: CliIo = {
    ...given,
    stdout: safeOutput(given.stdout),
    stderr: safeOutput(given.stderr),
  };
  const { command: name, args } = splitCommandLine(argv);
  const command = COMMANDS.find((candidate) => candidate.name === name);
  // Assigned in connect() below; the cast keeps TypeScript from narrowing it to null for good.
  let connection = null as Connection | null;
  // Closing the client ends its pending requests (with ABORTED) and its live streams.
  const onInterrupt = () => void connection?.client.close();
  io.signal.addEventListener('abort', onInterrupt, { once: true });
  try {
    if (name === null) return withoutCommand(args, io);
    if (name === 'token') return runToken(args, io);
    if (name === 'help') return help(args, io);
    if (!command) throw new UsageError(`unknown command "${name}"`);
    return await command.run(args, {
      io,
      connect(values) {
        connection ??= connect(values, io.env);
        return connection;
      },
    });
  } catch (error) {
    const failure = toCliError(error, connection?.url ?? null);
    const hint =
      failure instanceof UsageError
        ? ` (see "longrun ${command ? `${command.name} ` : ''}--help")`
        : '';
    io.stderr.write(`longrun: ${failure.message}${hint}\n`);
    return failure.exitCode;
  } finally {
    io.signal.removeEventListener('abort', onInterrupt);
    await connection?.client.close();
  }
}
