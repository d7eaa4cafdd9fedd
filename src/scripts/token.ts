import { runToken } from '../cli/token.js';

process.exitCode = runToken(
  process.argv.slice(2),
  { env: process.env, stdout: process.stdout, stderr: process.stderr },
  { invocation: 'npm run token --', name: 'token' },
);
