import { ALL_STATUSES, type Operation, type OperationStatus } from '../../client/node.js';
import { parseCommandArgs, parseWholeNumber } from '../args.js';
import { UsageError } from '../cli-error.js';
import { type Command, commandHelp } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { age, percent, table } from '../render.js';

/** The server's largest page. */
const MAX_PAGE_SIZE = 100;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 10_000;

const OPTIONS = {
  status: { type: 'string' },
  kind: { type: 'string' },
  owner: { type: 'string' },
  limit: { type: 'string' },
} as const;

const USAGE = `Usage: longrun list [--status <S,S>] [--kind <kind>] [--owner <user>] [--limit <n>]

Lists operations, newest first, as a table (id, kind, status, progress, owner, age) or, with
--json, as a JSON array of operations. Users see their own operations; admins see everyone's.

Options:
  --status <S,S>    only these statuses: ${ALL_STATUSES.join(', ')}
  --kind <kind>     only this kind
  --owner <user>    only this user's (admins)
  --limit <n>       at most n operations (default ${DEFAULT_LIMIT})

Exit codes: 0 listed, 2 bad arguments, 3 no connection or token refused.`;

function parseStatuses(text: string | undefined): OperationStatus[] | undefined {
  if (text === undefined) return undefined;
  const names = text
    .split(',')
    .map((name) => name.trim().toUpperCase())
    .filter((name) => name !== '');
  const known: ReadonlySet<string> = new Set(ALL_STATUSES);
  const unknown = names.find((name) => !known.has(name));
  if (unknown !== undefined || names.length === 0) {
    throw new UsageError(
      `--status: expected a comma-separated list of ${ALL_STATUSES.join(', ')}, got "${text}"`,
    );
  }
  return names as OperationStatus[];
}

/** `longrun list`. */
export const listCommand: Command = {
  name: 'list',
  synopsis: 'list',
  summary: 'list operations, newest first, as a table',
  usage: USAGE,
  async run(argv, session) {
    const { values } = parseCommandArgs(argv, OPTIONS, { names: [] });
    const { io } = session;
    if (values.help) {
      io.stdout.write(commandHelp(USAGE));
      return ExitCode.Ok;
    }
    const filter = {
      ...(values.kind === undefined ? {} : { kind: values.kind }),
      ...(values.owner === undefined ? {} : { ownerId: values.owner }),
      ...(values.status === undefined ? {} : { status: parseStatuses(values.status) }),
    };
    const limit =
      values.limit === undefined
        ? DEFAULT_LIMIT
        : parseWholeNumber(values.limit, '--limit', { min: 1, max: MAX_LIMIT });
    const { client } = session.connect(values);

    const operations: Operation[] = [];
    let totalCount = 0;
    let after: string | null = null;
    while (operations.length < limit) {
      const first = Math.min(MAX_PAGE_SIZE, limit - operations.length);
      const page = await client.listPage({ ...filter, first, after });
      operations.push(...page.operations);
      totalCount = page.totalCount;
      if (!page.hasNextPage || page.endCursor === null) break;
      after = page.endCursor;
    }

    if (values.json) {
      io.stdout.write(`${JSON.stringify(operations)}\n`);
      return ExitCode.Ok;
    }
    if (operations.length === 0) {
      io.stdout.write('No operations.\n');
      return ExitCode.Ok;
    }
    const now = Date.now();
    const rows = operations.map((op) => [
      op.id,
      op.kind,
      op.status,
      percent(op.progress),
      op.ownerId,
      age(op.createdAt, now),
    ]);
    io.stdout.write(`${table([['ID', 'KIND', 'STATUS', 'PROGRESS', 'OWNER', 'AGE'], ...rows])}\n`);
    if (totalCount > operations.length) {
      io.stdout.write(`(${operations.length} of ${totalCount}; --limit shows more)\n`);
    }
    return ExitCode.Ok;
  },
};
