/**
 * `npm run bench:loop`: the longest stretch one request holds the server's event loop, measured
 * with perf_hooks.monitorEventLoopDelay in the server's own process, for the requests that read
 * the most: a page of 100 operations with 64 KB inputs and results, totalCount over many
 * operations, pages of the transition log, and the 150,000-entry query of 100 operations x 15
 * aliased events(first: 100) (refused by the default cost limit; also run with the limit lifted),
 * waitOperation and startOperation with big inputs, and 200 subscriptions replaying a
 * 10,000-revision log at once while another user queries. A trivial query and one idle second give
 * the machine's own noise: on a busy machine any stretch may be stretched by other processes, so
 * each request is measured several times and the minimum and median are the figures to read.
 *
 * `npx tsx bench/event-loop.ts [operations] [--runs N] [--only text]` (default 200,000 seeded
 * operations, 5 runs, every scenario). With BENCH_CPU_PROF=<dir> the server writes a CPU profile
 * there (read it with `tsx bench/profile-summary.ts`).
 */
import { fork } from 'node:child_process';
import { createSecretKey, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import type { Insertable } from 'kysely';
import WebSocket from 'ws';
import { mintToken } from '../src/auth/jwt.js';
import { createLogger } from '../src/logger.js';
import type { OperationRecord } from '../src/operations/model.js';
import { OperationStatus } from '../src/operations/status.js';
import { create } from '../src/operations/transitions.js';
import { toGlobalId } from '../src/schema/ids.js';
import { openSqlite } from '../src/store/connect.js';
import type { OperationEventsTable, OperationsTable } from '../src/store/database.js';
import { toEventRow, toRow } from '../src/store/store-rows.js';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, only: { type: 'string' } },
});
const MANY = Number(positionals[0] ?? 200_000);
const RUNS = Number(flags.runs);
const SECRET = 'event-loop-bench-secret-0123456789abcdef';
const key = createSecretKey(Buffer.from(SECRET));
const token = (sub: string, admin = false) => mintToken({ sub, admin, ttlSec: 3600 }, key, 'HS256');

/** A done operation of `owner`, created at `ms`, at `revision`. */
function done(owner: string, ms: number, revision: number, input: unknown, result: unknown) {
  const at = new Date(ms);
  const base = create(
    {
      id: randomUUID(),
      kind: 'demo.sleep',
      ownerId: owner,
      input: input as never,
      idempotencyKey: null,
      timeoutMs: null,
      retryOf: null,
    },
    at,
  );
  return {
    ...base,
    status: OperationStatus.Succeeded,
    progress: 1,
    message: 'done',
    result: result as never,
    startedAt: at,
    finishedAt: at,
    revision,
  } satisfies OperationRecord;
}

/** The log of `op`: PENDING, RUNNING, progress reports, SUCCEEDED. */
function logOf(op: OperationRecord): Insertable<OperationEventsTable>[] {
  const rows: Insertable<OperationEventsTable>[] = [];
  for (let revision = 1; revision <= op.revision; revision++) {
    const status =
      revision === 1
        ? OperationStatus.Pending
        : revision === op.revision
          ? OperationStatus.Succeeded
          : OperationStatus.Running;
    const state = { ...op, revision, status, progress: revision / op.revision };
    rows.push(toEventRow(state, { actor: 'worker:bench', reason: null }));
  }
  return rows;
}

