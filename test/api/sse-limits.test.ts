import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { defineHandler } from '../../src/handlers/handler.js';
import type { JsonValue } from '../../src/operations/model.js';
import { userClient } from '../helpers/clients.js';
import { startControlled } from '../helpers/controlled.js';
import { EventQueue } from '../helpers/queue.js';
import { NO_SHUTDOWN_GRACE, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections, in MB. */
function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1_048_576;
}

const sockets = new Set<Socket>();
afterEach(() => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
});

/** A subscription over SSE sent on a raw socket that never reads a byte of the answer. */
async function neverRead(server: TestServer, token: string, query: string): Promise<void> {
  const body = JSON.stringify({ query });
  const socket = connect(server.app.port, '127.0.0.1');
  sockets.add(socket);
  socket.pause();
  await once(socket, 'connect');
  socket.write(
    [
      'POST /graphql HTTP/1.1',
      `Host: 127.0.0.1:${server.app.port}`,
      'Content-Type: application/json',
      'Accept: text/event-stream',
      `Authorization: Bearer ${token}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}

/**
 * POSTs a GraphQL request on a connection of its own: the test pauses the process for full
 * collections, and a kept-alive connection could be closed by the server as it is reused.
 */
async function post<D>(
  server: TestServer,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<D> {
  const body = JSON.stringify({ query, variables });
  const req = request(server.url, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'content-length': Buffer.byteLength(body),
    },
  });
  req.end(body);
  const [response] = (await once(req, 'response')) as [IncomingMessage];
  let text = '';
  for await (const chunk of response) text += chunk;
  const parsed = JSON.parse(text) as { data?: D };
  if (!parsed.data) throw new Error(`request failed: ${text}`);
  return parsed.data;
}

const START = `mutation($input: StartOperationInput!) {
  startOperation(input: $input) { __typename } }`;

/** A kind that reports progress once and succeeds: every run is four revisions. */
const quick = defineHandler({
  kind: 'test.quick',
  parseInput: (raw: JsonValue | null) => raw,
  async run(_input, { progress }) {
    await progress(0.5, 'half way');
    return null;
  },
});

/** One SSE event as sent. */
interface Block {
  readonly event: string | null;
  readonly data: string | null;
}

/** An SSE subscription on node:http, so the test can stop reading (`pause`) and go on later. */
async function pausableSse(server: TestServer, token: string, query: string, variables = {}) {
  const body = JSON.stringify({ query, variables });
  const req = request(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      'content-length': Buffer.byteLength(body),
    },
  });
  req.end(body);
  const [response] = (await once(req, 'response')) as [IncomingMessage];
  const blocks = new EventQueue<Block>();
  let buffer = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const field = (name: string) =>
        lines
          .find((line) => line.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim() ?? null;
      if (field('event') !== null || field('data') !== null) {
        blocks.push({ event: field('event'), data: field('data') });
      }
    }
  });
  response.on('end', () => blocks.end());
  response.on('error', (error) => blocks.end(error));
  response.on('close', () => blocks.end());
  return { req, response, blocks };
}

describe('SSE streams whose reader takes nothing', () => {
  it('100 never-read operationsUpdated streams while 800 operations finish grow the heap by tens of MB at most', {
    timeout: 600_000,
  }, async () => {
    const server = await startTestServer(
      {
        MAX_CONCURRENT_RUNS: '16',
        MAX_RUNS_PER_OWNER: '16',
        // The queue bound, not the stall timeout, is what this measures.
        SSE_STALL_TIMEOUT_MS: '3600000',
        START_RATE_PER_MINUTE: '1000000',
        MAX_ACTIVE_PER_OWNER: '1000000',
        LOG_LEVEL: 'info',
      },
      { handlers: [quick] },
    );
    const alice = userClient(server, 'alice');
    const watchAll =
      'subscription { operationsUpdated { id kind status progress message input revision } }';
    const before = heapMb();
    for (let i = 0; i < 100; i++) await neverRead(server, alice.token, watchAll);
    await waitFor(() => server.app.gauges().streams === 100, 'every stream to open');

    // 16 KB of input per operation: socket buffers hold a few hundred events per stream, and
    // whatever a stream keeps beyond them stays on the heap.
    const input = { bulk: 'x'.repeat(16_000) };
    let peak = 0;
    for (let started = 0; started < 800; started += 40) {
      await Promise.all(
        Array.from({ length: 40 }, () =>
          post(server, alice.token, START, { input: { kind: 'test.quick', input } }),
        ),
      );
      if (started % 200 === 0) peak = Math.max(peak, heapMb() - before);
    }
    await waitFor(
      async () => {
        const { operations } = await post<{ operations: { totalCount: number } }>(
          server,
          alice.token,
          '{ operations(status: [SUCCEEDED]) { totalCount } }',
        );
        return operations.totalCount === 800;
      },
      'every operation to finish',
      300_000,
      250,
    );
    const grown = Math.max(peak, heapMb() - before);
    console.info(`heap grew by at most ${grown.toFixed(1)} MB (100 streams, 800 operations)`);
    expect(grown).toBeLessThan(50);
    // Every stream fell too far behind and was ended; the connections wait for their readers.
    await waitFor(() => server.app.gauges().streams === 0, 'the streams to be ended');
    expect(
      server.logs.filter((l) => l.message === 'closed an event stream whose reader took nothing'),
    ).toEqual([]);
  });

  it('a reader that stops reading long enough is cut off with SUBSCRIBER_TOO_SLOW, after the states it had, and no complete', {
    timeout: 120_000,
  }, async () => {
    const server = await startTestServer(
      {
        ...NO_SHUTDOWN_GRACE,
        START_RATE_PER_MINUTE: '1000000',
        MAX_ACTIVE_PER_OWNER: '1000000',
        SSE_STALL_TIMEOUT_MS: '3600000',
      },
      { handlers: [quick] },
    );
    const alice = userClient(server, 'alice');
    const stream = await pausableSse(
      server,
      alice.token,
      'subscription { operationsUpdated { id status revision input } }',
    );
    await waitFor(() => server.app.gauges().streams === 1, 'the stream to open');
    stream.response.pause();
    const input = { bulk: 'x'.repeat(8_000) };
    // Each operation adds three states behind its first that nobody reads: past the bound of 1,000
    // within a few hundred operations, once socket buffers are full.
    for (let i = 0; server.app.gauges().streams > 0; i++) {
      expect(i).toBeLessThan(1_000);
      await Promise.all(
        Array.from({ length: 10 }, () =>
          post(server, alice.token, START, { input: { kind: 'test.quick', input } }),
        ),
      );
    }
    expect(server.app.usage('alice').subscriptions).toBe(1); // its response is still open
    stream.response.resume();
    const blocks = await stream.blocks.rest(60_000);
    const last = blocks.at(-1);
    expect(blocks.slice(0, -1).every((b) => b.event === 'next' && b.data?.includes('"id"'))).toBe(
      true,
    );
    expect(last?.event).toBe('next');
    expect(JSON.parse(last?.data ?? 'null')).toMatchObject({
      errors: [
        {
          message:
            'The stream fell too far behind its reader and was ended; subscribe again to catch up.',
          extensions: { code: 'SUBSCRIBER_TOO_SLOW' },
        },
      ],
    });
    await waitFor(() => server.app.usage('alice').subscriptions === 0, 'the place back');
  });

  it('closes a stream whose reader took nothing for SSE_STALL_TIMEOUT_MS; the operation runs on and the place is given back', async () => {
    const { server, alice, op, run } = await startControlled('test.controlled', {
      input: { bulk: 'x'.repeat(60_000) },
      env: { SSE_STALL_TIMEOUT_MS: '500' },
    });
    const stream = await pausableSse(
      server,
      alice.token,
      'subscription($id: ID!) { operationUpdated(id: $id) { revision input } }',
      { id: op.id },
    );
    expect((await stream.blocks.next()).event).toBe('next');
    stream.response.pause(); // from now on it takes nothing
    // Every 60 KB state fills socket buffers until the server's writes wait for the reader. The
    // handler lets the event loop turn between reports, as one doing real work would.
    for (let i = 1; server.app.gauges().streams > 0; i++) {
      expect(i).toBeLessThan(5_000);
      await run.context.progress((i % 100) / 100);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => server.app.usage('alice').subscriptions === 0, 'the place back');
    expect(
      server.logs.filter((l) => l.message === 'closed an event stream whose reader took nothing'),
    ).toHaveLength(1);
    expect(run.context.signal.aborted).toBe(false);
    run.finish(null);
    await waitFor(async () => (await alice.get(op.id))?.status === 'SUCCEEDED', 'the end');
  });
});
