import { Redis } from 'ioredis';
import { afterEach, expect } from 'vitest';
import {
  type GqlResponse,
  mapOps,
  OPERATION_SELECTION,
  type Op,
  sse,
  userClient,
  wsClient,
} from '../helpers/clients.js';
import { TEST_REDIS_URL } from '../helpers/cluster.js';
import { type ServerProcess, spawnServer } from '../helpers/process.js';
import type { EventQueue } from '../helpers/queue.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor, within } from '../helpers/wait.js';

/** One server process of a test cluster, with a user and an admin client bound to it. */
export interface Node extends ServerProcess {
  readonly url: string;
  readonly wsUrl: string;
  /** `http://127.0.0.1:PORT`, for /healthz and /readyz. */
  readonly origin: string;
  readonly pid: number;
  readonly alice: ReturnType<typeof userClient>;
  readonly admin: ReturnType<typeof userClient>;
}

/** Starts one instance with `env` and waits until it listens. */
export async function startNode(env: Record<string, string | undefined>): Promise<Node> {
  const server = spawnServer(env);
  const url = await server.listening;
  const endpoint = { url, wsUrl: url.replace(/^http/, 'ws') };
  return {
    ...server,
    ...endpoint,
    origin: new URL(url).origin,
    pid: server.child.pid ?? -1,
    alice: userClient(endpoint, 'alice'),
    admin: userClient(endpoint, 'root', { admin: true }),
  };
}

