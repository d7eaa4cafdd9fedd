/**
 * The scale-out soak (issue 3): three server processes on one PostgreSQL and one Redis keep
 * SOAK_OPS (200) operations in flight for SOAK_MS (2 minutes), with random cancels sent to random
 * instances, live subscribers over WebSocket and SSE on a sample of operations, one admin
 * `operationsUpdated` feed per instance, and one instance killed with SIGKILL a third of the way in
 * and started again. It asserts correctness only; the figures it prints go in docs/scaling.md.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  type GqlResponse,
  type SseStream,
  sse,
  type WsClient,
  wsClient,
} from '../helpers/clients.js';
import {
  CLUSTER_SKIP_REASON,
  type ClusterEnv,
  clusterEnv,
  startInstances,
} from '../helpers/cluster.js';
import { type ServerProcess, spawnServer } from '../helpers/process.js';
import { tokenFor } from '../helpers/server.js';
import { sayWhySkipped } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const SOAK_MS = Number(process.env.SOAK_MS ?? 120_000);
/** SOAK_VERBOSE=1 prints progress lines on stderr while it runs. */
const VERBOSE = process.env.SOAK_VERBOSE === '1';
/** SOAK_LOG_DIR=dir keeps every instance's log lines there. */
const LOG_DIR = process.env.SOAK_LOG_DIR;
const IN_FLIGHT = Number(process.env.SOAK_OPS ?? 200);
/** The instances' LEASE_MS: how soon the killed instance's operations are taken back. */
const LEASE_MS = process.env.SOAK_LEASE_MS ?? '1500';
const USERS = ['ada', 'bob', 'cyd', 'dee', 'eve'];
const WATCH_SHARE = 0.25;
const CANCEL_SHARE = 0.3;
/** Bounds every wait after the soak itself. */
const DRAIN_MS = 120_000;
/** A change this close to a feed's end may not have reached its client before the kill. */
const KILL_MARGIN_MS = 10_000;

/** Legal status edges; CANCELLING→FAILED (graceful shutdown only) cannot happen here. */
const EDGES: Record<string, readonly string[]> = {
  PENDING: ['RUNNING', 'CANCELLED'],
  RUNNING: ['RUNNING', 'CANCELLING', 'SUCCEEDED', 'FAILED'],
  CANCELLING: ['CANCELLING', 'CANCELLED', 'SUCCEEDED'],
};
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * The status at `revision` by the log: that of its newest entry at or before it (progress
 * entries may be coalesced, and only progress keeps the status); undefined before the log.
 */
function statusAt(log: readonly { revision: number; status: string }[], revision: number) {
  return log.findLast((entry) => entry.revision <= revision)?.status;
}

const FIELDS = 'id status done revision updatedAt';
const START = `mutation($input: StartOperationInput!) { startOperation(input: $input) {
  __typename ... on StartOperationSuccess { operation { id } } ... on Error { message } } }`;
const CANCEL = `mutation($input: CancelOperationInput!) { cancelOperation(input: $input) {
  __typename ... on CancelOperationSuccess { operation { status } } ... on Error { message } } }`;
const WATCH = `subscription($id: ID!, $after: Int) {
  operationUpdated(id: $id, afterRevision: $after) { ${FIELDS} } }`;
const FEED = `subscription { operationsUpdated { ${FIELDS} } }`;
const OPEN = `query($after: String) { operations(first: 100, after: $after,
  status: [PENDING, RUNNING, CANCELLING]) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`;
const FINAL = `query($after: String) { operations(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id status revision result error { code message } cancelRequestedAt
    events(first: 100) { pageInfo { hasNextPage }
      edges { node { revision status actor time } } } } } } }`;

interface Update {
  id: string;
  status: string;
  done: boolean;
  revision: number;
  updatedAt: string;
}
interface Entry {
  revision: number;
  status: string;
  actor: string;
  time: string;
}
interface Final {
  id: string;
  status: string;
  revision: number;
  result: unknown;
  error: { code: string; message: string } | null;
  cancelRequestedAt: string | null;
  events: { pageInfo: { hasNextPage: boolean }; edges: Array<{ node: Entry }> };
}
interface Page<T> {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Array<{ node: T }>;
}
interface Instance {
  readonly label: string;
  readonly proc: ServerProcess;
  readonly url: string;
  alive: boolean;
  readonly sockets: Map<string, WsClient>;
}
interface Tracked {
  readonly id: string;
  readonly owner: string;
  readonly input: { ms: number; steps: number; ignoreCancel: boolean; fail: string | null };
  readonly cancels: Array<{ sentAt: number; via: Instance; outcome: string }>;
}
interface Feed {
  readonly instance: Instance;
  liveSince: number | null;
  closedAt: number | null;
  readonly last: Map<string, number>;
  readonly received: Array<[string, number, string]>;
  readonly cancelledAt: Map<string, number>;
}
interface Watcher {
  readonly op: Tracked;
  readonly transport: 'ws' | 'sse';
  readonly got: Array<[number, string]>;
  terminal: boolean;
  reconnects: number;
}

