import { once } from 'node:events';
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { mapOps, type Op, type SseEvent, sse, userClient } from '../helpers/clients.js';
import {
  expectCoalescedFlood,
  floodThroughCancel,
  startControlled,
} from '../helpers/controlled.js';
import { EventQueue } from '../helpers/queue.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';

/** One block of an event stream, as sent: comment lines kept apart from fields. */
interface Block {
  readonly comments: string[];
  readonly id?: string;
  readonly event: string | null;
  readonly data: string | null;
}

function parseBlock(text: string): Block {
  const comments: string[] = [];
  let id: string | undefined;
  let event: string | null = null;
  const data: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) comments.push(line);
    else if (line.startsWith('id:')) id = line.slice(3).trim();
    else if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  return {
    comments,
    ...(id === undefined ? {} : { id }),
    event,
    data: data.length ? data.join('\n') : null,
  };
}

const requests = new Set<ClientRequest>();
afterEach(() => {
  for (const req of requests) req.destroy();
  requests.clear();
});

/**
 * A subscription over SSE on a plain node:http request, so the test sees the bytes as sent and
 * can stop reading (`response.pause()`) to make the server's writes back up.
 */
async function rawSse(
  server: TestServer,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const body = JSON.stringify({ query, variables });
  const req = request(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      'content-length': Buffer.byteLength(body),
      ...headers,
    },
  });
  requests.add(req);
  req.end(body);
  const [response] = (await once(req, 'response')) as [IncomingMessage];
  const blocks = new EventQueue<Block>();
  let text = '';
  let buffer = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    text += chunk;
    buffer += chunk;
    let boundary = buffer.indexOf('\n\n');
    while (boundary >= 0) {
      blocks.push(parseBlock(buffer.slice(0, boundary)));
      buffer = buffer.slice(boundary + 2);
      boundary = buffer.indexOf('\n\n');
    }
  });
  response.on('end', () => blocks.end());
  response.on('error', (error) => blocks.end(error));
  return {
    response,
    blocks,
    /** Everything received so far, byte for byte. */
    text: () => text,
    /** The next block that carries an event (comments alone are skipped). */
    async nextEvent(timeoutMs?: number): Promise<Block> {
      for (;;) {
        const block = await blocks.next(timeoutMs);
        if (block.event !== null || block.data !== null) return block;
      }
    },
  };
}

const WATCH = (fields: string) =>
  `subscription($id: ID!) { operationUpdated(id: $id) { ${fields} } }`;

function opIn(block: Block): Op {
  expect(block.event).toBe('next');
  const payload = JSON.parse(block.data ?? 'null') as { data: { operationUpdated: Op } };
  return payload.data.operationUpdated;
}