async function seed(dataDir: string) {
  const { db, store } = await openSqlite(join(dataDir, 'longrun.sqlite'), createLogger('error'));
  const insert = async (
    operations: Insertable<OperationsTable>[],
    events: Insertable<OperationEventsTable>[],
  ) => {
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < operations.length; i += 500) {
        await tx
          .insertInto('operations')
          .values(operations.slice(i, i + 500))
          .execute();
      }
      for (let i = 0; i < events.length; i += 1000) {
        await tx
          .insertInto('operation_events')
          .values(events.slice(i, i + 1000))
          .execute();
      }
    });
  };
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  // carol: many small operations, oldest.
  for (let start = 0; start < MANY; start += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, MANY - start) }, (_, i) =>
      toRow(done('carol', t0 + start + i, 3, { ms: 1 }, { slept: 1 })),
    );
    await insert(batch, []);
  }
  // dave: 100 operations with 120 log entries each.
  const logged = Array.from({ length: 100 }, (_, i) =>
    done('dave', t0 + MANY + i, 120, { ms: 1 }, { slept: 1 }),
  );
  await insert(logged.map(toRow), logged.flatMap(logOf));
  // alice: 100 operations with 64 KB of input and of result, many small members each (costlier
  // to parse and serialize than one long string); frank: 10 with 1 MB results.
  const [input, result] = [wideInput(64 * 1024), rows(64 * 1024)];
  const large = Array.from({ length: 100 }, (_, i) =>
    done('alice', t0 + MANY + 1000 + i, 2, input, result),
  );
  await insert(large.map(toRow), large.flatMap(logOf));
  const hugeResult = rows(1024 * 1024 - 64);
  const huge = Array.from({ length: 10 }, (_, i) =>
    done('frank', t0 + MANY + 3000 + i, 2, { ms: 1 }, hugeResult),
  );
  await insert(huge.map(toRow), huge.flatMap(logOf));
  // erin: one operation whose log holds every one of its 10,000 revisions, for the replays.
  const long = done('erin', t0 + MANY + 2000, REPLAY_REVISIONS, { ms: 1 }, { slept: 1 });
  await insert([toRow(long)], logOf(long));

  await store.close();
  return {
    big: large[0]?.id ?? '',
    huge: huge[0]?.id ?? '',
    logged: logged[0]?.id ?? '',
    long: long.id,
  };
}

/** An object of short string members, about `bytes` long as JSON. */
function wideInput(bytes: number): Record<string, string> {
  const input: Record<string, string> = {};
  let length = 2;
  for (let i = 0; length < bytes - 40; i++) {
    input[`k${i}`] = `value ${i}`;
    length += JSON.stringify([`k${i}`, `value ${i}`]).length; // "k": "v", as long as ["k","v"]
  }
  return input;
}

/** A result of many small rows, about `bytes` long as JSON. */
function rows(bytes: number): { rows: unknown[] } {
  const row = (i: number) => ({ i, name: `row ${i}`, ok: i % 2 === 0, score: i / 7 });
  const each = JSON.stringify(row(100_000)).length + 1;
  return { rows: Array.from({ length: Math.floor((bytes - 20) / each) }, (_, i) => row(i)) };
}

const REPLAY_REVISIONS = 10_000;
const REPLAYS = 200;

/**
 * 200 subscriptions of erin replay her 10,000 revisions (`afterRevision: 0`) at once, while bob
 * asks a small query again and again until they are done: how long each of his queries took.
 */