/** POSTs a GraphQL document; a request that hangs (an instance killed under it) fails after 15 s. */
async function post<D>(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<GqlResponse<D>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const random = (low: number, high: number) => low + Math.floor(Math.random() * (high - low + 1));
const pick = <T>(items: readonly T[]): T => items[random(0, items.length - 1)] as T;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const figures = (values: number[]) =>
  `p50 ${percentile(values, 50)} ms, p95 ${percentile(values, 95)} ms, max ${percentile(values, 100)} ms (n=${values.length})`;

sayWhySkipped(CLUSTER_SKIP_REASON, 'soak: 3 instances, kill -9 and restart');
describe.skipIf(CLUSTER_SKIP_REASON !== null)('soak: 3 instances, kill -9 and restart', () => {
  it(`keeps every operation's history exact for ${SOAK_MS} ms`, {
    timeout: SOAK_MS + 6 * DRAIN_MS,
  }, async () => {
    // The final check reads 100 operations with their whole logs per page (cost about 81,000).
    const env: ClusterEnv = await clusterEnv({
      MAX_CONCURRENT_RUNS: '80',
      LEASE_MS,
      MAX_QUERY_COST: '100000',
      // Each user keeps about 40 operations in flight and starts hundreds a minute.
      MAX_ACTIVE_PER_OWNER: '0',
      START_RATE_PER_MINUTE: '0',
    });
    const admin = tokenFor('soak-admin', { admin: true });
    const tokens = new Map(USERS.map((user) => [user, tokenFor(user)]));
    const problems: string[] = [];
    const problem = (text: string) => {
      if (problems.length < 200) problems.push(text);
    };
    const lags: number[] = [];
    const began = Date.now();
    const say = (text: string) => {
      if (VERBOSE) process.stderr.write(`[soak +${Date.now() - began} ms] ${text}\n`);
    };
    let finishing = false;

    const instance = (label: string, proc: ServerProcess, url: string): Instance => ({
      label,
      proc,
      url,
      alive: true,
      sockets: new Map(),
    });
    const instances = (await startInstances(env, 3)).map((proc, i) =>
      instance('ABC'[i] ?? '?', proc, proc.url),
    );
    const everyProcess = instances.map((one) => one.proc);
    const alive = () => pick(instances.filter((one) => one.alive));
    const socket = (via: Instance, token: string) => {
      let client = via.sockets.get(token);
      if (!client) {
        client = wsClient(via.url.replace(/^http/, 'ws'), token);
        via.sockets.set(token, client);
      }
      return client;
    };

    /** One subscription over WS or SSE; `onEnd` hears how it ended (null: completed). */
    function subscribe(
      via: Instance,
      transport: 'ws' | 'sse',
      token: string,
      query: string,
      variables: Record<string, unknown>,
      onUpdate: (update: Update) => void,
      onEnd: (error: unknown) => void,
    ): void {
      const field = query.includes('operationsUpdated') ? 'operationsUpdated' : 'operationUpdated';
      const onResult = (result: { data?: Record<string, unknown> | null; errors?: unknown }) => {
        if (result.errors)
          problem(`${via.label}: subscription error ${JSON.stringify(result.errors)}`);
        else onUpdate(result.data?.[field] as Update);
      };
      if (transport === 'ws') {
        socket(via, token).client.subscribe(
          { query, variables },
          {
            next: onResult,
            error: (error) => onEnd(error ?? 'error'),
            complete: () => onEnd(null),
          },
        );
        return;
      }
      void (async () => {
        let stream: SseStream;
        try {
          stream = await sse(via.url, token, query, variables);
        } catch (error) {
          return onEnd(error);
        }
        for (;;) {
          try {
            onResult(await stream.results.next(SOAK_MS + DRAIN_MS));
          } catch (error) {
            return onEnd(stream.results.error ?? (stream.results.isEnded ? null : error));
          }
        }
      })();
    }

    // Operations, and when each one is known to be done.
    const tracked = new Map<string, Tracked>();
    const open = new Set<string>();
    const done = new Set<string>();
    let launching = 0;
    const markDone = (id: string) => {
      done.add(id);
      open.delete(id);
    };

    // One admin feed per instance; a restarted instance gets a new one.
    const feeds: Feed[] = [];
    function openFeed(via: Instance, transport: 'ws' | 'sse'): void {
      const feed: Feed = {
        instance: via,
        liveSince: null,
        closedAt: null,
        last: new Map(),
        received: [],
        cancelledAt: new Map(),
      };
      feeds.push(feed);
      subscribe(
        via,
        transport,
        admin,
        FEED,
        {},
        (update) => {
          const now = Date.now();
          feed.liveSince ??= now;
          lags.push(now - Date.parse(update.updatedAt));
          const last = feed.last.get(update.id) ?? 0;
          if (update.revision <= last) {
            problem(`feed ${via.label}: ${update.id} r${update.revision} after r${last}`);
          }
          feed.last.set(update.id, Math.max(last, update.revision));
          feed.received.push([update.id, update.revision, update.status]);
          if (update.status === 'CANCELLED' && !feed.cancelledAt.has(update.id)) {
            feed.cancelledAt.set(update.id, now);
          }
          if (update.done) markDone(update.id);
        },
        (error) => {
          feed.closedAt ??= Date.now();
          if (via.alive && !finishing) problem(`feed ${via.label} ended: ${String(error)}`);
        },
      );
    }
    for (const [i, one] of instances.entries()) openFeed(one, i % 2 === 0 ? 'ws' : 'sse');

    // Single-operation subscribers; one cut off by the kill resumes elsewhere with afterRevision.
    const watchers: Watcher[] = [];
    function follow(watcher: Watcher): void {
      const via = alive();
      const after = watcher.got.at(-1)?.[0] ?? null;
      const openedAt = Date.now();
      let first = true;
      subscribe(
        via,
        watcher.transport,
        tokens.get(watcher.op.owner) ?? '',
        WATCH,
        { id: watcher.op.id, after },
        (update) => {
          const updatedAt = Date.parse(update.updatedAt);
          if (!first && updatedAt >= openedAt) lags.push(Date.now() - updatedAt);
          first = false;
          const last = watcher.got.at(-1)?.[0] ?? 0;
          if (update.revision <= last) {
            problem(`watcher ${watcher.op.id}: r${update.revision} after r${last}`);
          } else watcher.got.push([update.revision, update.status]);
          if (update.done) {
            watcher.terminal = true;
            markDone(update.id);
          }
        },
        (error) => {
          if (watcher.terminal || finishing) return;
          if (via.alive) problem(`watcher ${watcher.op.id} on ${via.label} ended early: ${error}`);
          watcher.reconnects++;
          if (watcher.reconnects <= 5) setTimeout(() => follow(watcher), 100).unref();
        },
      );
    }

    async function cancel(op: Tracked): Promise<void> {
      for (let attempt = 0; attempt < 5 && !done.has(op.id); attempt++) {
        // Recorded before the answer: a cancel may commit on an instance killed before it answers.
        const sent = { sentAt: Date.now(), via: alive(), outcome: 'no answer' };
        op.cancels.push(sent);
        try {
          const input = { id: op.id, reason: `soak ${attempt}` };
          const answer = await post<{
            cancelOperation: { __typename: string; operation?: { status: string } } | null;
          }>(sent.via.url, tokens.get(op.owner) ?? '', CANCEL, { input });
          const result = answer.body.data?.cancelOperation;
          if (result) {
            sent.outcome = result.operation?.status ?? result.__typename;
            return;
          }
        } catch {
          // the instance died under the request: ask another one
        }
        await sleep(100);
      }
    }

    async function launch(): Promise<void> {
      launching++;
      const owner = pick(USERS);
      const input = {
        ms: random(500, 8_000),
        steps: random(1, 10),
        ignoreCancel: Math.random() < 0.1,
        fail: Math.random() < 0.1 ? `boom ${random(1, 1e6)}` : null,
      };
      const idempotencyKey = `soak-${Date.now()}-${random(0, 1e9)}`;
      try {
        for (let attempt = 0; attempt < 5; attempt++) {
          const via = alive();
          try {
            const answer = await post<{ startOperation: { operation?: { id: string } } | null }>(
              via.url,
              tokens.get(owner) ?? '',
              START,
              { input: { kind: 'demo.sleep', input, idempotencyKey } },
            );
            const id = answer.body.data?.startOperation?.operation?.id;
            if (id) {
              const op: Tracked = { id, owner, input, cancels: [] };
              tracked.set(id, op);
              if (!done.has(id)) open.add(id);
              if (Math.random() < WATCH_SHARE) {
                const transport = watchers.length % 2 === 0 ? 'ws' : 'sse';
                const watcher: Watcher = { op, transport, got: [], terminal: false, reconnects: 0 };
                watchers.push(watcher);
                follow(watcher);
              }
              if (Math.random() < CANCEL_SHARE) {
                const twice = Math.random() < 0.15;
                setTimeout(
                  () => void Promise.all(twice ? [cancel(op), cancel(op)] : [cancel(op)]),
                  random(0, input.ms * 1.2),
                ).unref();
              }
              return;
            }
          } catch {
            // the instance died under the request: the idempotency key makes a retry safe
          }
          await sleep(100);
        }
        problem('an operation could not be started on any instance');
      } finally {
        launching--;
      }
    }

    /** Backstop of the feeds: operations no longer listed as unfinished are done. */
    async function poll(): Promise<void> {
      const candidates = [...open];
      const unfinished = new Set<string>();
      let after: string | null = null;
      for (let page = 0; page < 20; page++) {
        const answer: GqlResponse<{ operations: Page<{ id: string }> }> = await post(
          alive().url,
          admin,
          OPEN,
          { after },
        );
        const listing = answer.body.data?.operations;
        if (!listing) return;
        for (const edge of listing.edges) unfinished.add(edge.node.id);
        if (!listing.pageInfo.hasNextPage) {
          for (const id of candidates) if (!unfinished.has(id)) markDone(id);
          return;
        }
        after = listing.pageInfo.endCursor;
      }
    }

    // The soak.
    const t0 = Date.now();
    say(`instances up: ${instances.map((one) => one.url).join(' ')}`);
    const status = setInterval(() => {
      const ended = watchers.filter((w) => w.terminal).length;
      say(
        `started ${tracked.size}, launching ${launching}, open ${open.size}, done ${done.size}, ` +
          `watchers ${ended}/${watchers.length}, feeds ${feeds.map((f) => f.received.length)}`,
      );
    }, 5_000);
    status.unref();
    const soakEnd = t0 + SOAK_MS;
    let killedPid = -1;
    let killedAt = 0;
    let restartedAt = 0;
    const killer = (async () => {
      await sleep(SOAK_MS / 3);
      const victim = instances[1] as Instance;
      victim.alive = false;
      killedPid = victim.proc.child.pid ?? -1;
      killedAt = Date.now();
      victim.proc.child.kill('SIGKILL');
      await victim.proc.exited;
      say(`killed ${victim.label} (pid ${killedPid})`);
      const proc = spawnServer(env);
      everyProcess.push(proc);
      const restarted = instance("B'", proc, await proc.listening);
      instances[1] = restarted;
      restartedAt = Date.now();
      say(`restarted as ${restarted.url}`);
      openFeed(restarted, 'sse');
    })();
    const poller = (async () => {
      while (Date.now() < soakEnd + DRAIN_MS && (Date.now() < soakEnd || open.size > 0)) {
        await sleep(2_000);
        await poll().catch(() => undefined);
      }
    })();
    while (Date.now() < soakEnd) {
      while (launching + open.size < IN_FLIGHT) void launch();
      await sleep(25);
    }
    say('soak over; draining');
    await killer;
    await waitFor(
      () => launching === 0 && open.size === 0,
      'every operation to end',
      DRAIN_MS,
      200,
    );
    const drainedAt = Date.now();
    say('every operation ended');
    await poller;
    await waitFor(
      () => watchers.every((w) => w.terminal || w.reconnects > 5),
      'every subscriber to see its terminal state',
      30_000,
      200,
    );

    // The final states and the transition log, as an admin reads them.
    say('every subscriber ended; reading the log');
    const finals = new Map<string, Final>();
    let after: string | null = null;
    for (let page = 0; page < tracked.size / 100 + 10; page++) {
      const answer: GqlResponse<{ operations: Page<Final> }> = await post(
        alive().url,
        admin,
        FINAL,
        { after },
      );
      const listing = answer.body.data?.operations;
      if (!listing) throw new Error(`listing failed: ${JSON.stringify(answer.body)}`);
      for (const edge of listing.edges) finals.set(edge.node.id, edge.node);
      if (!listing.pageInfo.hasNextPage) break;
      after = listing.pageInfo.endCursor;
    }
    expect(finals.size).toBe(tracked.size);

    // Every operation: increasing revisions, legal edges, terminal last, one run by one worker.
    const takeBack: number[] = [];
    const logOf = new Map<string, Entry[]>();
    const outcomes = new Map<string, number>();
    let lostOnLiveInstance = 0;
    let forcedHonouring = 0;
    for (const op of tracked.values()) {
      const final = finals.get(op.id);
      if (!final) {
        problem(`${op.id}: missing from the listing`);
        continue;
      }
      const log = final.events.edges.map((edge) => edge.node);
      logOf.set(op.id, log);
      const where = `${op.id} (${log.map((e) => e.status).join('>')})`;
      if (final.events.pageInfo.hasNextPage) problem(`${where}: more than 100 log entries`);
      log.forEach((entry, i) => {
        // Progress entries may be coalesced (LOG_PROGRESS_INTERVAL_MS): revisions only increase.
        if (entry.revision <= (log[i - 1]?.revision ?? 0))
          problem(`${where}: entry ${i} has revision ${entry.revision}`);
        const previous = log[i - 1];
        if (previous && !EDGES[previous.status]?.includes(entry.status)) {
          problem(`${where}: illegal edge ${previous.status}>${entry.status}`);
        }
      });
      const last = log.at(-1);
      if (log[0]?.status !== 'PENDING') problem(`${where}: does not start PENDING`);
      if (!last || last.revision !== final.revision || last.status !== final.status) {
        problem(`${where}: log ends at r${last?.revision}, state is r${final.revision}`);
      }
      if (!TERMINAL.has(final.status)) problem(`${where}: not done`);
      const runs = log.filter((e, i) => e.status === 'RUNNING' && log[i - 1]?.status === 'PENDING');
      const workers = new Set(log.filter((e) => e.actor.startsWith('worker:')).map((e) => e.actor));
      if (runs.length > 1 || workers.size > 1) problem(`${where}: run twice (${[...workers]})`);
      const byUser = log.filter((e) => e.actor.startsWith('user:'));
      if (byUser.some((e) => e.actor !== `user:${op.owner}`) || byUser.length > 2) {
        problem(`${where}: unexpected user writes ${byUser.map((e) => e.actor)}`);
      }
      const code = final.error?.code ?? '';
      const outcome = `${final.status}${code ? `/${code}` : ''}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const ranOnVictim = [...workers].some((actor) => actor.includes(`:${killedPid}:`));
      const asked = op.cancels.length > 0;
      if (final.status === 'SUCCEEDED') {
        if (op.input.fail !== null || JSON.stringify(final.result) !== `{"slept":${op.input.ms}}`) {
          problem(`${where}: SUCCEEDED with ${JSON.stringify(final.result)}`);
        }
      } else if (final.status === 'CANCELLED') {
        if (!asked || final.cancelRequestedAt === null) problem(`${where}: CANCELLED unasked`);
        // A handler that honours its signal is still forced when a progress write it awaits
        // outlasts CANCEL_GRACE_MS: a load figure, not a fault.
        if (code === 'CANCEL_FORCED' && !op.input.ignoreCancel) forcedHonouring++;
        if (code !== 'CANCELLED' && code !== 'CANCEL_FORCED') problem(`${where}: code ${code}`);
      } else if (code === 'HANDLER_ERROR') {
        if (final.error?.message !== op.input.fail) problem(`${where}: ${final.error?.message}`);
      } else if (code === 'INTERRUPTED') {
        if (!ranOnVictim && lostOnLiveInstance++ < 5) {
          say(
            `lease lost: ${log.map((e) => `${e.time.slice(17)} ${e.status} ${e.actor}`).join(' | ')}`,
          );
        }
      } else problem(`${where}: FAILED with ${code}`);
      if (ranOnVictim && last && last.actor === 'system' && Date.parse(last.time) > killedAt) {
        takeBack.push(Date.parse(last.time) - killedAt);
      }
    }

    // Subscribers of one operation: in order, every status change from the first state on, the end.
    for (const watcher of watchers) {
      const log = logOf.get(watcher.op.id) ?? [];
      const where = `watcher ${watcher.op.id} (${watcher.transport})`;
      const got = new Map(watcher.got);
      const from = watcher.got[0]?.[0] ?? Number.POSITIVE_INFINITY;
      if (!watcher.terminal || watcher.got.at(-1)?.[0] !== log.at(-1)?.revision) {
        problem(`${where}: ended at r${watcher.got.at(-1)?.[0]}, log at r${log.at(-1)?.revision}`);
      }
      for (const [revision, status] of watcher.got) {
        if (statusAt(log, revision) !== status) problem(`${where}: r${revision} ${status}`);
      }
      log.forEach((entry, i) => {
        const changed = i > 0 && log[i - 1]?.status !== entry.status;
        if (changed && entry.revision > from && !got.has(entry.revision)) {
          problem(`${where}: missed r${entry.revision} ${entry.status}`);
        }
      });
    }

    // Admin feeds: every change they received matches the log, and they end on the final state
    // of every operation that ended while they were up.
    const feedMisses = () => {
      const misses: string[] = [];
      for (const feed of feeds) {
        for (const op of tracked.values()) {
          const end = logOf.get(op.id)?.at(-1);
          if (!end || feed.liveSince === null) continue;
          const endedAt = Date.parse(end.time);
          if (endedAt <= feed.liveSince) continue;
          if (feed.closedAt !== null && endedAt >= feed.closedAt - KILL_MARGIN_MS) continue;
          if (feed.last.get(op.id) !== end.revision) {
            misses.push(
              `feed ${feed.instance.label}: ${op.id} at r${feed.last.get(op.id)}, not r${end.revision}`,
            );
          }
        }
      }
      return misses;
    };
    await waitFor(
      () => feedMisses().length === 0,
      'the admin feeds to catch up',
      15_000,
      500,
    ).catch(() => undefined);
    for (const miss of feedMisses().slice(0, 20)) problem(miss);
    for (const feed of feeds) {
      for (const [id, revision, status] of feed.received) {
        const logged = statusAt(logOf.get(id) ?? [], revision);
        if (logged !== undefined && logged !== status)
          problem(`feed ${feed.instance.label}: ${id} r${revision} ${status}`);
      }
    }
    finishing = true;
    clearInterval(status);
    if (LOG_DIR) {
      for (const [i, proc] of everyProcess.entries()) {
        writeFileSync(join(LOG_DIR, `soak-${i}-${proc.child.pid}.log`), proc.lines.join('\n'));
      }
    }

    // Figures.
    const cancelLatency: number[] = [];
    for (const op of tracked.values()) {
      const first = op.cancels.find((sent) => sent.outcome === 'CANCELLING');
      if (!first || op.input.ignoreCancel) continue;
      if (finals.get(op.id)?.error?.code !== 'CANCELLED') continue;
      const seenAt = feeds
        .filter((feed) => feed.instance !== first.via)
        .map((feed) => feed.cancelledAt.get(op.id))
        .filter((at): at is number => at !== undefined);
      if (seenAt.length > 0) cancelLatency.push(Math.min(...seenAt) - first.sentAt);
    }
    const events = [...logOf.values()].reduce((sum, log) => sum + log.length, 0);
    const endedInSoak = [...logOf.values()].filter(
      (log) => Date.parse(log.at(-1)?.time ?? '') <= soakEnd,
    ).length;
    const errorLines = everyProcess.flatMap((proc) =>
      proc.lines.filter((line) => line.includes('"level":"error"')),
    );
    console.log(
      [
        `soak: ${SOAK_MS} ms, 3 instances, ${IN_FLIGHT} in flight, LEASE_MS ${env.LEASE_MS}, ${tracked.size} operations, ${events} transitions`,
        `  throughput: ${((endedInSoak * 1000) / SOAK_MS).toFixed(1)} ops/s ended during the soak, ${((events * 1000) / (drainedAt - t0)).toFixed(0)} transitions/s`,
        `  outcomes: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `  cancel sent -> CANCELLED on another instance's feed: ${figures(cancelLatency)}`,
        `  delivery lag updatedAt -> client: ${figures(lags)}`,
        `  kill -9 at ${killedAt - t0} ms, back in ${restartedAt - killedAt} ms; its ${takeBack.length} running ops taken back after ${figures(takeBack)}`,
        `  under load: ${lostOnLiveInstance} interrupted on a live instance (lease lost), ${forcedHonouring} CANCEL_FORCED though the handler honours its signal`,
        `  subscribers: ${watchers.length} (${watchers.filter((w) => w.reconnects > 0).length} resumed elsewhere), admin feeds ${feeds.length}`,
        `  server error lines: ${errorLines.length}${errorLines
          .slice(0, 3)
          .map((line) => `\n    ${line.slice(0, 300)}`)
          .join('')}`,
      ].join('\n'),
    );
    expect(problems).toEqual([]);
  });
});
