import { randomUUID } from 'node:crypto';
import type { OperationRecord } from '../../src/operations/model.js';
import type { ChangeMeta, OperationStore } from '../../src/operations/ports.js';
import {
  claim,
  create,
  type NewOperation,
  type Outcome,
} from '../../src/operations/transitions.js';

/** Which operation a claimer got, and under which lease owner. */
export interface Claimed {
  readonly id: string;
  readonly owner: string;
}

/**
 * Claimers ready on a connection of their own to the test's database: `claimAll` starts one
 * claimer per owner at once, each claiming five at a time until nothing is PENDING, and resolves
 * with what they claimed.
 */
export interface OtherConnection {
  claimAll(): Promise<Claimed[]>;
}

/** A fresh, empty store and what disposes of it. */
export interface StoreFixture {
  readonly store: OperationStore;
  /** Disposes of the store and of every connection `otherConnection` opened. */
  readonly cleanup: () => Promise<void>;
  /**
   * Claimers for `owners` on another connection to the same database: another pool in this
   * process (PostgreSQL), or another process (SQLite, whose synchronous driver would wait for
   * the other connection's lock while blocking the event loop that frees it).
   */
  readonly otherConnection: (owners: readonly string[]) => Promise<OtherConnection>;
}

/** What the suites share per test. */
export interface SuiteContext {
  /** This test's store. */
  store(): OperationStore;
  /** Inserts `record`, then commits each step in turn with a compare-and-set. */
  put(record: OperationRecord, ...steps: Step[]): Promise<OperationRecord>;
  /** Claimers for `owners` on another connection to this test's database. */
  otherConnection(owners: readonly string[]): Promise<OtherConnection>;
}

/** A state change the suites apply through `put`. */
export type Step = (current: OperationRecord) => Outcome;

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
/** `ms` after the suites' epoch. */
export const at = (ms: number) => new Date(T0 + ms);
/** One day in milliseconds. */
export const DAY = 86_400_000;
/** The change metadata of writes whose log entries a test does not look at. */
export const META: ChangeMeta = { actor: 'system', reason: null };

/** The lease `claimFor` gives: `owner`'s, long past any test's `at(…)` instants. */
export const lease = (owner: string) => ({ owner, expiresAt: at(60_000) });

/** A `claimPending` claim: RUNNING under `owner`'s lease. */
export const claimFor =
  (owner: string) =>
  (pending: OperationRecord): OperationRecord | null => {
    const outcome = claim(pending, lease(owner), at(100));
    return outcome.kind === 'changed' ? outcome.next : null;
  };

/** The change metadata of `owner`'s claims. */
export const worker = (owner: string): ChangeMeta => ({ actor: `worker:${owner}`, reason: null });

/** Claims five at a time through `store` for `owner` until nothing is PENDING; what it got. */
export async function claimUntilNone(store: OperationStore, owner: string): Promise<Claimed[]> {
  const mine: Claimed[] = [];
  for (;;) {
    const got = await store.claimPending(5, claimFor(owner), worker(owner));
    if (got.length === 0) return mine;
    mine.push(...got.map((record) => ({ id: record.id, owner })));
  }
}

/** A new PENDING operation created at `createdAt`. */
export function op(fields: Partial<NewOperation> = {}, createdAt = at(0)): OperationRecord {
  const base = { kind: 'demo.sleep', ownerId: 'alice', input: null, idempotencyKey: null };
  return create(
    { id: randomUUID(), timeoutMs: null, retryOf: null, ...base, ...fields },
    createdAt,
  );
}

/** The next state of a transition that must change something. */
export function changed(outcome: Outcome): OperationRecord {
  if (outcome.kind !== 'changed') throw new Error(`Expected a change, got ${outcome.kind}`);
  return outcome.next;
}

/** The order of `list`: `createdAt` descending, then `id` descending. */
export const newestFirst = (a: OperationRecord, b: OperationRecord) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
/** Ascending by id, as SQL orders the UUID strings. */
export const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
/** The ids of `records`, in their order. */
export const ids = (records: readonly OperationRecord[]) => records.map((record) => record.id);
