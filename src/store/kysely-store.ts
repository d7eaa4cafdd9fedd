import { setImmediate as nextTurn } from 'node:timers/promises';
import { type ExpressionBuilder, type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { LogEntry, OperationEvent, OperationRecord } from '../operations/model.js';
import type {
  ChangeMeta,
  ClaimShares,
  InsertResult,
  LogPageQuery,
  LogScope,
  OperationFilter,
  OperationStore,
  PageKey,
  PageQuery,
  SizedKey,
  StartQuota,
  WriteCondition,
} from '../operations/ports.js';
import { ACTIVE, UNFINISHED, type UnfinishedStatus } from '../operations/status.js';
import { claimPending } from './claim.js';
import type { Database } from './database.js';
import {
  type DialectTraits,
  dialectTraits,
  type StoreDialect,
  type WriteTransactions,
} from './dialect-traits.js';
import { PROGRESS_LOG_INTERVAL_MS } from './log-writes.js';
import { startSecond } from './quota.js';
import { selectOperation } from './statements.js';
import {
  LOG_CHANGE_COLUMNS,
  LOG_ENTRY_COLUMNS,
  toEvent,
  toLogEntry,
  toMs,
  toRecord,
} from './store-rows.js';
import { storeError } from './unavailable.js';
import { insertOperation, updateOperation } from './writes.js';

export type { StoreDialect } from './dialect-traits.js';

/** How `createKyselyStore` talks to its database. */
export interface KyselyStoreOptions {
  /** Selects the few dialect-specific behaviours (write transactions, constraint errors, locks). */
  readonly dialect: StoreDialect;
  /** Rows one statement of `count` goes through. @default COUNT_STRETCH */
  readonly countStretch?: number;
  /** How far apart the log keeps progress entries (`logChange`). @default PROGRESS_LOG_INTERVAL_MS */
  readonly progressLogIntervalMs?: number;
}

const ACTIVE_STATUSES = [...ACTIVE];
const UNFINISHED_STATUSES = [...UNFINISHED];

function matches(eb: ExpressionBuilder<Database, 'operations'>, filter: OperationFilter) {
  const conditions = [];
  if (filter.ownerId != null) conditions.push(eb('owner_id', '=', filter.ownerId));
  if (filter.kind != null) conditions.push(eb('kind', '=', filter.kind));
  if (filter.statuses != null) {
    // An empty status list matches nothing (and `in ()` is not valid SQL).
    conditions.push(
      filter.statuses.length === 0 ? sql<boolean>`1 = 0` : eb('status', 'in', filter.statuses),
    );
  }
  return eb.and(conditions);
}

/** Rows before `upper` in newest-first order (all rows when null). */
function below(eb: ExpressionBuilder<Database, 'operations'>, upper: PageKey | null) {
  return upper === null
    ? eb.and([])
    : eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(toMs(upper.createdAt), upper.id));
}

/**
 * The bytes of a row's input and result as stored JSON. octet_length reads neither SQLite's
 * overflow pages nor PostgreSQL's TOAST: the sizes of megabyte results cost what their keys cost.
 */
const JSON_BYTES = sql<
  number | string
>`coalesce(octet_length(input), 0) + coalesce(octet_length(result), 0)`;

/** Inputs and results one statement reads when many operations are read by id. */
const READ_BYTES = 262_144;

/**
 * How many rows one statement of `count` goes through. Measured with `npm run bench:loop`: a
 * stretch of 10,000 takes a few milliseconds on SQLite.
 */
export const COUNT_STRETCH = 10_000;

/**
 * The `OperationStore` over Kysely, for SQLite and PostgreSQL alike. Every method rejects with
 * `UnavailableError` when the database cannot be reached (see `unavailable.ts`).
 */
