import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { startTestServer, tokenFor } from '../helpers/server.js';

const script = resolve(
  import.meta.dirname,
  '..',
  '..',
  'examples',
  'curl',
  'start-watch-cancel.sh',
);

it('the curl recipe starts, watches over SSE (ids = revisions) and cancels, and the watch ends with complete', async () => {
  const server = await startTestServer();
  const { stdout } = await promisify(execFile)('bash', [script], {
    env: { PATH: process.env.PATH, API: server.url, TOKEN: tokenFor('alice') },
    timeout: 30_000,
  });
  const events = stdout
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => !line.startsWith(':')))
    .filter((lines) => lines.length > 0 && lines.some((line) => line.startsWith('event:')));
  const last = events.at(-1);
  expect(last).toEqual(['event: complete', 'data:']);
  const final = events.at(-2) ?? [];
  expect(final[1]).toBe('event: next');
  const state = JSON.parse((final[2] ?? '').slice('data: '.length)) as {
    data: { operationUpdated: { status: string; revision: number } };
  };
  expect(state.data.operationUpdated.status).toBe('CANCELLED');
  expect(final[0]).toBe(`id: ${state.data.operationUpdated.revision}`);
});
