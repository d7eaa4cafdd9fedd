import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import {
  liveLine,
  outcomeLine,
  plainLine,
  type RenderedOperation,
  table,
} from '../../src/cli/render.js';
import { runCli } from '../../src/cli/run-cli.js';
import { printable } from '../../src/cli/terminal-text.js';
import { OperationStatus } from '../../src/client/node.js';
import { defineHandler } from '../../src/handlers/handler.js';
import { userClient } from '../helpers/clients.js';
import { blockingHandler } from '../helpers/handlers.js';
import { NO_SHUTDOWN_GRACE, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * What a hostile handler, user or server may put in a message, reason or error: a window title
 * (OSC), clear screen, a carriage return and cursor-up to overwrite the line above, an 8-bit CSI,
 * a right-to-left override and a line break to fake another line of output.
 */
const HOSTILE = '\x1b]0;owned\x07\x1b[2J\r\x1b[1A\u009b31m\u202eevil\nlongrun: SUCCEEDED';

/** Any control character but the line break, and any bidirectional formatting character. */
const RAW_CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** The CLI's own cursor sequences on a terminal, which are allowed. */
const OWN_SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /\r\x1b\[2K|\x1b\[\?25[hl]/g;

const hostileKind = defineHandler({
  kind: 'test.hostile',
  parseInput: () => null,
  async run(_input, { progress }) {
    await progress(0.5, HOSTILE);
    throw new Error(HOSTILE);
  },
});

/** A CLI run in this process against `server`: what it wrote, and its exit code. */
async function longrun(
  server: TestServer,
  token: string,
  args: string[],
  options: { tty?: boolean } = {},
) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: { LONGRUN_URL: server.url, LONGRUN_TOKEN: token },
    stdout: {
      write: (text: string) => {
        stdout += text;
      },
      isTTY: options.tty ?? false,
      columns: 200,
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
      },
    },
    signal: new AbortController().signal,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

function expectNoRawControl(text: string): void {
  const found = RAW_CONTROL.exec(text.replace(OWN_SEQUENCES, ''));
  expect(
    found,
    `raw U+${found?.[0].charCodeAt(0).toString(16)} in ${JSON.stringify(text)}`,
  ).toBeNull();
}

describe('the CLI facing hostile server data', () => {
  it('escapes control characters of messages and errors in plain, terminal and JSON output', async () => {
    const server = await startTestServer(NO_SHUTDOWN_GRACE, { handlers: [hostileKind] });
    const alice = userClient(server, 'alice');
    const plain = await longrun(server, alice.token, ['start', 'test.hostile', '--watch']);
    expect(plain.code).toBe(1);
    const terminal = await longrun(server, alice.token, ['start', 'test.hostile', '--watch'], {
      tty: true,
    });
    const json = await longrun(server, alice.token, ['start', 'test.hostile', '--watch', '--json']);
    for (const run of [plain, terminal, json]) {
      expectNoRawControl(run.stdout);
      expectNoRawControl(run.stderr);
    }
    expect(plain.stdout).toContain(printable(HOSTILE));
    expect(plain.stderr).toBe(`longrun: FAILED (HANDLER_ERROR): ${printable(HOSTILE)}\n`);
    expect(terminal.stdout).toContain('\\u001b]0;owned\\u0007');
    // JSON stays JSON, and holds exactly what the server sent.
    const records = json.stdout
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { message: string | null; error: { message: string } | null },
      );
    expect(records.map((record) => record.message)).toContain(HOSTILE);
    expect(records.at(-1)?.error?.message).toBe(HOSTILE);
  });

  it("escapes another user's cancel reason, and the server's refusals", async () => {
    const { handler } = blockingHandler();
    const server = await startTestServer(NO_SHUTDOWN_GRACE, { handlers: [handler] });
    const alice = userClient(server, 'alice');
    const root = userClient(server, 'root', { admin: true });
    const op = await alice.start({ kind: 'test.block' });
    await root.cancel(op.id, HOSTILE);
    const watched = await longrun(server, alice.token, ['watch', op.id]);
    expect(watched.code).toBe(1);
    expectNoRawControl(watched.stdout);
    expectNoRawControl(watched.stderr);
    expect(watched.stderr).toContain(printable(JSON.stringify(HOSTILE)));

    const unknown = await longrun(server, alice.token, ['start', `no.such${HOSTILE}`]);
    expect(unknown.code).toBe(2);
    expectNoRawControl(unknown.stderr);
    expect(unknown.stderr).toContain(printable(HOSTILE));
  });
});

describe('rendering', () => {
  it('writes every control character of server fields as an escape, on one line', () => {
    const op: RenderedOperation = {
      status: OperationStatus.Cancelled,
      progress: 0.5,
      message: HOSTILE,
      updatedAt: '2026-01-02T03:04:05.678Z',
      cancelledBy: `mallory${HOSTILE}`,
      cancelReason: HOSTILE,
      error: { code: 'CANCELLED', message: HOSTILE },
    };
    for (const line of [liveLine(op, { columns: 400 }), plainLine(op), outcomeLine(op)]) {
      expect(line).not.toMatch(RAW_CONTROL);
      expect(line).not.toContain('\n');
    }
    const rows = table([
      ['ID', 'OWNER'],
      ['1', `owner${HOSTILE}`],
    ]);
    expect(rows.split('\n')).toHaveLength(2);
    expect(rows).not.toMatch(RAW_CONTROL);
    expect(printable('a\tb\nc\u0000\u009b\u202e')).toBe('a\\tb\\nc\\u0000\\u009b\\u202e');
  });
});