describe('SSE subscriptions (S44)', () => {
  it('sends the current state as the first next event, increasing revisions, and complete right after the terminal state', async () => {
    const { server, alice, op, run } = await startControlled();
    const stream = await rawSse(server, alice.token, WATCH('id status revision progress done'), {
      id: op.id,
    });
    expect(stream.response.statusCode).toBe(200);
    expect(stream.response.headers['content-type']).toMatch(/^text\/event-stream/);

    expect(opIn(await stream.nextEvent())).toEqual({
      id: op.id,
      status: 'RUNNING',
      revision: 2,
      progress: null,
      done: false,
    });
    await run.context.progress(0.5, 'half');
    expect(opIn(await stream.nextEvent())).toMatchObject({ revision: 3, progress: 0.5 });
    run.finish({ ok: true });
    expect(opIn(await stream.nextEvent())).toMatchObject({
      revision: 4,
      status: 'SUCCEEDED',
      done: true,
    });
    expect(await stream.nextEvent()).toEqual({ comments: [], event: 'complete', data: '' });
    // Nothing after complete: the response ends (keep-alive comments aside).
    const after = await stream.blocks.rest();
    expect(after.filter((b) => b.event !== null || b.data !== null)).toEqual([]);
    expect(stream.text().startsWith(':')).toBe(true); // a comment line opens the stream
    expect(stream.text().endsWith('event: complete\ndata:\n\n')).toBe(true);
    await waitFor(() => server.app.gauges().streams === 0, 'the stream to close');
  });

  it('keeps clients that ignore comment lines in step: the helper sees exactly the events sent', async () => {
    const { server, alice, op, run } = await startControlled();
    const query = WATCH('revision status progress message done');
    const raw = await rawSse(server, alice.token, query, { id: op.id });
    const helper = await sse(server.url, alice.token, query, { id: op.id });
    const rawEvents: Block[] = [];
    const helperEvents: SseEvent[] = [];
    const bothSeeNext = async () => {
      rawEvents.push(await raw.nextEvent());
      helperEvents.push(await helper.events.next());
    };
    // Each change reaches both streams before the next one, so neither coalesces anything and
    // both carry the same events.
    await bothSeeNext();
    for (let i = 1; i <= 5; i++) {
      await run.context.progress(i / 5, `step ${i}`);
      await bothSeeNext();
    }
    run.finish({ ok: true });
    await bothSeeNext(); // SUCCEEDED
    await bothSeeNext(); // complete
    expect(await helper.events.rest()).toEqual([]);
    expect((await raw.blocks.rest()).filter((b) => b.event !== null || b.data !== null)).toEqual(
      [],
    );

    // The raw stream had comment lines for the helper to skip; the helper's events are the raw
    // stream's events, field for field, in order.
    expect(raw.text()).toMatch(/^:/m);
    expect(helperEvents).toEqual(rawEvents.map((b) => ({ event: b.event, data: b.data ?? '' })));
    expect(helperEvents.map((e) => e.event)).toEqual([...Array(7).fill('next'), 'complete']);
    expect(rawEvents.slice(0, -1).map((b) => [opIn(b).revision, opIn(b).status])).toEqual([
      [2, 'RUNNING'],
      [3, 'RUNNING'],
      [4, 'RUNNING'],
      [5, 'RUNNING'],
      [6, 'RUNNING'],
      [7, 'RUNNING'],
      [8, 'SUCCEEDED'],
    ]);
  });

  it('answers an operation already done with its final state, then complete', async () => {
    const server = await startTestServer();
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 1, steps: 1 } });
    const final = await doneState(alice, op.id, 'the operation to end');
    const stream = await rawSse(server, alice.token, WATCH('id status revision done'), {
      id: op.id,
    });
    expect(opIn(await stream.nextEvent())).toEqual({
      id: op.id,
      status: 'SUCCEEDED',
      revision: final.revision,
      done: true,
    });
    expect((await stream.nextEvent()).event).toBe('complete');
    await stream.blocks.waitEnd();
  });
});

describe('SSE client going away (S45)', () => {
  it('unsubscribes when the client aborts mid-stream, and the handler keeps running to SUCCEEDED', async () => {
    const { server, alice, op, run } = await startControlled();
    const one = await alice.watchSse(op.id);
    const all = await sse(
      server.url,
      alice.token,
      'subscription { operationsUpdated { id revision status } }',
    );
    const allOps = mapOps(all.results, 'operationsUpdated');
    expect(await one.ops.next()).toMatchObject({ status: 'RUNNING', revision: 2 });
    await run.context.progress(0.25);
    expect(await one.ops.next()).toMatchObject({ revision: 3 });
    expect(await allOps.next()).toMatchObject({ revision: 3 });
    expect(server.app.gauges()).toEqual({ streams: 2, sockets: 0, runs: 1 });

    one.close();
    all.close();
    await waitFor(() => server.app.gauges().streams === 0, 'both streams to close');
    expect(run.context.signal.aborted).toBe(false);
    await run.context.progress(0.75, 'still going');
    run.finish({ finished: true });
    const final = await doneState(alice, op.id, 'the operation to end');
    expect(final).toMatchObject({
      status: 'SUCCEEDED',
      revision: 5,
      progress: 0.75,
      result: { finished: true },
      cancelRequestedAt: null,
    });
    await waitFor(() => server.app.gauges().runs === 0, 'the run to end');
  });

  it('unsubscribes when the connection is destroyed without a word', async () => {
    const { server, alice, op, run } = await startControlled();
    for (let i = 0; i < 20; i++) {
      const stream = await rawSse(server, alice.token, WATCH('revision'), { id: op.id });
      expect(opIn(await stream.nextEvent())).toEqual({ revision: 2 });
      stream.response.socket.destroy();
    }
    await waitFor(() => server.app.gauges().streams === 0, 'every stream to close');
    run.finish(null);
    await waitFor(async () => (await alice.get(op.id))?.status === 'SUCCEEDED', 'the run to end');
  });
});