/** The transition-log actor of `node`'s runner: `worker:<id>`, with the id it logged at start. */
export function workerOf(node: Node): RegExp {
  const line = node.lines.find((text) => text.includes('"message":"longrun is listening"'));
  const worker = line === undefined ? undefined : (JSON.parse(line) as { worker?: string }).worker;
  if (worker === undefined) throw new Error(`node ${node.pid} logged no worker id`);
  return new RegExp(`^worker:${worker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** How a subscriber is connected. */
export type Transport = 'ws' | 'sse';

const OPERATION_UPDATED = `subscription($id: ID!, $after: Int) {
  operationUpdated(id: $id, afterRevision: $after) { ${OPERATION_SELECTION} } }`;
const OPERATIONS_UPDATED = `subscription { operationsUpdated { ${OPERATION_SELECTION} } }`;

async function subscribe(
  node: Node,
  transport: Transport,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Promise<EventQueue<Op>> {
  const { token } = node.alice;
  if (transport === 'ws') {
    return mapOps(wsClient(node.wsUrl, token).subscribe(query, variables).results, field);
  }
  const stream = await sse(node.url, token, query, variables);
  expect(stream.status).toBe(200);
  return mapOps(stream.results, field);
}

/** alice's `operationUpdated(id, afterRevision)` on `node` over `transport`. */
export function watchOne(
  node: Node,
  transport: Transport,
  id: string,
  afterRevision: number | null = null,
): Promise<EventQueue<Op>> {
  return subscribe(
    node,
    transport,
    OPERATION_UPDATED,
    { id, after: afterRevision },
    'operationUpdated',
  );
}

/** alice's `operationsUpdated` on `node` over `transport`. */
export function watchAll(node: Node, transport: Transport): Promise<EventQueue<Op>> {
  return subscribe(node, transport, OPERATIONS_UPDATED, {}, 'operationsUpdated');
}

/** kill -9, and wait for the exit. */
export async function killNine(node: Node): Promise<void> {
  node.child.kill('SIGKILL');
  expect(await node.exited).toBe('SIGKILL');
}

/** One entry of `Operation.events`. */
export interface LogEntry {
  revision: number;
  status: string;
  progress: number | null;
  actor: string;
  reason: string | null;
  time: string;
}

interface EventsPage {
  operation: {
    events: {
      edges: Array<{ cursor: string; node: LogEntry }>;
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
    };
  } | null;
}

const EVENTS_PAGE = `query($id: ID!, $first: Int, $after: String) {
  operation(id: $id) { events(first: $first, after: $after) {
    edges { cursor node { revision status progress actor reason time } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } } }`;

/** The whole transition log of `id`, read page by page with `first`/`after` as an admin. */
export async function transitionLog(node: Node, id: string, pageSize = 100): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  let after: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const r: GqlResponse<EventsPage> = await node.admin.gql<EventsPage>(EVENTS_PAGE, {
      id,
      first: pageSize,
      after,
    });
    const events = r.body.data?.operation?.events;
    if (!events) throw new Error(`Operation.events failed: ${JSON.stringify(r.body)}`);
    expect(events.pageInfo.hasPreviousPage).toBe(after !== null);
    entries.push(...events.edges.map((edge) => edge.node));
    if (!events.pageInfo.hasNextPage) return entries;
    after = events.pageInfo.endCursor;
  }
  throw new Error('the transition log never ended');
}

/** How many times the log enters RUNNING (a claim): an operation run twice would show two. */
export function claims(log: readonly { status: string }[]): number {
  return log.filter((entry, i) => entry.status === 'RUNNING' && log[i - 1]?.status !== 'RUNNING')
    .length;
}

/** The statuses of a sequence of states with consecutive repeats (progress) folded. */
export function statusRuns(states: readonly { status: string }[]): string[] {
  return states
    .map((state) => state.status)
    .filter((status, i, all) => i === 0 || all[i - 1] !== status);
}

/** Revisions strictly increase (nothing out of order, nothing twice). */
export function expectIncreasing(states: readonly { revision: number }[]): void {
  const revisions = states.map((state) => state.revision);
  expect(revisions).toEqual([...new Set(revisions)].sort((a, b) => a - b));
}

/**
 * What a subscriber saw agrees with the log: each state is the logged one of its revision, and
 * every status change logged after `after` (up to the last revision seen) is among them: only
 * progress may be coalesced. `complete` (the default): the subscriber saw the log's last entry.
 */
export function expectMatchesLog(
  seen: readonly Op[],
  log: readonly LogEntry[],
  { after = 0, complete = true }: { after?: number; complete?: boolean } = {},
): void {
  expectIncreasing(seen);
  const byRevision = new Map(log.map((entry) => [entry.revision, entry]));
  for (const state of seen) {
    const entry = byRevision.get(state.revision);
    if (entry === undefined) {
      // A progress report the log coalesced (LOG_PROGRESS_INTERVAL_MS): only progress keeps the
      // status, and every status change is logged, so the entry before it has its status.
      const before = log.filter((logged) => logged.revision < state.revision).at(-1);
      expect(before?.status, `revision ${state.revision} is progress of a logged status`).toBe(
        state.status,
      );
      continue;
    }
    expect({ status: state.status, progress: state.progress, time: state.updatedAt }).toEqual({
      status: entry?.status,
      progress: entry?.progress,
      time: entry?.time,
    });
  }
  const last = seen.at(-1)?.revision ?? after;
  const seenRevisions = new Set(seen.map((state) => state.revision));
  const statusChanges = log.filter(
    (entry, i) =>
      entry.revision > after &&
      entry.revision <= last &&
      (i === 0 || log[i - 1]?.status !== entry.status),
  );
  expect(statusChanges.filter((entry) => !seenRevisions.has(entry.revision))).toEqual([]);
  if (complete) expect(last).toBe(log.at(-1)?.revision);
}

/** Polls `client` until operation `id` has `status`; returns that state. */
export function untilStatus(
  client: Node['alice'],
  id: string,
  status: string,
  timeoutMs = 20_000,
): Promise<Op> {
  return waitFor(
    async () => {
      const op = await client.get(id);
      return op?.status === status ? op : null;
    },
    `${id} to be ${status}`,
    timeoutMs,
  );
}

/** Polls until operation `id` is done; returns its final state. */
export function untilDone(client: Node['alice'], id: string, timeoutMs = 20_000): Promise<Op> {
  return waitFor(
    async () => {
      const op = await client.get(id);
      return op?.done ? op : null;
    },
    `${id} to end`,
    timeoutMs,
  );
}

/** GET `path` on `node`: the status code. */
export async function probe(node: Node, path: '/healthz' | '/readyz'): Promise<number> {
  const response = await fetch(`${node.origin}${path}`);
  await response.arrayBuffer();
  return response.status;
}

/** Waits until `path` answers `status`. */
export function untilProbe(
  node: Node,
  path: '/healthz' | '/readyz',
  status: number,
  timeoutMs = 15_000,
): Promise<boolean> {
  return waitFor(
    async () => (await probe(node, path)) === status,
    `${path} to answer ${status}`,
    timeoutMs,
  );
}

const proxies = new Set<TcpProxy>();
afterEach(async () => {
  await Promise.all([...proxies].map((proxy) => proxy.close()));
  proxies.clear();
});

/** A relay to `target` (any TCP service), closed after the test. */
export async function relay(target: string): Promise<TcpProxy> {
  const proxy = await startTcpProxy(target);
  proxies.add(proxy);
  return proxy;
}

/** `DATABASE_URL` (any PostgreSQL URL) rewritten to go through `proxy`. */
export function viaRelay(databaseUrl: string, proxy: TcpProxy): string {
  const url = new URL(databaseUrl);
  url.port = new URL(proxy.url).port;
  return url.toString();
}

let redisAdmin: Redis | null = null;
afterEach(async () => {
  await redisAdmin?.quit();
  redisAdmin = null;
});

/**
 * Kills, with `CLIENT KILL ADDR`, the subscriber connection among `addresses` (the upstream ends
 * of one instance's relay): that instance alone loses its pub/sub connection.
 */
export async function killSubscriberConnection(addresses: readonly string[]): Promise<string> {
  redisAdmin ??= new Redis(TEST_REDIS_URL ?? '', { lazyConnect: false });
  const list = (await redisAdmin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  const subscriber = list
    .split('\n')
    .map((line) => /(?:^| )addr=(\S+)/.exec(line)?.[1])
    .find((addr) => addr !== undefined && addresses.includes(addr));
  if (subscriber === undefined) throw new Error(`no pub/sub connection among ${addresses}`);
  const killed = await redisAdmin.call('CLIENT', 'KILL', 'ADDR', subscriber, 'TYPE', 'pubsub');
  expect(killed).toBe(1);
  return subscriber;
}

export { within };
