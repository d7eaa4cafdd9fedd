import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './database.js';
import type { WriteTransactions } from './dialect-traits.js';

/**
 * Logical transactions one SQLite commit takes at most, so that a caller waits for at most this
 * many others (and the rest of the event-loop turn it asked in).
 */
export const MAX_BATCH = 64;

// Compiled once: they run around every write.
const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
const SAVEPOINT = CompiledQuery.raw('savepoint logical');
const RELEASE = CompiledQuery.raw('release logical');
const ROLLBACK_TO = CompiledQuery.raw('rollback to logical');

type Work = (tx: Kysely<Database>) => Promise<unknown>;

interface Job {
  readonly work: Work;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { ok: false; error: unknown };

/**
 * Write transactions on SQLite's single connection, committed in groups. The logical transactions
 * asked for during one turn of the event loop (the requests that arrived together) wait for its
 * end (`setImmediate`), then run one after another inside one `BEGIN IMMEDIATE`, each in a
 * savepoint of its own, and one `COMMIT` ends them all: the commit is most of a small write's
 * cost (the WAL append). Measured with the `mutations` scenario of `npm run bench`.
 *
 * - Each caller's promise settles only after the `COMMIT` succeeded: a change is durable before
 *   anyone hears of it. A logical transaction that throws rolls back its own savepoint only, and
 *   rejects then too (it may have decided on the batch's uncommitted writes).
 * - A failed `COMMIT` (or a savepoint SQLite dropped with the whole transaction) rolls back and
 *   rejects every transaction of the batch.
 * - A batch holds Kysely's connection from `BEGIN` to `COMMIT`, so a statement run outside a
 *   transaction waits for the commit and never reads uncommitted writes; only the logical
 *   transactions of one batch see each other's, and they commit or fail together.
 * - A batch runs within one turn, as a single transaction did: the write lock is never held while
 *   the event loop waits for I/O, and another connection (another process) waits for it through
 *   `busy_timeout` as long as the batch runs.
 */
export class GroupCommit implements WriteTransactions {
  readonly #db: Kysely<Database>;
  readonly #maxBatch: number;
  readonly #queue: Job[] = [];
  /** The batch scheduled or running, or null. */
  #flushing: Promise<void> | null = null;

  constructor(db: Kysely<Database>, maxBatch = MAX_BATCH) {
    this.#db = db;
    this.#maxBatch = maxBatch;
  }

  run<T>(work: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  async settled(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  /** Runs a batch at the end of this turn, unless one is already due (it takes queued jobs). */
  #schedule(): void {
    this.#flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.#flush(),
    );
  }

  async #flush(): Promise<void> {
    try {
      await this.#db
        .connection()
        .execute((conn) => this.#batch(conn))
        .catch((error: unknown) => {
          // Kysely could not give the connection (destroyed): nobody can write any more.
          for (const job of this.#queue.splice(0)) job.reject(error);
        });
    } finally {
      this.#flushing = null;
      // Asked for while the batch ran, or past its size: the next turn's batch takes them.
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  /** One outer transaction over the queued jobs, at most `maxBatch`. */
  async #batch(conn: Kysely<Database>): Promise<void> {
    try {
      await conn.executeQuery(BEGIN_IMMEDIATE);
    } catch (error) {
      for (const job of this.#queue.splice(0, this.#maxBatch)) job.reject(error);
      return;
    }
    const jobs: Job[] = [];
    const outcomes: Outcome[] = [];
    let failure: { error: unknown } | null = null;
    for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
      jobs.push(job);
      const outcome = await this.#runOne(conn, job.work);
      if ('broken' in outcome) {
        failure = { error: outcome.broken };
        break;
      }
      outcomes.push(outcome);
      if (jobs.length >= this.#maxBatch) break;
    }
    if (failure === null) {
      try {
        await conn.executeQuery(COMMIT);
      } catch (error) {
        failure = { error };
      }
    }
    if (failure !== null) {
      // SQLite may have rolled back on its own (SQLITE_FULL, SQLITE_IOERR); report the cause.
      await conn.executeQuery(ROLLBACK).catch(() => undefined);
      for (const job of jobs) job.reject(failure.error);
      return;
    }
    jobs.forEach((job, index) => {
      const outcome = outcomes[index] as Outcome;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }
  /** One logical transaction in its savepoint; `broken` when the outer transaction is lost. */
  async #runOne(conn: Kysely<Database>, work: Work): Promise<Outcome | { broken: unknown }> {
    try {
      await conn.executeQuery(SAVEPOINT);
    } catch (error) {
      return { broken: error };
    }
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: await work(conn) };
    } catch (error) {
      outcome = { ok: false, error };
      try {
        await conn.executeQuery(ROLLBACK_TO);
      } catch {
        // The savepoint went with the whole transaction: the batch's earlier work is lost too.
        return { broken: error };
      }
    }
    try {
      await conn.executeQuery(RELEASE);
    } catch (error) {
      return { broken: error };
    }
    return outcome;
  }
}
