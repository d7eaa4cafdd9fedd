import { describe, expect, it } from 'vitest';
import { defineHandler } from '../../src/handlers/handler.js';
import { parseOperationId } from '../../src/schema/ids.js';
import { type Op, type UserClient, userClient } from '../helpers/clients.js';
import { EventQueue } from '../helpers/queue.js';
import { FAST, startTestServer } from '../helpers/server.js';
import { doneState, waitFor } from '../helpers/wait.js';

/**
 * A kind whose runs wait for the test: `started` yields each run's raw id as the runner invokes
 * it, `finish(id)` ends that run, and `log` records `start:<id>` and `return:<id>` in order. With
 * input `{stubborn: true}` a run ignores its AbortSignal. `peak` is the most runs at once.
 */
function turnsKind() {
  const started = new EventQueue<string>();
  const finishers = new Map<string, () => void>();
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const handler = defineHandler({
    kind: 'test.turns',
    parseInput: (input) => (input ?? {}) as { stubborn?: boolean },
    run: (input, { signal, operationId }) =>
      new Promise<null>((resolve, reject) => {
        running += 1;
        peak = Math.max(peak, running);
        log.push(`start:${operationId}`);
        const end = (settle: () => void) => () => {
          running -= 1;
          log.push(`return:${operationId}`);
          settle();
        };
        finishers.set(
          operationId,
          end(() => resolve(null)),
        );
        if (!input.stubborn) {
          signal.addEventListener(
            'abort',
            end(() => reject(signal.reason)),
            { once: true },
          );
        }
        started.push(operationId);
      }),
  });
  const raw = (id: string) => parseOperationId(id) ?? id;
  return {
    handler,
    started,
    log,
    peak: () => peak,
    finish(id: string) {
      const finish = finishers.get(raw(id));
      if (!finish) throw new Error(`${id} has not started`);
      finish();
    },
    raw,
  };
}

async function fairServer(env: Record<string, string>) {
  const turns = turnsKind();
  const server = await startTestServer({ ...FAST, ...env }, { handlers: [turns.handler] });
  const client = (sub: string) => userClient(server, sub);
  return { server, turns, client };
}

async function startMany(client: UserClient, n: number, input: object = {}): Promise<Op[]> {
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) ops.push(await client.start({ kind: 'test.turns', input }));
  return ops;
}

async function statuses(client: UserClient, ops: readonly Op[]): Promise<string[]> {
  return Promise.all(ops.map(async (op) => (await client.get(op.id))?.status ?? 'missing'));
}

describe('fair claiming', () => {
  it("runs another owner's operation at once while one owner's long queue waits", async () => {
    // Two slots, so one owner may hold one (MAX_RUNS_PER_OWNER defaults to half).
    const { turns, client } = await fairServer({ MAX_CONCURRENT_RUNS: '2' });
    const [ada, bob] = [client('ada'), client('bob')];
    const adas = await startMany(ada, 10);
    expect(await turns.started.next()).toBe(turns.raw(adas[0]?.id ?? ''));
    const [bobs] = await startMany(bob, 1);
    // Bob's is the next run, before any second of Ada's.
    expect(await turns.started.next()).toBe(turns.raw(bobs?.id ?? ''));
    expect(await statuses(ada, adas)).toEqual(['RUNNING', ...Array(9).fill('PENDING')]);

    // Ada's first ends: her second takes its slot, Bob's keeps running.
    turns.finish(adas[0]?.id ?? '');
    expect(await turns.started.next()).toBe(turns.raw(adas[1]?.id ?? ''));
    expect(await bob.get(bobs?.id ?? '')).toMatchObject({ status: 'RUNNING' });
    expect(turns.peak()).toBe(2);
  });

  it('hands freed slots round the owners in turn, oldest first within each', async () => {
    const { turns, client } = await fairServer({ MAX_CONCURRENT_RUNS: '1' });
    const [zed, ada, bob, cy] = [client('zed'), client('ada'), client('bob'), client('cy')];
    // Zed's run holds the only slot while the others queue: Ada three, Bob two, Cy one.
    const [blocker] = await startMany(zed, 1);
    expect(await turns.started.next()).toBe(turns.raw(blocker?.id ?? ''));
    const adas = await startMany(ada, 3);
    const bobs = await startMany(bob, 2);
    const cys = await startMany(cy, 1);
    const name = new Map<string, string>();
    for (const [who, ops] of [
      ['ada', adas],
      ['bob', bobs],
      ['cy', cys],
    ] as const) {
      for (const [i, op] of ops.entries()) name.set(turns.raw(op.id), `${who}${i + 1}`);
    }

    turns.finish(blocker?.id ?? '');
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = await turns.started.next();
      order.push(name.get(id) ?? id);
      turns.finish(id);
    }
    expect(order).toEqual(['ada1', 'bob1', 'cy1', 'ada2', 'bob2', 'ada3']);
    expect(turns.peak()).toBe(1);
  });

  it('runs at most MAX_RUNS_PER_OWNER of one owner at once, leaving the other slots to others', async () => {
    const { turns, client } = await fairServer({
      MAX_CONCURRENT_RUNS: '4',
      MAX_RUNS_PER_OWNER: '2',
    });
    const [ada, bob] = [client('ada'), client('bob')];
    const adas = await startMany(ada, 5);
    const first = [await turns.started.next(), await turns.started.next()];
    expect(first).toEqual(adas.slice(0, 2).map((op) => turns.raw(op.id)));
    // Two slots stay free: Bob's two take them, and the claims that took them left Ada's alone.
    const bobs = await startMany(bob, 3);
    const next = [await turns.started.next(), await turns.started.next()];
    expect(next).toEqual(bobs.slice(0, 2).map((op) => turns.raw(op.id)));
    expect(await statuses(ada, adas)).toEqual([
      'RUNNING',
      'RUNNING',
      'PENDING',
      'PENDING',
      'PENDING',
    ]);
    expect(await statuses(bob, bobs)).toEqual(['RUNNING', 'RUNNING', 'PENDING']);
    expect(turns.peak()).toBe(4);
  });
});

describe('a force-cancelled handler that keeps running', () => {
  it('holds its slot until it really returns, so MAX_CONCURRENT_RUNS bounds what runs', async () => {
    const { server, turns, client } = await fairServer({
      MAX_CONCURRENT_RUNS: '1',
      CANCEL_GRACE_MS: '200',
    });
    const [ada, bob] = [client('ada'), client('bob')];
    const [stubborn] = await startMany(ada, 1, { stubborn: true });
    const stubbornId = stubborn?.id ?? '';
    expect(await turns.started.next()).toBe(turns.raw(stubbornId));
    const [waiting] = await startMany(bob, 1);
    const waitingId = waiting?.id ?? '';

    await ada.cancel(stubbornId);
    expect(await doneState(ada, stubbornId)).toMatchObject({
      status: 'CANCELLED',
      error: { code: 'CANCEL_FORCED' },
    });
    // Its handler still runs: the slot is still taken, and Bob's operation waits.
    expect(server.app.gauges().runs).toBe(1);
    expect(await bob.get(waitingId)).toMatchObject({ status: 'PENDING' });

    turns.finish(stubbornId);
    expect(await turns.started.next()).toBe(turns.raw(waitingId));
    expect(turns.log).toEqual([
      `start:${turns.raw(stubbornId)}`,
      `return:${turns.raw(stubbornId)}`,
      `start:${turns.raw(waitingId)}`,
    ]);
    expect(turns.peak()).toBe(1);
    turns.finish(waitingId);
    await waitFor(() => server.app.gauges().runs === 0, 'the last run to end');
  });
});
