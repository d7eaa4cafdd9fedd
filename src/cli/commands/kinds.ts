import type { OperationKind } from '../../client/node.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { printable } from '../terminal-text.js';

const USAGE = `Usage: longrun kinds [<kind>]

Lists the kinds of operation the server runs: each with its description and a ready-to-run
start command with an example input. With <kind>, prints the JSON Schema (draft 2020-12) of that
kind's input instead. With --json, prints the kinds (or the one kind) as JSON, schemas included.

Exit codes: 0 listed, 2 unknown kind, 3 no connection or token refused.`;

/** `text` quoted for a POSIX shell: single quotes, each inner one written as '\\''. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The block `longrun kinds` prints for one kind. */
export function kindBlock(kind: OperationKind): string {
  const lines = [printable(kind.kind)];
  if (kind.description) lines.push(`  ${printable(kind.description)}`);
  const example =
    kind.exampleInput === null || kind.exampleInput === undefined
      ? ''
      : ` --input ${shellQuote(JSON.stringify(kind.exampleInput))}`;
  lines.push(`  e.g. longrun start ${printable(kind.kind)}${printable(example)}`);
  return lines.join('\n');
}

/** `longrun kinds [<kind>]`. */
export const kindsCommand: Command = {
  name: 'kinds',
  synopsis: 'kinds [<kind>]',
  summary: 'list the kinds of operation, with an example each (<kind>: its input schema)',
  usage: USAGE,
  async run(argv, session) {
    const { values, positionals } = parseCommandArgs(argv, {}, { names: [], optional: ['kind'] });
    const { io } = session;
    if (values.help) {
      io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const name = positionals[0];
    const { client } = session.connect(values);
    const kinds = await client.kinds();
    if (name === undefined) {
      if (values.json) io.stdout.write(`${JSON.stringify(kinds)}\n`);
      else
        io.stdout.write(
          kinds.length === 0 ? 'No kinds.\n' : `${kinds.map(kindBlock).join('\n\n')}\n`,
        );
      return ExitCode.Ok;
    }
    const kind = kinds.find((candidate) => candidate.kind === name);
    if (!kind) {
      throw new UsageError(
        `unknown kind "${name}"; the server runs ${kinds.map((k) => k.kind).join(', ') || 'none'}`,
      );
    }
    io.stdout.write(
      values.json ? `${JSON.stringify(kind)}\n` : `${JSON.stringify(kind.inputSchema, null, 2)}\n`,
    );
    return ExitCode.Ok;
  },
};
