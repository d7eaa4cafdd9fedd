/** Where a command writes: `process.stdout`/`process.stderr` fit, and so does a test double. */
export interface OutputStream {
  write(text: string): unknown;
  /** True on a terminal: `watch` then draws one line in place. */
  readonly isTTY?: boolean;
  /** Terminal width in characters, when known. */
  readonly columns?: number;
}

/** Everything a command may touch of its process, passed in by `main.ts`. */
export interface CliIo {
  /** The environment (`LONGRUN_URL`, `LONGRUN_TOKEN`, and the server settings the token needs). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Fires on Ctrl-C (SIGINT). */
  readonly signal: AbortSignal;
}
