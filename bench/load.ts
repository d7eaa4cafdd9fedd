/**
 * The load generator of `npm run bench`, run as a child process beside the server it loads so
 * that neither steals the other's event loop. Speaks graphql-transport-ws over raw `ws` sockets
 * and GraphQL over keep-alive HTTP; prints one JSON object (the scenario's figures) on stdout.
 *
 *   tsx bench/load.ts '<json LoadOptions>'
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { cpuSecondsOf, maximum, percentile, rssOf } from './lib/stats.js';

export interface LoadOptions {
  readonly scenario: 'fanout' | 'mutations' | 'idlemem' | 'dashboard' | 'listing';
  /** `http://host:port/graphql` */
  readonly url: string;
  /** Bearer tokens: a user's and an admin's. */
  readonly token: string;
  readonly adminToken: string;
  /** The bearer token of /metrics. */
  readonly metricsToken: string;
  /** The server's pid, for RSS and CPU readings. */
  readonly serverPid: number;
  /** Sockets (fanout, idlemem) or feed subscribers (dashboard). */
  readonly subs: number;
  /** Operations watched (fanout) or progressing (dashboard). */
  readonly ops: number;
  /** HTTP clients (mutations). */
  readonly conns: number;
  /** Seconds of load (mutations, dashboard). */
  readonly duration: number;
  /** Cursors into a seeded store (listing): half-way down the user's and everyone's operations. */
  readonly listing?: {
    readonly deepOwn: string;
    readonly deepAll: string;
    readonly rareKind: string;
  };
}

const START = `mutation Start($input: StartOperationInput!) { startOperation(input: $input) { __typename ... on StartOperationSuccess { operation { id status revision } } } }`;
const CANCEL = `mutation Cancel($input: CancelOperationInput!) { cancelOperation(input: $input) { __typename ... on CancelOperationSuccess { operation { id status revision } } } }`;
const STATUS = `query Status($id: ID!) { operation(id: $id) { id status } }`;
const WATCH = `subscription Watch($id: ID!) { operationUpdated(id: $id) { id status revision } }`;
const LIST = `query List($first: Int, $after: String, $status: [OperationStatus!], $kind: String) { operations(first: $first, after: $after, status: $status, kind: $kind) { pageInfo { hasNextPage endCursor } edges { node { id kind status progress message createdAt updatedAt } } } }`;
const LIST_COUNTED = LIST.replace('pageInfo {', 'totalCount pageInfo {');
const FEED = `subscription Feed { operationsUpdated { id status revision progress updatedAt } }`;
/** Runs for an hour without a progress event: a quiet RUNNING operation. */
const QUIET = { kind: 'demo.sleep', input: { ms: 3_600_000, steps: 1 } };
/** Reports progress ten times a second for 1,000 s. */
const BUSY = { kind: 'demo.sleep', input: { ms: 1_000_000, steps: 10_000 } };

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
const target = new URL(options.url);
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(options.conns, 256) });

interface GraphQLResponse {
  readonly data?: Record<string, { __typename?: string; operation?: { id: string } } | null>;
  readonly errors?: readonly { message: string }[];
}

/**
 * One GraphQL request over the keep-alive agent, sent again once when the connection was reset: a
 * server may close an idle keep-alive connection just as the next request leaves on it.
 */
async function post(
  query: string,
  variables: Record<string, unknown>,
  token = options.token,
): Promise<GraphQLResponse> {
  try {
    return await postOnce(query, variables, token);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw error;
    return postOnce(query, variables, token);
  }
}

