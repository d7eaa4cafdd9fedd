import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { EventQueue } from '../helpers/queue.js';
import { within } from '../helpers/wait.js';

const root = resolve(import.meta.dirname, '..', '..');

/** How a `longrun` process ended and everything it wrote. */
export interface CliResult {
  /** The exit code, or the signal's name when one killed it. */
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `longrun` process: its stdout lines as they arrive, and its end. */
export interface CliRun {
  readonly child: ChildProcess;
  /** Complete stdout lines, in order, as they arrive. */
  readonly lines: EventQueue<string>;
  /** Resolves once the process has exited and its output is read. */
  readonly result: Promise<CliResult>;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];
afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An empty temporary directory, removed after the file's tests. */
export function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'longrun-cli-'));
  dirs.push(dir);
  return dir;
}

/**
 * Starts `node --import tsx src/cli/main.ts …args` from the repository root, with stdout and
 * stderr as pipes (not a terminal). The environment holds only PATH, HOME, an empty DATA_DIR
 * (so no development key is found by accident) and `env`; a key set to undefined is left out.
 */
export function spawnLongrun(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): CliRun {
  const fullEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: emptyDir(),
    ...env,
  })) {
    if (value !== undefined) fullEnv[key] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines = new EventQueue<string>();
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      lines.push(pending.slice(0, end));
      pending = pending.slice(end + 1);
    }
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    child.once('error', reject);
    // 'close' comes after 'exit' and after both pipes are drained.
    child.once('close', (code, signal) => {
      lines.end();
      resolvePromise({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
  return { child, lines, result };
}

/** Runs `longrun …args` to its end (at most 20 s). */
export function longrun(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  return within(spawnLongrun(args, env).result, `longrun ${args.join(' ')} to exit`, 20_000);
}

/**
 * Every stdout line parsed as JSON: one complete document per line, each ended by a newline
 * (throws on an empty line or one that does not parse).
 */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  if (!stdout.endsWith('\n')) throw new Error(`stdout does not end with a newline: ${stdout}`);
  return stdout
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
