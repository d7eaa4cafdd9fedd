import { randomUUID } from 'node:crypto';
import type { OperationRecord } from '../../src/operations/model.js';
import type { ChangeMeta, OperationStore } from '../../src/operations/ports.js';
import { create, type NewOperation, type Outcome } from '../../src/operations/transitions.js';

/** A fresh, empty store and what disposes of it. */
export interface StoreFixture {
  readonly store: OperationStore;
  /** Disposes of the store and of every store `openSecond` opened. */
  readonly cleanup: () => Promise<void>;
  /**
   * Another store over the same database with its own connections, where the dialect allows
   * two in one process (PostgreSQL); absent where it does not (SQLite's synchronous driver
   * would wait for the other connection's lock while blocking the event loop that frees it).
   */
  readonly openSecond?: () => Promise<OperationStore>;
}

/** What the suites share per test. */
export interface SuiteContext {
  /** This test's store. */
  store(): OperationStore;
  /** Inserts `record`, then commits each step in turn with a compare-and-set. */
  put(record: OperationRecord, ...steps: Step[]): Promise<OperationRecord>;
  /** A second store over this test's database, or null where the fixture has none. */
  openSecond(): Promise<OperationStore> | null;
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

/** A new PENDING operation created at `createdAt`. */
export function op(fields: Partial<NewOperation> = {}, createdAt = at(0)): OperationRecord {
  const base = { kind: 'demo.sleep', ownerId: 'alice', input: null, idempotencyKey: null };
  return create({ id: randomUUID(), timeoutMs: null, ...base, ...fields }, createdAt);
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