function postOnce(
  query: string,
  variables: Record<string, unknown>,
  token = options.token,
): Promise<GraphQLResponse> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve(JSON.parse(text) as GraphQLResponse);
          } catch {
            reject(new Error(`HTTP ${res.statusCode} ${JSON.stringify(text.slice(0, 300))}`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function startOperation(input: typeof QUIET & { idempotencyKey?: string }): Promise<string> {
  const answer = await post(START, { input });
  const id = answer.data?.startOperation?.operation?.id;
  if (id === undefined) throw new Error(`startOperation failed: ${JSON.stringify(answer)}`);
  return id;
}

async function cancelOperation(id: string): Promise<void> {
  const answer = await post(CANCEL, { input: { id } });
  if (answer.data?.cancelOperation?.__typename !== 'CancelOperationSuccess') {
    throw new Error(`cancelOperation failed: ${JSON.stringify(answer)}`);
  }
}

/** Waits until every operation is RUNNING (the runner claims them a moment after the start). */
async function untilRunning(ids: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const id of ids) {
    for (;;) {
      const answer = await post(STATUS, { id });
      const op = answer.data?.operation as { status?: string } | null | undefined;
      if (op?.status === 'RUNNING') break;
      if (Date.now() > deadline) throw new Error(`operation ${id} not RUNNING: ${op?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** What a socket hears: `next` payloads by subscription id. */
type OnNext = (subscriptionId: string, data: Record<string, Record<string, unknown>>) => void;

/** Opens one authenticated graphql-transport-ws socket; resolves on `connection_ack`. */
function openSocket(
  token: string,
  onNext: OnNext,
  /** A cheap look at each frame after the ack, before it is parsed; false: skip it. */
  look?: (frame: Buffer) => boolean,
): Promise<WebSocket> {
  const wsUrl = options.url.replace(/^http/, 'ws');
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error('connection_ack timed out')), 60_000);
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
      ),
    );
    let acked = false;
    socket.on('message', (raw) => {
      if (acked && look !== undefined && !look(raw as Buffer)) return;
      const message = JSON.parse(String(raw)) as {
        type: string;
        id?: string;
        payload?: { data?: Record<string, Record<string, unknown>> };
      };
      if (message.type === 'connection_ack') {
        acked = true;
        clearTimeout(timer);
        resolve(socket);
      } else if (message.type === 'next' && message.id && message.payload?.data) {
        onNext(message.id, message.payload.data);
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (message.type === 'error') {
        process.stderr.write(`subscription error: ${JSON.stringify(message.payload)}\n`);
      }
    });
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`socket closed ${code} ${reason}`));
    });
    socket.on('error', reject);
  });
}

/** Opens `count` sockets, `concurrency` at a time, each made by `open(index)`. */
async function openMany(count: number, open: (index: number) => Promise<WebSocket>) {
  const sockets: WebSocket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      sockets.push(await open(index));
    }
  };
  await Promise.all(Array.from({ length: Math.min(50, count) }, worker));
  return sockets;
}

function subscribe(socket: WebSocket, id: string, query: string, variables = {}): void {
  socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
}

/** Resolves once `check()` holds (polled every 5 ms) or after `ms`; says which. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

let phaseStart = performance.now();
/** Says on stderr how long the phase that just ended took (the bench shows it as it runs). */
function phase(what: string): void {
  const now = performance.now();
  process.stderr.write(
    `  ${options.scenario}: ${what} in ${((now - phaseStart) / 1000).toFixed(1)} s\n`,
  );
  phaseStart = now;
}

/**
 * fanout: `subs` sockets each subscribed to the same `ops` RUNNING operations; each operation is
 * cancelled in turn. Latency from the cancel sent to CANCELLING and to CANCELLED received.
 */
async function fanout() {
  const ids: string[] = [];
  for (let i = 0; i < options.ops; i++) ids.push(await startOperation(QUIET));
  await untilRunning(ids);
  const slot = new Map(ids.map((id, index) => [id, index]));
  // When each socket saw each operation's status change (ms, at op * subs + socket); 0: not yet.
  const cancelling = new Float64Array(options.subs * ids.length);
  const cancelled = new Float64Array(options.subs * ids.length);
  let initial = 0;
  const sockets = await openMany(options.subs, async (index) => {
    const socket = await openSocket(options.token, (_sid, data) => {
      const op = data.operationUpdated;
      const at = performance.now();
      const i = slot.get(String(op?.id));
      if (op === undefined || i === undefined) return;
      if (op.status === 'RUNNING') initial++;
      else if (op.status === 'CANCELLING') cancelling[i * options.subs + index] = at;
      else if (op.status === 'CANCELLED') cancelled[i * options.subs + index] = at;
    });
    for (const [i, id] of ids.entries()) subscribe(socket, String(i + 1), WATCH, { id });
    return socket;
  });
  const expected = options.subs * ids.length;
  if (!(await until(() => initial >= expected, 60_000))) {
    throw new Error(`only ${initial} of ${expected} subscriptions started`);
  }
  const cpuBefore = cpuSecondsOf(options.serverPid);
  const firstLatency: number[] = [];
  const doneLatency: number[] = [];
  let events = 0;
  let busyMs = 0;
  for (const [i, id] of ids.entries()) {
    const sentAt = performance.now();
    await cancelOperation(id);
    const from = i * options.subs;
    const to = from + options.subs;
    const all = await until(() => cancelled.subarray(from, to).every((at) => at > 0), 30_000);
    let last = sentAt;
    for (let s = from; s < to; s++) {
      const first = cancelling[s] ?? 0;
      const done = cancelled[s] ?? 0;
      if (first > 0) firstLatency.push(first - sentAt);
      if (done > 0) doneLatency.push(done - sentAt);
      events += (first > 0 ? 1 : 0) + (done > 0 ? 1 : 0);
      last = Math.max(last, first, done);
    }
    busyMs += last - sentAt;
    if (!all) process.stderr.write(`operation ${i + 1}: not every subscriber saw CANCELLED\n`);
  }
  const cpu = cpuSecondsOf(options.serverPid) - cpuBefore;
  for (const socket of sockets) socket.terminate();
  return {
    firstP50: round(percentile(firstLatency, 50)),
    firstP99: round(percentile(firstLatency, 99)),
    firstMax: round(maximum(firstLatency)),
    doneP50: round(percentile(doneLatency, 50)),
    doneP99: round(percentile(doneLatency, 99)),
    doneMax: round(maximum(doneLatency)),
    eventsPerSec: Math.round(events / (busyMs / 1000)),
    lost: 2 * expected - events,
    cpuUsPerEvent: round((cpu * 1e6) / Math.max(1, events), 1),
    serverCpuSec: round(cpu),
    rssMiB: round(rssOf(options.serverPid) / 2 ** 20, 1),
  };
}

/** mutations: `conns` clients loop start then cancel for `duration` seconds. */
async function mutations() {
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = cpuSecondsOf(options.serverPid);
  const startedAt = performance.now();
  const deadline = startedAt + options.duration * 1000;
  const timed = async (work: () => Promise<void>) => {
    const t0 = performance.now();
    try {
      await work();
      latencies.push(performance.now() - t0);
    } catch (error) {
      errors++;
      if (errors <= 3) process.stderr.write(`mutation failed: ${error}\n`);
    }
  };
  const client = async () => {
    while (performance.now() < deadline) {
      let id: string | null = null;
      await timed(async () => {
        id = await startOperation(QUIET);
      });
      if (id !== null) await timed(() => cancelOperation(id as unknown as string));
    }
  };
  await Promise.all(Array.from({ length: options.conns }, client));
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = cpuSecondsOf(options.serverPid) - cpuBefore;
  return {
    reqPerSec: Math.round(latencies.length / seconds),
    // CPU per request: steadier than req/s on a machine shared with other work.
    cpuMsPerReq: round((cpu * 1000) / Math.max(1, latencies.length), 3),
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    max: round(maximum(latencies)),
    errors,
    serverCpuSec: round(cpu),
    rssMiB: round(rssOf(options.serverPid) / 2 ** 20, 1),
  };
}

/** idlemem: server RSS growth per idle socket holding one subscription. */
async function idlemem() {
  const id = await startOperation(QUIET);
  await untilRunning([id]);
  // A few sockets first so that lazily built parts (schema caches, pools) are not counted.
  let started = 0;
  const onNext: OnNext = () => {
    started++;
  };
  const warm = await openMany(10, async () => {
    const socket = await openSocket(options.token, onNext);
    subscribe(socket, '1', WATCH, { id });
    return socket;
  });
  await until(() => started >= 10, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = rssOf(options.serverPid);
  const sockets = await openMany(options.subs, async () => {
    const socket = await openSocket(options.token, onNext);
    subscribe(socket, '1', WATCH, { id });
    return socket;
  });
  await until(() => started >= options.subs + 10, 60_000);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = rssOf(options.serverPid);
  for (const socket of [...warm, ...sockets]) socket.terminate();
  return {
    kibPerSub: round((after - before) / options.subs / 1024, 1),
    rssBeforeMiB: round(before / 2 ** 20, 1),
    rssAfterMiB: round(after / 2 ** 20, 1),
    subscribed: started - 10,
  };
}

/**
 * Feeds whose every frame the dashboard parses, for latency and revisions; the others are only
 * counted and searched for CANCELLED, or the load process, parsing some 30,000 frames a second,
 * would be the bottleneck instead of the server.
 */
const SAMPLED_FEEDS = 5;
const NEXT = Buffer.from('"next"');
const CANCELLED = Buffer.from('"CANCELLED"');

/** Requests the dashboard sends at once while it starts and cancels its operations. */
const DASHBOARD_CONCURRENCY = 200;

/** Least-squares slope of `values` sampled every `stepSec` seconds, per minute. */
function slopePerMinute(values: readonly number[], stepSec: number): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const meanX = ((n - 1) * stepSec) / 2;
  const meanY = values.reduce((sum, value) => sum + value, 0) / n;
  let num = 0;
  let den = 0;
  for (const [i, value] of values.entries()) {
    num += (i * stepSec - meanX) * (value - meanY);
    den += (i * stepSec - meanX) ** 2;
  }
  return (num / den) * 60;
}

/** Smallest value, NaN when empty. */
const minimum = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : Math.min(...values);

/** Runs `work` on every item, `concurrency` at a time. */
async function eachOf<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/**
 * dashboard: `ops` operations report progress ten times a second; `subs` admin sockets follow
 * `operationsUpdated`. Delivered events/s, latency from `updatedAt` to arrival, the changes the
 * server committed (against the 10 per operation and second offered), RSS each second and its
 * trend; then every operation is cancelled and each subscriber must see every CANCELLED.
 */
async function dashboard() {
  let events = 0;
  let measuring = false;
  const latencies: number[] = [];
  // The operations each feed saw CANCELLED, and the newest revision of each operation seen.
  const cancelledSeen = Array.from({ length: options.subs }, () => new Set<string>());
  const revisions = new Map<string, number>();
  const sockets = await openMany(options.subs, (index) =>
    openSocket(
      options.adminToken,
      (_sid, data) => {
        const op = data.operationsUpdated;
        if (op === undefined) return;
        const id = String(op.id);
        if (op.status === 'CANCELLED') cancelledSeen[index]?.add(id);
        if (index === 0) revisions.set(id, Math.max(revisions.get(id) ?? 0, Number(op.revision)));
        if (measuring && index < SAMPLED_FEEDS) {
          latencies.push(Date.now() - Date.parse(String(op.updatedAt)));
        }
      },
      (frame) => {
        if (measuring && frame.includes(NEXT)) events++;
        return index < SAMPLED_FEEDS || frame.includes(CANCELLED);
      },
    ).then((socket) => {
      subscribe(socket, '1', FEED);
      return socket;
    }),
  );
  phase(`${sockets.length} feeds open`);
  // Started many at once: each request waits its turn behind the progress of those already
  // running, so a few at a time would take minutes. The key makes a start sent again after a
  // reset connection the same start.
  const run = Date.now().toString(36);
  const ids: string[] = [];
  await eachOf(
    Array.from({ length: options.ops }, (_, i) => i),
    DASHBOARD_CONCURRENCY,
    async (i) => {
      ids.push(await startOperation({ ...BUSY, idempotencyKey: `dashboard-${run}-${i}` }));
    },
  );
  phase(`${ids.length} operations started`);
  // Let the runner claim them all and the progress settle into its stride.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const committed = () => [...revisions.values()].reduce((sum, revision) => sum + revision, 0);
  const memory: number[] = [rssOf(options.serverPid) / 2 ** 20];
  const cpuBefore = cpuSecondsOf(options.serverPid);
  const revisionsBefore = committed();
  measuring = true;
  const startedAt = performance.now();
  for (let s = 0; s < options.duration; s++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    memory.push(rssOf(options.serverPid) / 2 ** 20);
  }
  measuring = false;
  const seconds = (performance.now() - startedAt) / 1000;
  const changes = committed() - revisionsBefore;
  const cpu = cpuSecondsOf(options.serverPid) - cpuBefore;
  phase(`${options.duration} s measured`);
  const cancelStart = performance.now();
  await eachOf(ids, DASHBOARD_CONCURRENCY, cancelOperation);
  phase(`${ids.length} operations cancelled`);
  const missing = () => cancelledSeen.reduce((sum, seen) => sum + (ids.length - seen.size), 0);
  await until(() => missing() === 0, 60_000);
  const cancelAllSec = (performance.now() - cancelStart) / 1000;
  phase('every CANCELLED delivered');
  const missed = missing();
  for (const socket of sockets) socket.terminate();
  return {
    eventsPerSec: Math.round(events / seconds),
    eventsPerFeedPerSec: Math.round(events / seconds / options.subs),
    changesPerSec: Math.round(changes / seconds),
    offeredChangesPerSec: options.ops * 10,
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    max: round(maximum(latencies)),
    cancelledMissed: missed,
    cancelAllSec: round(cancelAllSec, 1),
    serverCpuSec: round(cpu),
    rssStartMiB: round(memory[0] ?? Number.NaN, 1),
    rssEndMiB: round(memory.at(-1) ?? Number.NaN, 1),
    rssPeakMiB: round(maximum(memory), 1),
    rssSlopeMiBPerMin: round(slopePerMinute(memory, 1), 1),
    // The lowest reading of each half: garbage collection makes RSS a sawtooth, whose floor
    // rising from one half to the next is what growth looks like.
    rssFloorFirstMiB: round(minimum(memory.slice(0, Math.ceil(memory.length / 2))), 1),
    rssFloorLastMiB: round(minimum(memory.slice(Math.floor(memory.length / 2))), 1),
    rssMiB: memory.map((value) => round(value, 1)),
  };
}

/**
 * listing: one page of 50 `operations` read again and again, at the top and half-way down by
 * cursor, for the user (their own operations) and an admin (everyone's), with filters; the
 * server's CPU while idle and how long a /metrics scrape takes, on whatever store it was given.
 */
async function listing() {
  const { deepOwn, deepAll, rareKind } = options.listing ?? {
    deepOwn: '',
    deepAll: '',
    rareKind: '',
  };
  // A few of the user's own operations running, for the filter on active statuses to find.
  const running: string[] = [];
  for (let i = 0; i < 5; i++) running.push(await startOperation(QUIET));
  await untilRunning(running);
  phase('5 operations running');
  const cases: [name: string, query: string, variables: Record<string, unknown>, admin: boolean][] =
    [
      ['ownFirst', LIST, { first: 50 }, false],
      ['ownDeep', LIST, { first: 50, after: deepOwn }, false],
      ['allFirst', LIST, { first: 50 }, true],
      ['allDeep', LIST, { first: 50, after: deepAll }, true],
      ['ownSucceeded', LIST, { first: 50, status: ['SUCCEEDED'] }, false],
      ['ownActive', LIST, { first: 50, status: ['PENDING', 'RUNNING', 'CANCELLING'] }, false],
      ['allRareKind', LIST, { first: 50, kind: rareKind }, true],
      ['ownRareKind', LIST, { first: 50, kind: rareKind }, false],
      ['ownCounted', LIST_COUNTED, { first: 50 }, false],
    ];
  const figures: Record<string, number> = {};
  for (const [name, query, variables, admin] of cases) {
    const times: number[] = [];
    // Stops early once a case has taken its share of time: a slow one still shows its figure.
    const deadline = performance.now() + 15_000;
    for (let i = 0; i < 23 && (i < 5 || performance.now() < deadline); i++) {
      const t0 = performance.now();
      const answer = await post(query, variables, admin ? options.adminToken : options.token);
      const ms = performance.now() - t0;
      const page = answer.data?.operations as unknown as { edges?: unknown[] } | undefined;
      if (answer.errors || !Array.isArray(page?.edges)) {
        throw new Error(`${name}: ${JSON.stringify(answer).slice(0, 300)}`);
      }
      // The first three warm the caches.
      if (i >= 3) times.push(ms);
    }
    figures[`${name}Ms`] = round(percentile(times, 50));
    phase(`${name} (${times.length} reads)`);
  }
  const metricsUrl = new URL('/metrics', options.url);
  const scrapes: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    const response = await fetch(metricsUrl, {
      headers: { authorization: `Bearer ${options.metricsToken}` },
    });
    await response.text();
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    if (i >= 3) scrapes.push(performance.now() - t0);
  }
  const cpuBefore = cpuSecondsOf(options.serverPid);
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const idleCpuPct = ((cpuSecondsOf(options.serverPid) - cpuBefore) / 5) * 100;
  phase('metrics and idle');
  for (const id of running) await cancelOperation(id);
  return {
    ...figures,
    metricsMs: round(percentile(scrapes, 50)),
    idleCpuPct: round(idleCpuPct, 1),
    rssMiB: round(rssOf(options.serverPid) / 2 ** 20, 1),
  };
}

const scenarios = { fanout, mutations, idlemem, dashboard, listing };
const result = await scenarios[options.scenario]();
agent.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
