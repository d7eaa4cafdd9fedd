import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { gatedServer } from '../helpers/gated.js';
import { waitFor, within } from '../helpers/wait.js';
import { emptyDir } from './longrun.js';

const root = resolve(import.meta.dirname, '..', '..');
const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/** `longrun …args` on a pseudo-terminal (util-linux `script`): what a person at a terminal sees. */
function onTerminal(args: string[]) {
  const command = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args]
    .map(quote)
    .join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: emptyDir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return { output: () => output, exited, child };
}

it('watch on a terminal redraws one progress line in place, then ends on the outcome', async () => {
  const { server, alice, gated } = await gatedServer();
  const op = await alice.start({ kind: 'test.gated' });
  const run = await gated.started(op.id);
  const watching = onTerminal(['watch', op.id, '--url', server.url, '--token', alice.token]);
  try {
    await waitFor(() => watching.output().includes('RUNNING'), 'the first line', 15_000);
    await run.ctx.progress(0.5, 'half way');
    await waitFor(() => watching.output().includes('half way'), 'the redrawn line');
    run.finish();
    expect(await within(watching.exited, 'watch to exit')).toBe(0);
  } finally {
    watching.child.kill('SIGKILL');
  }
  const output = watching.output();
  expect(output.startsWith('\u001b[?25l')).toBe(true); // the cursor is hidden while drawing…
  expect(output).toContain('\u001b[?25h'); // …and shown again at the end
  // Each state redraws the same line: carriage return and erase, no new line in between.
  const frames = output.split('\r\u001b[2K').slice(1);
  expect(frames.length).toBeGreaterThanOrEqual(3);
  const half = frames.find((frame) => frame.includes('half way'));
  expect(half).toMatch(/█{5,}░{5,}/);
  expect(half).toContain(' 50%');
  expect(frames.slice(0, -1).every((frame) => !frame.includes('\n'))).toBe(true);
  expect(frames.at(-1)).toContain('SUCCEEDED');
});
