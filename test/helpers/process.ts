import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';
import { EventQueue } from './queue.js';
import { TEST_SECRET, TEST_WATCH_SECRET } from './server.js';

const root = resolve(import.meta.dirname, '..', '..');

/** A server running as its own process (`node --import tsx src/main.ts`). */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Every stdout and stderr line, in order. */
  readonly lines: string[];
  /** Resolves with the URL once the server listens (rejects if it exits first). */
  readonly listening: Promise<string>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Lines as they arrive. */
  readonly output: EventQueue<string>;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

/** Starts `src/main.ts` in a child process; `env` overrides the test defaults. */
export function spawnServer(
  env: Record<string, string | undefined> = {},
  dataDir?: string,
): ServerProcess {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'longrun-proc-'));
  const fullEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    JWT_SECRET: TEST_SECRET,
    WATCH_TOKEN_SECRET: TEST_WATCH_SECRET,
    LOG_LEVEL: 'info',
    ...env,
  })) {
    if (value !== undefined) fullEnv[key] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  const output = new EventQueue<string>();
  let resolveUrl: (url: string) => void = () => undefined;
  let rejectUrl: (error: Error) => void = () => undefined;
  const listening = new Promise<string>((res, rej) => {
    resolveUrl = res;
    rejectUrl = rej;
  });
  const onLine = (line: string) => {
    lines.push(line);
    output.push(line);
    const match = /"message":"longrun is listening","url":"([^"]+)"/.exec(line);
    if (match?.[1]) resolveUrl(match[1]);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffer += chunk;
      let index = buffer.indexOf('\n');
      while (index >= 0) {
        onLine(buffer.slice(0, index));
        buffer = buffer.slice(index + 1);
        index = buffer.indexOf('\n');
      }
    });
  }
  const exited = new Promise<number | string>((res) => {
    child.once('exit', (code, signal) => {
      output.end();
      rejectUrl(
        new Error(`The server exited (${code ?? signal}) before listening:\n${lines.join('\n')}`),
      );
      res(code ?? signal ?? 'unknown');
    });
  });
  return { child, dataDir: dir, lines, listening, exited, output };
}