describe('SSE backpressure', () => {
  it('adds no listener to the response per event that fills the socket buffer (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'MaxListenersExceededWarning') warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      // Each event (~60 KB) is larger than the response's buffer: every write waits for 'drain'.
      const { server, alice, op, run } = await startControlled('test.controlled', {
        input: { bulk: 'x'.repeat(60_000) },
      });
      const stream = await sse(server.url, alice.token, WATCH('revision input'), { id: op.id });
      const ops = mapOps(stream.results, 'operationUpdated');
      expect(await ops.next()).toMatchObject({ revision: 2 });
      for (let i = 1; i <= 30; i++) {
        await run.context.progress(i / 30);
        expect(await ops.next()).toMatchObject({ revision: 2 + i });
      }
      run.finish(null);
      expect((await ops.rest()).map((o) => o.revision)).toEqual([33]);
      // A warning is emitted on the next tick after the listener that crossed the limit.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.message)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a slow SSE reader (P72)', () => {
  // 1 500 changes, each waited for by the fast subscriber: allow for a slow machine.
  it('gets every status change and the terminal state, progress coalesced, while a normal subscriber sees every revision', {
    timeout: 180_000,
  }, async () => {
    // About 60 KB per event for the slow reader: far more than socket buffers hold.
    const bulk = 'x'.repeat(60_000);
    const { server, alice, op, run } = await startControlled('test.flood', {
      rejectOnAbort: false,
      input: { bulk },
      // The paused reader takes nothing while the flood lasts, which may be longer than the
      // default stall timeout on a busy machine: the server would rightly close its stream.
      env: { SSE_STALL_TIMEOUT_MS: '3600000' },
    });

    const slow = await rawSse(
      server,
      alice.token,
      WATCH('revision status progress message input'),
      {
        id: op.id,
      },
    );
    expect(opIn(await slow.nextEvent())).toMatchObject({ revision: 2, status: 'RUNNING' });
    slow.response.pause(); // reads nothing more: the server's writes back up

    const fastStream = await sse(
      server.url,
      alice.token,
      WATCH('revision status progress message'),
      {
        id: op.id,
      },
    );
    const fast = mapOps(fastStream.results, 'operationUpdated');
    expect(await fast.next()).toMatchObject({ revision: 2, status: 'RUNNING' });

    // Each change waits for the fast subscriber to see it, so it is never coalesced for it.
    const running = 1200;
    const stopping = 300;
    const finalRevision = await floodThroughCancel(run, () => alice.cancel(op.id, 'enough'), fast, {
      running,
      stopping,
    });
    expect(await fast.rest()).toEqual([]);

    slow.response.resume();
    const rest = (await slow.blocks.rest(120_000)).filter((b) => b.event !== null);
    expect(rest.at(-1)?.event).toBe('complete');
    const states = rest.slice(0, -1).map(opIn);
    states.unshift({ revision: 2, status: 'RUNNING' } as Op);
    expectCoalescedFlood(states, { finalRevision, running, stopping });
    expect(
      states.slice(1).every((s) => (s.input as { bulk: string }).bulk.length === bulk.length),
    ).toBe(true);
    await waitFor(() => server.app.gauges().streams === 0, 'both streams to close');
  });
});

describe('SSE event ids and resuming (Last-Event-ID)', () => {
  it("numbers each state with its revision as the event's id; complete carries none", async () => {
    const { server, alice, op, run } = await startControlled();
    const stream = await rawSse(server, alice.token, WATCH('revision status'), { id: op.id });
    const first = await stream.nextEvent();
    expect(first.id).toBe('2');
    expect(opIn(first)).toEqual({ revision: 2, status: 'RUNNING' });
    await run.context.progress(0.5);
    expect((await stream.nextEvent()).id).toBe('3');
    run.finish(null);
    expect((await stream.nextEvent()).id).toBe('4');
    const complete = await stream.nextEvent();
    expect(complete).toEqual({ comments: [], event: 'complete', data: '' });
  });

  it('numbers operationsUpdated events with the revision of the operation each one carries', async () => {
    const { server, alice, op, run } = await startControlled();
    const stream = await rawSse(
      server,
      alice.token,
      'subscription { operationsUpdated { id revision } }',
    );
    await run.context.progress(0.5);
    const block = await stream.nextEvent();
    expect(block.id).toBe('3');
    expect(JSON.parse(block.data ?? '{}')).toEqual({
      data: { operationsUpdated: { id: op.id, revision: 3 } },
    });
  });

  it('resumes after the Last-Event-ID a reconnecting client sends, as afterRevision would', async () => {
    // Every report logged, so the replay has each one to give.
    const env = { LOG_PROGRESS_INTERVAL_MS: '0' };
    const { server, alice, op, run } = await startControlled('test.controlled', { env });
    for (let i = 1; i <= 4; i++) await run.context.progress(i / 10, `step ${i}`);
    // Revisions 3..6 are the progress reports; a client that saw 4 gets 5 and 6, then live.
    const stream = await rawSse(
      server,
      alice.token,
      WATCH('revision message'),
      { id: op.id },
      { 'last-event-id': '4' },
    );
    const replayed = [await stream.nextEvent(), await stream.nextEvent()];
    expect(replayed.map((b) => [b.id, opIn(b)])).toEqual([
      ['5', { revision: 5, message: 'step 3' }],
      ['6', { revision: 6, message: 'step 4' }],
    ]);
    run.finish(null);
    const last = await stream.nextEvent();
    expect([last.id, opIn(last).revision]).toEqual(['7', 7]);
    expect((await stream.nextEvent()).event).toBe('complete');
  });

  it('takes the later of afterRevision and Last-Event-ID', async () => {
    const { server, alice, op, run } = await startControlled();
    for (let i = 1; i <= 4; i++) await run.context.progress(i / 10);
    const stream = await rawSse(
      server,
      alice.token,
      'subscription($id: ID!) { operationUpdated(id: $id, afterRevision: 2) { revision } }',
      { id: op.id },
      { 'last-event-id': '5' },
    );
    expect((await stream.nextEvent()).id).toBe('6');
  });

  it('refuses a Last-Event-ID that is not a revision with BAD_USER_INPUT, and starts nothing', async () => {
    const { server, alice, op } = await startControlled();
    const stream = await rawSse(
      server,
      alice.token,
      WATCH('revision'),
      { id: op.id },
      { 'last-event-id': 'yesterday' },
    );
    const block = await stream.nextEvent();
    expect(JSON.parse(block.data ?? '{}').errors).toEqual([
      expect.objectContaining({
        message: 'Last-Event-ID must be a revision (a whole number).',
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'Last-Event-ID' }),
      }),
    ]);
    expect((await stream.nextEvent()).event).toBe('complete');
    expect(server.app.gauges().streams).toBe(0);
  });
});

