import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './cli-error.js';

/** The `options` of node:util's parseArgs. */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts, before or after the command name. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

/** The global options' help text, shared by every usage screen. */
export const GLOBAL_OPTIONS_HELP = `Global options:
  --url <url>      GraphQL endpoint (env LONGRUN_URL; default http://127.0.0.1:4000/graphql)
  --token <jwt>    bearer token (env LONGRUN_TOKEN); without one, against a local development
                   server, a token for "developer" (admin) is signed with the development key
                   the server keeps in DATA_DIR (./data), when that key exists
  --json           JSON output (watch: one JSON object per line)
  -h, --help       this help`;

/** The values of the global options, as every command receives them. */
export interface GlobalValues {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly json?: boolean | undefined;
  readonly help?: boolean | undefined;
}

/** `argv` split into the command name and everything else. */
export interface CommandLine {
  /** The command name, or null when there is none. */
  readonly command: string | null;
  /** `argv` without the command name, in order (global options may come before or after it). */
  readonly args: readonly string[];
}

const STRING_GLOBALS = new Set(['--url', '--token']);

/** Finds the command name: the first argument that is neither an option nor an option's value. */
export function splitCommandLine(argv: readonly string[]): CommandLine {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') {
      return { command: arg, args: [...argv.slice(0, i), ...argv.slice(i + 1)] };
    }
    if (STRING_GLOBALS.has(arg)) i++;
  }
  return { command: null, args: argv };
}

type OptionValue<C> = C extends { readonly type: 'boolean' }
  ? C extends { readonly multiple: true }
    ? boolean[]
    : boolean
  : C extends { readonly multiple: true }
    ? string[]
    : string;

/** What `parseCommandArgs` returns: each option's value (absent when not given) and the rest. */
export interface ParsedCommandArgs<O extends OptionsConfig> {
  readonly values: {
    readonly [K in keyof (typeof GLOBAL_OPTIONS & O)]?: OptionValue<(typeof GLOBAL_OPTIONS & O)[K]>;
  };
  readonly positionals: readonly string[];
}

/**
 * Parses a command's arguments with the global options added; `positionals` names the
 * arguments it takes (`names` required, then `optional` ones). Throws `UsageError` with a short
 * message for anything else.
 */
export function parseCommandArgs<const O extends OptionsConfig>(
  argv: readonly string[],
  options: O,
  positionals: { readonly names: readonly string[]; readonly optional?: readonly string[] },
): ParsedCommandArgs<O> {
  let parsed: { values: GlobalValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  if (!parsed.values.help) {
    const missing = positionals.names[parsed.positionals.length];
    if (missing !== undefined) throw new UsageError(`missing <${missing}>`);
    const allowed = positionals.names.length + (positionals.optional?.length ?? 0);
    const extra = parsed.positionals[allowed];
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  }
  return parsed as ParsedCommandArgs<O>;
}

/** node:util's parseArgs messages, shortened to what was wrong. */
export function parseArgsMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const quoted = /'([^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted) return `unknown option ${quoted}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted) {
    return `unexpected argument "${quoted}"`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted) {
    const option = quoted.replace(/ <value>$/, '');
    if (/argument missing/.test(message)) return `${option} needs a value`;
    if (/does not take an argument/.test(message)) return `${option} takes no value`;
  }
  return message;
}

/** A whole number within [min, max] given to `option`, or a `UsageError`. */
export function parseWholeNumber(
  text: string,
  option: string,
  range: { readonly min: number; readonly max: number },
): number {
  const value = /^\s*\d{1,15}\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw new UsageError(
      `${option}: expected a whole number from ${range.min} to ${range.max}, got "${text}"`,
    );
  }
  return value;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A duration given to `option` (`500ms`, `30s`, `10m`, `2h`, `1d`, or plain seconds) in
 * milliseconds, within [min, max]; else a `UsageError` that names the accepted forms.
 */
export function parseDuration(
  text: string,
  option: string,
  range: { readonly min: number; readonly max: number },
): number {
  const match = /^\s*(\d{1,9})(ms|s|m|h|d)?\s*$/.exec(text);
  const ms = match ? Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 's'] ?? 1_000) : Number.NaN;
  if (!(ms >= range.min && ms <= range.max)) {
    throw new UsageError(
      `${option}: expected a duration such as 30s, 10m or 2h (plain numbers are seconds), got "${text}"`,
    );
  }
  return ms;
}
