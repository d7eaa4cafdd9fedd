import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createLogger } from '../../src/logger.js';
import { type Committer, createCommitter } from '../../src/operations/commit.js';
import type { OperationRecord } from '../../src/operations/model.js';
import type { OperationStore } from '../../src/operations/ports.js';
import { isDone, OperationStatus as S } from '../../src/operations/status.js';
import * as t from '../../src/operations/transitions.js';
import { openSqlite } from '../../src/store/connect.js';

// CHECKLIST L55: random sequences of start / claim / cancel / progress / finish / crash / restart,
// written through the real committer into a real SQLite file, must keep the lifecycle invariants.

const quiet = createLogger('error', () => {});

/** Every status change the contract allows (SEMANTICS.md, "Lifecycle and cancellation"). */
const LEGAL = new Set([
  `${S.Pending}>${S.Running}`,
  `${S.Pending}>${S.Cancelled}`,
  `${S.Running}>${S.Cancelling}`,
  `${S.Running}>${S.Succeeded}`,
  `${S.Running}>${S.Failed}`,
  `${S.Cancelling}>${S.Succeeded}`,
  `${S.Cancelling}>${S.Cancelled}`,
  `${S.Cancelling}>${S.Failed}`, // shutdown records INTERRUPTED, never CANCELLED
]);

interface Model {
  ids: string[];
  /** The last state seen of each operation. */
  last: Map<string, OperationRecord>;
}

interface Real {
  store: OperationStore;
  commit: Committer;
  file: string;
}

type Decide = (op: OperationRecord, now: Date) => t.Outcome;

async function applyAndCheck(model: Model, real: Real, pick: number, decide: Decide) {
  if (model.ids.length === 0) return;
  const id = model.ids[pick % model.ids.length] as string;
  const before = model.last.get(id) as OperationRecord;
  await real.commit.apply(id, (op) => decide(op, new Date()), { actor: 'system' });
  const after = (await real.store.get(id)) as OperationRecord;
  expect(after).not.toBeNull();
  if (isDone(before.status)) {
    // A done operation never changes again.
    expect(after).toEqual(before);
  }
  const step = after.revision - before.revision;
  expect([0, 1]).toContain(step);
  if (step === 0) expect(after).toEqual(before);
  if (after.status !== before.status) {
    expect(
      LEGAL.has(`${before.status}>${after.status}`),
      `${before.status} → ${after.status}`,
    ).toBe(true);
  }
  if (after.progress !== null) expect(after.progress).toBeGreaterThanOrEqual(0);
  if (after.progress !== null) expect(after.progress).toBeLessThanOrEqual(1);
  expect(isDone(after.status)).toBe(after.finishedAt !== null);
  model.last.set(id, after);
}

const lease = { owner: 'worker-1', expiresAt: new Date(Date.now() + 60_000) };

class Start implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real) {
    const record = t.create(
      {
        id: randomUUID(),
        kind: 'k',
        ownerId: 'alice',
        input: null,
        idempotencyKey: null,
        timeoutMs: null,
        retryOf: null,
      },
      new Date(),
    );
    await real.commit.insert(record, new Date(0), 'user:alice');
    const stored = (await real.store.get(record.id)) as OperationRecord;
    expect(stored.status).toBe(S.Pending);
    expect(stored.revision).toBe(1);
    model.ids.push(record.id);
    model.last.set(record.id, stored);
  }
  toString = () => 'start';
}

class Step implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly name: string,
    readonly pick: number,
    readonly decide: Decide,
  ) {}
  check = () => true;
  run = (model: Model, real: Real) => applyAndCheck(model, real, this.pick, this.decide);
  toString = () => `${this.name}#${this.pick}`;
}

class Restart implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real) {
    await real.store.close();
    const reopened = await openSqlite(real.file, quiet);
    real.store = reopened.store;
    real.commit = createCommitter(
      real.store,
      createMemoryBus(() => undefined),
      quiet,
    );
    for (const id of model.ids) expect(await real.store.get(id)).toEqual(model.last.get(id));
  }
  toString = () => 'restart';
}

const pick = fc.nat(20);
const commands = [
  fc.constant(new Start()),
  fc.constant(new Start()),
  pick.map((i) => new Step('claim', i, (op, now) => t.claim(op, lease, now))),
  fc
    .tuple(pick, fc.constantFrom('alice', 'admin'), fc.option(fc.string({ maxLength: 5 })))
    .map(([i, by, reason]) => new Step('cancel', i, (op, now) => t.cancel(op, by, reason, now))),
  fc
    .tuple(pick, fc.oneof(fc.double(), fc.constant(Number.NaN), fc.constant(null)))
    .map(([i, value]) => new Step('progress', i, (op, now) => t.progress(op, value, 'm', now))),
  pick.map((i) => new Step('succeed', i, (op, now) => t.succeed(op, { ok: true }, now))),
  pick.map(
    (i) =>
      new Step('fail', i, (op, now) => t.handlerStopped(op, { cause: 'error', message: 'x' }, now)),
  ),
  pick.map(
    (i) => new Step('timeout', i, (op, now) => t.handlerStopped(op, { cause: 'timeout' }, now)),
  ),
  pick.map((i) => new Step('force', i, (op, now) => t.forceStop(op, now))),
  fc
    .tuple(pick, fc.boolean())
    .map(([i, honour]) => new Step('crash', i, (op, now) => t.interrupt(op, now, honour))),
  fc.constant(new Restart()),
];

describe('the lifecycle under random command sequences', () => {
  it('keeps revision +1 per change, done operations immutable and only legal status edges', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { size: 'large', maxCommands: 80 }), async (cmds) => {
        const dir = await mkdtemp(join(tmpdir(), 'longrun-model-'));
        const file = join(dir, 'longrun.sqlite');
        const { store } = await openSqlite(file, quiet);
        const real: Real = {
          store,
          commit: createCommitter(
            store,
            createMemoryBus(() => undefined),
            quiet,
          ),
          file,
        };
        try {
          await fc.asyncModelRun(() => ({ model: { ids: [], last: new Map() }, real }), cmds);
        } finally {
          await real.store.close();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 60 },
    );
  });
});