async function replayStorm(url: string, id: string) {
  const sockets = Array.from({ length: REPLAYS / 50 }, () =>
    createClient({
      url: url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token('erin')}` },
    }),
  );
  const query = `subscription($id: ID!) { operationUpdated(id: $id, afterRevision: 0) { revision status } }`;
  let states = 0;
  const startedAt = performance.now();
  const replays = Array.from(
    { length: REPLAYS },
    (_, i) =>
      new Promise<void>((resolve, reject) => {
        sockets[i % sockets.length]?.subscribe(
          { query, variables: { id: toGlobalId(id) } },
          { next: () => states++, error: reject, complete: resolve },
        );
      }),
  );
  let running = true;
  const all = Promise.all(replays).finally(() => {
    running = false;
  });
  const latencies: number[] = [];
  const bob = token('bob');
  while (running) {
    const sent = performance.now();
    await post(url, bob, '{ operations(first: 5) { totalCount } }');
    latencies.push(performance.now() - sent);
  }
  await all;
  const replayMs = performance.now() - startedAt;
  await Promise.all(sockets.map((socket) => socket.dispose()));
  return { latencies, states, replayMs };
}

interface Delay {
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

async function serve(dataDir: string, env: Record<string, string>) {
  const child = fork(join(import.meta.dirname, 'event-loop-server.ts'), {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : []),
    ],
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      JWT_SECRET: SECRET,
      PORT: '0',
      LOG_LEVEL: 'error',
      ...env,
    },
  });
  const replies: Array<(message: Record<string, unknown>) => void> = [];
  child.on('message', (message) => replies.shift()?.(message as Record<string, unknown>));
  const reply = () =>
    new Promise<Record<string, unknown>>((resolve) => {
      replies.push(resolve);
    });
  const { url } = (await reply()) as { url: string };
  return {
    url,
    async measure(what: () => Promise<unknown>): Promise<Delay & { result: unknown }> {
      const reset = reply();
      child.send('reset');
      await reset;
      const result = await what();
      // One more turn of the server's loop, so a stretch that just ended is in the histogram.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const report = reply();
      child.send('report');
      return { ...((await report) as unknown as Delay), result };
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    },
  };
}

/** What an answer was: its size, its first error's code, or a mutation result's type. */
interface Answer {
  readonly bytes: number;
  readonly error: string | null;
  readonly type: string | null;
}

async function post(url: string, bearer: string, query: string, variables = {}): Promise<Answer> {
  if (query === '') {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { bytes: 0, error: null, type: null };
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as {
    data?: { startOperation?: { __typename?: string } };
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  return {
    bytes: text.length,
    error: body.errors?.[0]?.extensions?.code ?? null,
    type: body.data?.startOperation?.__typename ?? null,
  };
}

const EVERY_FIELD = `id kind status progress message ownerId revision done input result
  error { code message } timeoutMs createdAt updatedAt startedAt finishedAt cancelRequestedAt
  cancelledBy cancelReason`;
const EVENT = 'revision status progress actor reason time';
const aliased = Array.from(
  { length: 15 },
  (_, i) => `e${i}: events(first: 100) { edges { node { ${EVENT} } } }`,
).join(' ');
const START = `mutation($input: JSON) {
  startOperation(input: { kind: "demo.sleep", input: $input }) { __typename } }`;

/** [what, who asks, query, variables]; an empty query is one idle second. */
type Scenario = readonly [string, string, string, Record<string, unknown>?];

function scenarios(ids: { big: string; huge: string; logged: string }): Scenario[] {
  // Inputs at the 64 KB limit: wide (many small members) and one long string.
  const wide = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, `value ${i}`]));
  const long = { text: 'y'.repeat(64 * 1024 - 20) };
  return [
    ["nothing: the machine's own noise over one idle second", 'idle', ''],
    ['a trivial query: { viewer { id } }', 'alice', '{ viewer { id } }'],
    [
      '100 operations, every field, 64 KB input and result each',
      'alice',
      `{ operations(first: 100) { totalCount edges { node { ${EVERY_FIELD} } } } }`,
    ],
    [
      '25 operations, every field, 64 KB input and result each',
      'alice',
      `{ operations(first: 25) { edges { node { ${EVERY_FIELD} } } } }`,
    ],
    [
      '10 operations, every field, 1 MB result each',
      'frank',
      `{ operations(first: 10) { edges { node { ${EVERY_FIELD} } } } }`,
    ],
    [
      '100 small operations, every field (admin, carol)',
      'admin',
      `{ operations(first: 100, ownerId: "carol") { edges { node { ${EVERY_FIELD} } } } }`,
    ],
    [
      `totalCount of all ${MANY + 200} operations (admin)`,
      'admin',
      '{ operations(first: 1) { totalCount } }',
    ],
    [
      `totalCount of one owner's ${MANY} operations (admin)`,
      'admin',
      '{ operations(first: 1, ownerId: "carol") { totalCount } }',
    ],
    [
      'waitOperation of a done operation, every field, 64 KB input and result',
      'alice',
      `query($id: ID!) { waitOperation(id: $id) { ${EVERY_FIELD} } }`,
      { id: toGlobalId(ids.big) },
    ],
    [
      'waitOperation of a done operation, every field, 1 MB result',
      'frank',
      `query($id: ID!) { waitOperation(id: $id) { ${EVERY_FIELD} } }`,
      { id: toGlobalId(ids.huge) },
    ],
    [
      'one operation, events(first: 100)',
      'dave',
      `query($id: ID!) { operation(id: $id) { events(first: 100) { edges { node { ${EVENT} } } } } }`,
      { id: toGlobalId(ids.logged) },
    ],
    [
      'startOperation, 64 KB input of 3,000 members (refused by demo.sleep)',
      'bob',
      START,
      { input: wide },
    ],
    [
      'startOperation, 64 KB input of one string (refused by demo.sleep)',
      'bob',
      START,
      { input: long },
    ],
    [
      'startOperation, 900 KB input of 40,000 members (over the input limit)',
      'bob',
      START,
      {
        input: Object.fromEntries(
          Array.from({ length: 40_000 }, (_, i) => [`k${i}`, `value ${i}`]),
        ),
      },
    ],
    [
      '20 operations x events(first: 30), within the default cost',
      'dave',
      `{ operations(first: 20, after: null) { edges { node { events(first: 30) { edges { node { ${EVENT} } } } } } } }`,
    ],
    [
      '19 operations x events(first: 100), revision only: one statement of 1,919 log entries',
      'dave',
      '{ operations(first: 19) { edges { node { events(first: 100) { edges { node { revision } } } } } } }',
    ],
    [
      '100 operations x 15 aliased events(first: 100)',
      'dave',
      `{ operations(first: 100, ownerId: null) { edges { node { ${aliased} } } } }`,
    ],
  ];
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

const dataDir = mkdtempSync(join(tmpdir(), 'longrun-loop-bench-'));
try {
  const seeding = performance.now();
  const ids = await seed(dataDir);
  console.log(
    `seeded ${MANY + 200} operations in ${((performance.now() - seeding) / 1000).toFixed(1)} s; ` +
      `longest loop stretch per request, min / median / max of ${RUNS} runs`,
  );
  const chosen = scenarios(ids).filter(
    ([name]) => flags.only === undefined || name.includes(flags.only) || name.startsWith('nothing'),
  );
  for (const [label, env] of [
    ['default MAX_QUERY_COST', {}],
    ['MAX_QUERY_COST=10000000 (no cost limit in effect)', { MAX_QUERY_COST: '10000000' }],
  ] as const) {
    const server = await serve(dataDir, env);
    console.log(`\n${label}`);
    for (const [name, who, query, variables] of chosen) {
      const bearer = token(who, who === 'admin');
      await post(server.url, bearer, query, variables); // warm up caches and the JIT
      const stretches: number[] = [];
      let answer: Answer = { bytes: 0, error: null, type: null };
      for (let i = 0; i < RUNS; i++) {
        const run = await server.measure(() => post(server.url, bearer, query, variables));
        stretches.push(run.maxMs);
        answer = run.result as Answer;
      }
      const { bytes, error, type } = answer;
      console.log(
        `  ${name}: ${Math.min(...stretches).toFixed(1)} / ${median(stretches).toFixed(1)} / ` +
          `${Math.max(...stretches).toFixed(1)} ms, ` +
          `${error ?? type ?? `${(bytes / 1e6).toFixed(2)} MB answered`}`,
      );
    }
    const storming =
      flags.only === undefined || `${REPLAYS} subscriptions replaying`.includes(flags.only);
    if (label !== 'default MAX_QUERY_COST' || !storming) {
      await server.stop();
      continue;
    }
    const storm = await server.measure(() => replayStorm(server.url, ids.long));
    const { latencies, states, replayMs } = storm.result as Awaited<ReturnType<typeof replayStorm>>;
    console.log(
      `  ${REPLAYS} subscriptions replaying ${REPLAY_REVISIONS} revisions each: longest loop ` +
        `stretch ${storm.maxMs.toFixed(1)} ms; another user's query answered in at most ` +
        `${Math.max(...latencies).toFixed(0)} ms (${latencies.length} queries meanwhile); ` +
        `replays done in ${(replayMs / 1000).toFixed(1)} s with ${states} states sent`,
    );
    await server.stop();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
