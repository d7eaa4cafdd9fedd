import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { RateLimitedError } from '../../src/operations/errors.js';
import type { StartQuota } from '../../src/operations/ports.js';
import { openSqlite } from '../../src/store/connect.js';
import { at, META, op } from './store-fixture.js';

const quiet = createLogger('error', () => {});
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const rate = (maxStarts: number): StartQuota => ({
  maxActive: null,
  maxStarts,
  windowMs: 60_000,
  activeRetryMs: 5_000,
});

describe('the start-rate quota on SQLite', () => {
  it('reads no operation rows while the per-second counts stay below the limit, and refuses exactly at it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'longrun-quota-'));
    dirs.push(dir);
    const rowReads: string[] = [];
    const { db, store } = await openSqlite(join(dir, 'longrun.sqlite'), quiet, {
      onStatement: ({ sql }) => {
        if (sql.startsWith('select "created_at" from "operations"')) rowReads.push(sql);
      },
    });
    // Three starts in one second, two in the next.
    const times = [at(0), at(100), at(900), at(1_000), at(1_500)];
    for (const time of times) {
      await store.insert(op({}, time), new Date(0), META, rate(100_000_000));
    }
    expect(rowReads).toEqual([]);
    const counts = await db
      .selectFrom('owner_starts')
      .select(['second', 'starts'])
      .orderBy('second')
      .execute();
    const first = Math.floor(at(0).getTime() / 1000);
    expect(counts.map((row) => [Number(row.second) - first, row.starts])).toEqual([
      [0, 3],
      [1, 2],
    ]);

    // At the limit the rows decide: the sixth start is refused until the first leaves the window.
    await expect(store.insert(op({}, at(2_000)), new Date(0), META, rate(5))).rejects.toThrow(
      RateLimitedError,
    );
    expect(rowReads).toHaveLength(1);
    expect(await store.insert(op({}, at(2_000)), new Date(0), META, rate(6))).toMatchObject({
      inserted: true,
    });
    // Six in the minute before 59.999 s (created after -1 ms); the first leaves it 1 ms later.
    await expect(
      store.insert(op({}, at(59_999)), new Date(0), META, rate(6)),
    ).rejects.toMatchObject({ retryAfterMs: 1 });
    expect(await store.insert(op({}, at(60_100)), new Date(0), META, rate(6))).toMatchObject({
      inserted: true,
    });
    // Refused starts are not counted; retention forgets the seconds before its cutoff.
    await store.deleteFinishedBefore(at(1_000));
    const kept = await db
      .selectFrom('owner_starts')
      .select(['second', 'starts'])
      .orderBy('second')
      .execute();
    expect(kept.map((row) => [Number(row.second) - first, row.starts])).toEqual([
      [1, 2],
      [2, 1],
      [60, 1],
    ]);
    await store.close();
  });
});
