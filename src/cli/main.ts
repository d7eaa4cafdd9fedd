#!/usr/bin/env node
import { ExitCode } from './exit-codes.js';
import { runCli } from './run-cli.js';
import { SHOW_CURSOR } from './terminal-text.js';

// The first Ctrl-C lets the command stop cleanly (watch restores the cursor and exits 130);
// a second one exits at once.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (!interrupt.signal.aborted) return interrupt.abort();
  if (process.stdout.isTTY) process.stdout.write(SHOW_CURSOR);
  process.exit(ExitCode.Interrupted);
});

// `longrun list | head -1` closes the pipe early: that ends the output, it is not a failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.Ok);
    throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: interrupt.signal,
});