describe('SSE streams ended by the server (honest endings)', () => {
  it('ends with a SERVICE_UNAVAILABLE error and no complete when the server shuts down mid-stream', async () => {
    const { server, alice, op } = await startControlled();
    const stream = await rawSse(server, alice.token, WATCH('revision status'), { id: op.id });
    expect(opIn(await stream.nextEvent())).toEqual({ revision: 2, status: 'RUNNING' });
    const stopping = server.stop();
    const rest = (await stream.blocks.rest()).filter((b) => b.event !== null);
    await stopping;
    expect(rest).toEqual([
      {
        comments: [],
        event: 'next',
        data: JSON.stringify({
          errors: [
            {
              message: 'The server is shutting down; reconnect to resume.',
              extensions: { code: 'SERVICE_UNAVAILABLE' },
            },
          ],
        }),
      },
    ]);
  });

  it('still completes normally when the terminal state arrived before the shutdown', async () => {
    const { server, alice, op, run } = await startControlled();
    const stream = await rawSse(server, alice.token, WATCH('revision status'), { id: op.id });
    expect(opIn(await stream.nextEvent()).status).toBe('RUNNING');
    run.finish(null);
    expect(opIn(await stream.nextEvent()).status).toBe('SUCCEEDED');
    await server.stop();
    expect(
      (await stream.blocks.rest()).filter((b) => b.event !== null).map((b) => b.event),
    ).toEqual(['complete']);
  });
});