export class KyselyStore implements OperationStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectTraits;
  readonly #writes: WriteTransactions;
  readonly #countStretch: number;
  readonly #progressLogIntervalMs: number;

  constructor(db: Kysely<Database>, options: KyselyStoreOptions) {
    this.#db = db;
    this.#dialect = dialectTraits[options.dialect];
    this.#writes = this.#dialect.writeTransactions(db);
    this.#countStretch = options.countStretch ?? COUNT_STRETCH;
    this.#progressLogIntervalMs = options.progressLogIntervalMs ?? PROGRESS_LOG_INTERVAL_MS;
  }

  get(id: string): Promise<OperationRecord | null> {
    return guarded(async () => {
      const [row] = (await selectOperation.execute(this.#db, this.#dialect, { id })).rows;
      return row === undefined ? null : toRecord(row);
    });
  }

  getMany(ids: readonly string[]): Promise<OperationRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return guarded(async () => {
      const rows = await this.#selectAll().where('id', 'in', ids).execute();
      return rows.map(toRecord);
    });
  }

  insert(
    record: OperationRecord,
    idempotencyCutoff: Date,
    meta: ChangeMeta,
    quota: StartQuota | null = null,
  ) {
    return guarded(
      (): Promise<InsertResult> =>
        insertOperation(this.#writes, this.#dialect, record, idempotencyCutoff, meta, quota),
    );
  }

  update(next: OperationRecord, expected: WriteCondition, meta: ChangeMeta): Promise<boolean> {
    return guarded(() =>
      updateOperation(
        this.#writes,
        this.#dialect,
        next,
        expected,
        meta,
        this.#progressLogIntervalMs,
      ),
    );
  }

  claimPending(
    limit: number,
    claim: (pending: OperationRecord) => OperationRecord | null,
    meta: ChangeMeta,
    shares: ClaimShares = { perOwner: limit, byOwner: new Map() },
  ): Promise<OperationRecord[]> {
    if (limit <= 0) return Promise.resolve([]);
    return guarded(() =>
      claimPending(this.#db, this.#writes, this.#dialect, limit, claim, meta, shares),
    );
  }

  events(id: string, afterRevision: number, limit: number): Promise<OperationEvent[]> {
    return guarded(async () => {
      const rows = await this.#db
        .selectFrom('operation_events')
        .select(LOG_CHANGE_COLUMNS)
        .where('operation_id', '=', id)
        .where('revision', '>', afterRevision)
        .orderBy('revision', 'asc')
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      // Read after the entries, so at their revisions or later, as `stateAt` needs.
      const found = await this.#selectAll().where('id', '=', id).executeTakeFirst();
      if (found === undefined) return [];
      const current = toRecord(found);
      return rows.map((row) => toEvent(row, current));
    });
  }

  logPages(queries: readonly LogPageQuery[]): Promise<LogEntry[][]> {
    const [first, ...rest] = queries.map((query, index) => this.#logPage(query, index));
    if (first === undefined) return Promise.resolve([]);
    return guarded(async () => {
      // One compound statement: each page is an index range scan of its own, bounded by its
      // LIMIT (a window over every operation's whole log would read all of it).
      const rows = await rest.reduce((all, page) => all.unionAll(page), first).execute();
      const pages: LogEntry[][] = queries.map(() => []);
      for (const row of rows) pages[Number(row.page)]?.push(toLogEntry(row));
      for (const page of pages) page.sort((a, b) => a.revision - b.revision);
      return pages;
    });
  }

  eventsSince(
    since: Date,
    limit: number,
    scope: LogScope | null = null,
  ): Promise<OperationEvent[]> {
    if (scope !== null && scope.operations.length === 0 && scope.owners.length === 0) {
      return Promise.resolve([]);
    }
    return guarded(async () => {
      let query = this.#db
        .selectFrom('operation_events')
        .select(LOG_CHANGE_COLUMNS)
        .where('at', '>=', toMs(since));
      if (scope !== null) {
        const { operations, owners } = scope;
        query = query.where((eb) =>
          eb.or([
            ...(operations.length > 0 ? [eb('operation_id', 'in', operations)] : []),
            ...(owners.length > 0
              ? [
                  eb(
                    'operation_id',
                    'in',
                    eb.selectFrom('operations').select('id').where('owner_id', 'in', owners),
                  ),
                ]
              : []),
          ]),
        );
      }
      const rows = await query
        .orderBy('at', 'asc')
        .orderBy('operation_id', 'asc')
        .orderBy('revision', 'asc')
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      // Read after the entries, so at their revisions or later, as `stateAt` needs. An operation
      // deleted meanwhile (retention) takes its entries with it.
      const ids = [...new Set(rows.map((row) => row.operation_id))];
      const current = new Map((await this.#readBounded(ids)).map((op) => [op.id, op]));
      return rows.flatMap((row) => {
        const operation = current.get(row.operation_id);
        return operation === undefined ? [] : [toEvent(row, operation)];
      });
    });
  }

  list(query: PageQuery): Promise<OperationRecord[]> {
    return guarded(async () => {
      const rows = await this.#page(query, this.#selectAll());
      const records = rows.map(toRecord);
      return query.direction === 'newer' ? records.reverse() : records;
    });
  }

  listSizes(query: PageQuery): Promise<SizedKey[]> {
    return guarded(async () => {
      const rows = await this.#page(
        query,
        this.#db
          .selectFrom('operations')
          .select(['created_at', 'id'])
          .select(JSON_BYTES.as('bytes')),
      );
      const keys = rows.map((row) => ({
        createdAt: new Date(Number(row.created_at)),
        id: row.id,
        bytes: Number(row.bytes),
      }));
      return query.direction === 'newer' ? keys.reverse() : keys;
    });
  }

  count(filter: OperationFilter): Promise<number> {
    return guarded(async () => {
      // Counted a stretch of rows at a time, newest first, yielding between
      // stretches: SQLite runs each statement on the event loop, and one count over a million
      // rows would hold it for a long while. Each stretch ends at the key of its last row, found
      // on the index of the owner (or of creation time) without reading the rows.
      let total = 0;
      let upper: PageKey | null = null;
      for (;;) {
        const ownerOnly: OperationFilter = { ownerId: filter.ownerId ?? null };
        const end = await this.#inOrder(ownerOnly, upper)
          .select(['created_at', 'id'])
          .offset(this.#countStretch - 1)
          .limit(1)
          .executeTakeFirst();
        const row = await this.#db
          .selectFrom('operations')
          .select((eb) => eb.fn.countAll<number | string>().as('count'))
          .where((eb) => matches(eb, filter))
          .where((eb) => below(eb, upper))
          .where((eb) =>
            end === undefined
              ? eb.and([])
              : eb(eb.refTuple('created_at', 'id'), '>=', eb.tuple(Number(end.created_at), end.id)),
          )
          .executeTakeFirstOrThrow();
        total += Number(row.count);
        if (end === undefined) return total;
        upper = { createdAt: new Date(Number(end.created_at)), id: end.id };
        await nextTurn();
      }
    });
  }

  countUnfinished(cap: number): Promise<Record<UnfinishedStatus, number>> {
    return guarded(async () => {
      const counts = { PENDING: 0, RUNNING: 0, CANCELLING: 0 };
      for (const status of UNFINISHED) {
        // At most `cap` entries of the status index are read, whatever the table holds.
        const row = await this.#db
          .selectFrom(
            this.#db
              .selectFrom('operations')
              .select(sql<number>`1`.as('one'))
              .where('status', '=', status)
              .limit(cap)
              .as('page'),
          )
          .select((eb) => eb.fn.countAll<number | string>().as('count'))
          .executeTakeFirstOrThrow();
        counts[status] = Number(row.count);
        await nextTurn();
      }
      return counts;
    });
  }

  renewLeases(owner: string, ids: readonly string[], expiresAt: Date): Promise<OperationRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return guarded(async () => {
      // One statement, so the rows returned are exactly the rows renewed.
      const rows = await this.#db
        .updateTable('operations')
        .set({ lease_expires_at: toMs(expiresAt) })
        .where('lease_owner', '=', owner)
        .where('id', 'in', ids)
        .where('status', 'in', ACTIVE_STATUSES)
        .returningAll()
        .execute();
      return rows.map(toRecord);
    });
  }

  expiredLeases(now: Date, limit: number): Promise<OperationRecord[]> {
    return guarded(async () => {
      const rows = await this.#selectAll()
        .where('status', 'in', ACTIVE_STATUSES)
        .where('lease_expires_at', '<', toMs(now))
        .orderBy('lease_expires_at', 'asc')
        .orderBy('id', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    });
  }

  deleteFinishedBefore(cutoff: Date): Promise<number> {
    // Done is written "not unfinished": with `status in (done statuses)` SQLite chose the status
    // index and read every done operation (4.5 s at start-up and each hour over 1,000,000 rows,
    // `npm run bench -- listing`); this way it reads the range of finished_at before the cutoff.
    return guarded(() =>
      this.#writes.run(async (tx) => {
        const expired = tx
          .selectFrom('operations')
          .select('id')
          .where('status', 'not in', UNFINISHED_STATUSES)
          .where('finished_at', '<', toMs(cutoff));
        // A done operation never changes again, so both statements see the same set.
        await tx.deleteFrom('operation_events').where('operation_id', 'in', expired).execute();
        // Start counts are read for a minute's window (`quota.ts`); older ones only take room.
        await tx
          .deleteFrom('owner_starts')
          .where('second', '<', startSecond(toMs(cutoff)))
          .execute();
        const { numDeletedRows } = await tx
          .deleteFrom('operations')
          .where('status', 'not in', UNFINISHED_STATUSES)
          .where('finished_at', '<', toMs(cutoff))
          .executeTakeFirst();
        return Number(numDeletedRows);
      }),
    );
  }

  ping(): Promise<void> {
    return guarded(async () => {
      await sql`select 1`.execute(this.#db);
    });
  }

  async close(): Promise<void> {
    await this.#writes.settled();
    await this.#db.destroy();
  }

  #selectAll() {
    return this.#db.selectFrom('operations').selectAll();
  }

  /**
   * The operations among `ids` that exist, read in statements of at most `READ_BYTES` of inputs
   * and results (or one operation), yielding between them: up to 500 operations of a log
   * re-read may each hold a megabyte of result.
   */
  async #readBounded(ids: readonly string[]): Promise<OperationRecord[]> {
    if (ids.length === 0) return [];
    const sizes = await this.#db
      .selectFrom('operations')
      .select('id')
      .select(JSON_BYTES.as('bytes'))
      .where('id', 'in', ids)
      .execute();
    const records: OperationRecord[] = [];
    let run: string[] = [];
    let bytes = 0;
    const read = async () => {
      if (records.length > 0) await nextTurn();
      const rows = await this.#selectAll().where('id', 'in', run).execute();
      records.push(...rows.map(toRecord));
      run = [];
      bytes = 0;
    };
    for (const size of sizes) {
      if (run.length > 0 && bytes + Number(size.bytes) > READ_BYTES) await read();
      run.push(size.id);
      bytes += Number(size.bytes);
    }
    if (run.length > 0) await read();
    return records;
  }

  /**
   * The rows of one keyset page selected by `select`, in the page's reading order. Several
   * statuses are read as one range of the status index each, the ranges merged (a compound
   * statement): with `status in (...)` SQLite walks the owner's (or everyone's) operations in
   * order and tests each row's status, which for the few active ones among a million read them
   * all (`npm run bench -- listing`).
   */
  #page<O>(
    { direction, key, limit, within, ...filter }: PageQuery,
    select: SelectQueryBuilder<Database, 'operations', O>,
  ): Promise<O[]> {
    const newer = direction === 'newer';
    const order = newer ? 'asc' : 'desc';
    const range = (statuses: OperationFilter['statuses']) => {
      let query = select.where((eb) => matches(eb, { ...filter, statuses }));
      if (key !== null) {
        query = query.where((eb) =>
          eb(
            eb.refTuple('created_at', 'id'),
            newer ? '>' : '<',
            eb.tuple(toMs(key.createdAt), key.id),
          ),
        );
      }
      if (within != null) {
        const { first, last } = within;
        query = query.where((eb) =>
          eb.and([
            eb(
              eb.refTuple('created_at', 'id'),
              newer ? '>=' : '<=',
              eb.tuple(toMs(first.createdAt), first.id),
            ),
            eb(
              eb.refTuple('created_at', 'id'),
              newer ? '<=' : '>=',
              eb.tuple(toMs(last.createdAt), last.id),
            ),
          ]),
        );
      }
      return query.orderBy('created_at', order).orderBy('id', order).limit(limit);
    };
    const statuses = [...new Set(filter.statuses ?? [])];
    if (statuses.length < 2) return range(filter.statuses).execute();
    // A compound member may not have its own ORDER BY/LIMIT; a subquery may.
    const [first, ...rest] = statuses.map((status, index) =>
      this.#db.selectFrom(range([status]).as(`s${index}`)).selectAll(),
    );
    return rest
      .reduce((all, member) => all.unionAll(member), first as NonNullable<typeof first>)
      .orderBy(sql.ref('created_at'), order)
      .orderBy(sql.ref('id'), order)
      .limit(limit)
      .execute() as Promise<O[]>;
  }

  /** Operations matching `filter` below `upper` (exclusive), newest first. */
  #inOrder(filter: OperationFilter, upper: PageKey | null) {
    return this.#db
      .selectFrom('operations')
      .where((eb) => matches(eb, filter))
      .where((eb) => below(eb, upper))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc');
  }

  /** One log page as a compound member; `page` tells its rows apart from the others'. */
  #logPage(query: LogPageQuery, index: number) {
    const page = this.#db
      .selectFrom('operation_events')
      .select(LOG_ENTRY_COLUMNS)
      .select(sql.lit(index).as('page'))
      .where('operation_id', '=', query.operationId)
      .where('revision', '>', query.afterRevision)
      .orderBy('revision', 'asc')
      .limit(query.limit);
    // A compound member may not have its own ORDER BY/LIMIT; a subquery may.
    return this.#db.selectFrom(page.as(`p${index}`)).selectAll();
  }
}

/** Runs one store call, turning a lost or unreachable database into `UnavailableError`. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw storeError(error);
  }
}

/** An `OperationStore` over Kysely (see `KyselyStore`). */
export function createKyselyStore(
  db: Kysely<Database>,
  options: KyselyStoreOptions,
): OperationStore {
  return new KyselyStore(db, options);
}
