import DataLoader from 'dataloader';
import { z } from 'zod';
import { canSee, isWatchOnly, type Viewer } from '../auth/viewer.js';
import type { HandlerRegistry, OperationKindInfo } from '../handlers/registry.js';
import type { Committer } from './commit.js';
import { decodeCursor, decodeEventCursor, encodeCursor, encodeEventCursor } from './cursor.js';
import { NotFoundError, RateLimitedError, UnknownKindError, ValidationError } from './errors.js';
import type { Feed, FeedFilter } from './feed.js';
import { createLogPageReader } from './log-pages.js';
import type { JsonValue, LogEntry, OperationRecord } from './model.js';
import { newOperationId } from './new-id.js';
import { readPage } from './page-reader.js';
import type {
  InsertResult,
  OperationFilter,
  OperationStore,
  PageKey,
  StartQuota,
} from './ports.js';
import { isDone } from './status.js';
import { isWellFormedText, requireWellFormedJson, requireWellFormedText } from './text.js';
import type { NewOperation } from './transitions.js';
import * as transitions from './transitions.js';
import { type WaitRequest, waitForDone } from './wait.js';
import { silentStream } from './watch-links.js';

/** Limits on what clients may send (SEMANTICS.md, "Lifecycle and cancellation"). */
export const LIMITS = {
  maxInputBytes: 64 * 1024,
  /** A handler's result as JSON; a larger one fails its operation (HANDLER_ERROR). */
  maxResultBytes: 1024 * 1024,
  maxReasonLength: 1000,
  maxKindLength: 200,
  maxIdempotencyKeyLength: 200,
  maxTimeoutMs: 86_400_000,
  maxPageSize: 100,
  defaultPageSize: 20,
  idempotencyWindowMs: 24 * 60 * 60 * 1000,
} as const;

/**
 * Per-owner quotas on starts (SEMANTICS.md, "Quotas and fairness"); 0 turns a limit off.
 */
export interface QuotaSettings {
  /** Operations one owner may have PENDING, RUNNING or CANCELLING at once. */
  readonly maxActivePerOwner: number;
  /** Starts one owner may make in any 60 seconds. */
  readonly startRatePerMinute: number;
  /** Whether admins' own starts are exempt. */
  readonly exemptAdmins: boolean;
}

/** The rate window of `QuotaSettings.startRatePerMinute`. */
const START_RATE_WINDOW_MS = 60_000;

/**
 * The `retryAfterMs` of a start refused for too many active operations: when one ends cannot be
 * known, and asking again sooner than this rarely helps.
 */
const ACTIVE_RETRY_HINT_MS = 5_000;

/** What `startOperation` asks for, as the client sent it. */
export interface StartRequest {
  readonly kind: string;
  readonly input?: JsonValue | null;
  readonly idempotencyKey?: string | null;
  readonly timeoutMs?: number | null;
}

/** The arguments of the `operations` listing. */
export interface ListRequest extends FeedFilter {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
  readonly ownerId?: string | null;
}

/** The arguments of `Operation.events`. */
export interface HistoryRequest {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
}

/** One page of an operation's transition log, oldest first. */
export interface EventPage {
  readonly edges: ReadonlyArray<{ readonly cursor: string; readonly node: LogEntry }>;
  readonly pageInfo: {
    readonly hasNextPage: boolean;
    readonly hasPreviousPage: boolean;
    readonly startCursor: string | null;
    readonly endCursor: string | null;
  };
}

/** One page of operations, newest first. */
export interface OperationPage {
  readonly edges: ReadonlyArray<{ readonly cursor: string; readonly node: OperationRecord }>;
  readonly pageInfo: {
    readonly hasNextPage: boolean;
    readonly hasPreviousPage: boolean;
    readonly startCursor: string | null;
    readonly endCursor: string | null;
  };
  /** Counted only when asked for. */
  totalCount(): Promise<number>;
}

/**
 * Pages of transition logs for one request or subscription: the pages asked for in one turn of
 * the event loop (`Operation.events` on every operation of a list) are read together.
 */
export interface HistoryReader {
  /** A page of the operation's transition log, oldest first (`after` is a cursor from it). */
  page(op: OperationRecord, request: HistoryRequest): Promise<EventPage>;
}

/** The use cases of the API, each deciding visibility with `canSee`. */
export interface OperationsService {
  /**
   * Validates and stores a new PENDING operation, or returns the idempotent first one. Throws
   * `RateLimitedError` (nothing stored) when the owner is over a quota.
   */
  start(
    viewer: Viewer,
    request: StartRequest,
  ): Promise<{ operation: OperationRecord; deduplicated: boolean }>;
  /**
   * Starts a new run of a done operation: same kind, input and timeoutMs, owned by its owner, with
   * `retryOf` pointing back. `id` is the parsed raw id (null when malformed), `givenId` as sent.
   * Throws `NotFoundError` when the viewer may not see it, `ValidationError` when it is not done
   * (or its kind or input is no longer accepted). Goes through the same start path as `start`.
   */
  retry(viewer: Viewer, id: string | null, givenId: string): Promise<OperationRecord>;
  /** Requests cancellation; `id` is the parsed raw id (null when malformed), `givenId` as sent. */
  cancel(
    viewer: Viewer,
    id: string | null,
    givenId: string,
    reason: string | null | undefined,
  ): Promise<OperationRecord>;
  /** The operation, or null when it does not exist or the viewer may not see it. */
  get(viewer: Viewer, id: string | null): Promise<OperationRecord | null>;
  /** A keyset page of the operations the viewer may see. Throws `ValidationError` on bad args. */
  list(viewer: Viewer, request: ListRequest): Promise<OperationPage>;
  /** A page of the operation's transition log, oldest first (`after` is a cursor from it). */
  historyReader(): HistoryReader;
  watch: Feed['watchOne'];
  watchAll: Feed['watchAll'];
  /** Every registered kind with the JSON Schema of its input, in registration order. */
  kinds(): readonly OperationKindInfo[];
  /**
   * Resolves once the operation is done or `timeoutMs` (1..60000, default 30000) passes, with its
   * state; null when it does not exist or the viewer may not see it. Throws `ValidationError` on a
   * `timeoutMs` out of range.
   */
  wait(viewer: Viewer, request: WaitRequest): Promise<OperationRecord | null>;
  /**
   * The operation `op` retries (`Operation.retryOf`), or null when it is no retry, or the original
   * is gone or not the viewer's to see. The originals asked for in one turn of the event loop (a
   * page of retries, every subscriber of a change) are read in one statement.
   */
  retryOf(viewer: Viewer, op: OperationRecord): Promise<OperationRecord | null>;
}

const WELL_FORMED = 'must be well-formed text (no NUL character, no unpaired surrogate)';

const StartSchema = z.object({
  kind: z
    .string()
    .refine(isWellFormedText, WELL_FORMED)
    .trim()
    .min(1, 'must not be empty')
    .max(LIMITS.maxKindLength),
  idempotencyKey: z
    .string()
    .refine(isWellFormedText, WELL_FORMED)
    .min(1, 'must not be empty')
    .max(LIMITS.maxIdempotencyKeyLength)
    .nullish(),
  timeoutMs: z.number().int().min(1).max(LIMITS.maxTimeoutMs).nullish(),
});

/** JSON with object keys sorted, so equal values compare equal as text. */
function canonicalJson(value: JsonValue | null | undefined): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function pageSize(value: number | null | undefined, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 0 || value > LIMITS.maxPageSize) {
    throw new ValidationError(`${name} must be between 0 and ${LIMITS.maxPageSize}.`, name);
  }
  return value;
}

function cursorKey(cursor: string | null | undefined, name: string): PageKey | null {
  if (cursor === null || cursor === undefined) return null;
  const key = decodeCursor(cursor);
  if (key === null) throw new ValidationError(`${name} is not a valid cursor.`, name);
  return key;
}

/** The service over its collaborators; `clock` is injectable for tests. */
export function createOperationsService(deps: {
  store: OperationStore;
  commit: Committer;
  registry: HandlerRegistry;
  feed: Feed;
  /** @default no quotas */
  quotas?: QuotaSettings;
  /** Told of every start a quota refused (for metrics). */
  onRefused?: (error: RateLimitedError) => void;
  clock?: () => Date;
}): OperationsService {
  const { store, commit, registry, feed } = deps;
  const clock = deps.clock ?? (() => new Date());
  const quotas = deps.quotas ?? null;
  // Shared by every request: visibility is decided per caller after the read, and nothing is
  // cached, so one viewer's read never answers another's.
  const originals = new DataLoader<string, OperationRecord | null>(
    async (ids) => {
      const found = new Map((await store.getMany(ids)).map((op) => [op.id, op]));
      return ids.map((id) => found.get(id) ?? null);
    },
    { cache: false, maxBatchSize: LIMITS.maxPageSize },
  );

  /**
   * The quota a start asked for by `viewer` is held to, or null: every path that creates an
   * operation passes it to `commit.insert`, which counts the start against the new operation's
   * owner (and refuses with `RateLimitedError`).
   */
  function startQuota(viewer: Viewer): StartQuota | null {
    if (quotas === null || (viewer.isAdmin && quotas.exemptAdmins)) return null;
    const { maxActivePerOwner, startRatePerMinute } = quotas;
    if (maxActivePerOwner === 0 && startRatePerMinute === 0) return null;
    return {
      maxActive: maxActivePerOwner === 0 ? null : maxActivePerOwner,
      maxStarts: startRatePerMinute === 0 ? null : startRatePerMinute,
      windowMs: START_RATE_WINDOW_MS,
      activeRetryMs: ACTIVE_RETRY_HINT_MS,
    };
  }

  /**
   * The one path by which new operations are stored, for `start` and `retry` alike: the quotas
   * of `startQuota(viewer)` apply here, counted against `op.ownerId` (rejects with
   * `RateLimitedError`, nothing stored). `viewer` is who asked, `op.ownerId` whose it is.
   */
  async function launch(op: Omit<NewOperation, 'id'>, viewer: Viewer): Promise<InsertResult> {
    const now = clock();
    const record = transitions.create({ id: newOperationId(now.getTime()), ...op }, now);
    try {
      return await commit.insert(
        record,
        new Date(now.getTime() - LIMITS.idempotencyWindowMs),
        `user:${viewer.id}`,
        startQuota(viewer),
      );
    } catch (error) {
      if (error instanceof RateLimitedError) deps.onRefused?.(error);
      throw error;
    }
  }

  return {
    async start(viewer, request) {
      const parsed = StartSchema.safeParse(request);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = String(issue?.path[0] ?? 'input');
        throw new ValidationError(`${field}: ${issue?.message ?? 'is invalid'}.`, field);
      }
      const { kind, idempotencyKey = null, timeoutMs = null } = parsed.data;
      const input = request.input ?? null;
      requireWellFormedJson(input, 'input', LIMITS.maxInputBytes);
      // Sorting keys changes no length: measure the plain JSON, and sort only what fits.
      if (Buffer.byteLength(JSON.stringify(input), 'utf8') > LIMITS.maxInputBytes) {
        throw new ValidationError(
          `input: is larger than ${LIMITS.maxInputBytes} bytes as JSON.`,
          'input',
        );
      }
      const inputJson = canonicalJson(input);
      const handler = registry.get(kind);
      if (!handler) throw new UnknownKindError(kind);
      handler.parseInput(input); // throws ValidationError with the field inside input

      const result = await launch(
        { kind, ownerId: viewer.id, input, idempotencyKey, timeoutMs, retryOf: null },
        viewer,
      );
      if (result.inserted) return { operation: result.record, deduplicated: false };
      const existing = result.existing;
      if (existing.kind !== kind || canonicalJson(existing.input) !== inputJson) {
        throw new ValidationError(
          'idempotencyKey: was already used for an operation with a different kind or input.',
          'idempotencyKey',
        );
      }
      return { operation: existing, deduplicated: true };
    },

    async retry(viewer, id, givenId) {
      // Found, foreign and malformed ids cost the same one read (SEMANTICS.md, "Authorization").
      const original = await store.get(id ?? '');
      if (original === null || id === null || !canSee(viewer, original)) {
        throw new NotFoundError(givenId);
      }
      if (!isDone(original.status)) {
        throw new ValidationError(
          `id: the operation is ${original.status}; only a done operation can be retried.`,
          'id',
        );
      }
      const handler = registry.get(original.kind);
      if (!handler) {
        throw new ValidationError(
          `id: no handler is registered for kind "${original.kind}" any more.`,
          'id',
        );
      }
      try {
        handler.parseInput(original.input); // the handler may have grown stricter since
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        throw new ValidationError(
          `id: its input is no longer accepted by kind "${original.kind}" (${error.message})`,
          'id',
        );
      }
      const result = await launch(
        {
          kind: original.kind,
          ownerId: original.ownerId,
          input: original.input,
          idempotencyKey: null,
          timeoutMs: original.timeoutMs,
          retryOf: original.id,
        },
        viewer,
      );
      // Without an idempotency key every insert is a new row.
      if (!result.inserted) throw new Error('A retry without an idempotency key was deduplicated.');
      return result.record;
    },

    async cancel(viewer, id, givenId, reason) {
      requireWellFormedText(reason, 'reason');
      if (reason !== null && reason !== undefined && reason.length > LIMITS.maxReasonLength) {
        throw new ValidationError(
          `reason: must be at most ${LIMITS.maxReasonLength} characters.`,
          'reason',
        );
      }
      // Who may cancel it never changes, so a state this process remembers of one of the
      // viewer's own operations tells; whether it may be cancelled now, the committer decides on
      // the stored state. Anyone else's is read like a missing one: the same work for both.
      const remembered = id === null ? null : commit.known(id);
      const known = remembered !== null && canSee(viewer, remembered) ? remembered : null;
      const current = known ?? (await store.get(id ?? ''));
      if (current === null || id === null || !canSee(viewer, current)) {
        throw new NotFoundError(givenId);
      }
      const outcome = await commit.apply(
        id,
        (op) => transitions.cancel(op, viewer.id, reason ?? null, clock()),
        known === null ? { actor: `user:${viewer.id}`, current } : { actor: `user:${viewer.id}` },
      );
      if (outcome === null) throw new NotFoundError(givenId);
      if (outcome.kind === 'rejected') throw outcome.error;
      return outcome.kind === 'changed' ? outcome.next : outcome.current;
    },

    async get(viewer, id) {
      const record = await store.get(id ?? '');
      return record !== null && id !== null && canSee(viewer, record) ? record : null;
    },

    async list(viewer, request) {
      requireWellFormedText(request.kind, 'kind');
      requireWellFormedText(request.ownerId, 'ownerId');
      const first = pageSize(request.first, 'first');
      const last = pageSize(request.last, 'last');
      if (first !== null && last !== null) {
        throw new ValidationError('Use first or last, not both.', 'last');
      }
      const after = cursorKey(request.after, 'after');
      const before = cursorKey(request.before, 'before');
      const backward = last !== null || (before !== null && first === null);
      if (backward ? after !== null : before !== null) {
        throw new ValidationError(
          'Page forward with first/after or backward with last/before.',
          backward ? 'after' : 'before',
        );
      }
      const filter: OperationFilter = {
        ownerId: viewer.isAdmin ? (request.ownerId ?? null) : viewer.id,
        // An empty status list means no status filter, as in the live feed.
        statuses: request.statuses?.length ? request.statuses : null,
        kind: request.kind ?? null,
      };
      // A watch token lists nothing, like a user asking for another owner's operations.
      const foreignOwner =
        isWatchOnly(viewer) ||
        (!viewer.isAdmin && request.ownerId != null && request.ownerId !== viewer.id);
      const limit = (backward ? last : first) ?? LIMITS.defaultPageSize;
      const key = backward ? before : after;
      const direction = backward ? 'newer' : 'older';

      const { records, more } =
        foreignOwner || limit === 0
          ? { records: [], more: false }
          : await readPage(store, { ...filter, direction, key, limit });
      // Read nearest the cursor first; a page is always newest first.
      const page = backward ? records.reverse() : records;
      // A cursor names a row: the page that starts after it has at least that row on its other side.
      const beyondKey = key !== null && !foreignOwner;
      const edges = page.map((node) => ({ cursor: encodeCursor(node), node }));
      return {
        edges,
        pageInfo: {
          hasNextPage: backward ? beyondKey : more,
          hasPreviousPage: backward ? more : beyondKey,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
        totalCount: () => (foreignOwner ? Promise.resolve(0) : store.count(filter)),
      };
    },

    historyReader() {
      const read = createLogPageReader(store);
      return {
        async page(op, request) {
          if (request.last != null || request.before != null) {
            throw new ValidationError('The log pages forward only: use first and after.', 'last');
          }
          const first = pageSize(request.first, 'first') ?? LIMITS.defaultPageSize;
          let after = 0;
          if (request.after != null) {
            const revision = decodeEventCursor(request.after);
            if (revision === null) {
              throw new ValidationError('after is not a valid cursor.', 'after');
            }
            after = revision;
          }
          const rows =
            first === 0
              ? []
              : await read({ operationId: op.id, afterRevision: after, limit: first + 1 });
          const edges = rows
            .slice(0, first)
            .map((node) => ({ cursor: encodeEventCursor(node.revision), node }));
          return {
            edges,
            pageInfo: {
              hasNextPage: rows.length > first,
              hasPreviousPage: after > 0,
              startCursor: edges[0]?.cursor ?? null,
              endCursor: edges.at(-1)?.cursor ?? null,
            },
          };
        },
      };
    },

    watch: (viewer, id, givenId, signal, afterRevision) =>
      feed.watchOne(viewer, id, givenId, signal, afterRevision),
    watchAll: async (viewer, filter, signal) => {
      requireWellFormedText(filter.kind, 'kind');
      return isWatchOnly(viewer) ? silentStream(signal) : feed.watchAll(viewer, filter, signal);
    },
    kinds: () => registry.describe(),
    wait: (viewer, request) => waitForDone({ feed, store }, viewer, request),
    async retryOf(viewer, op) {
      if (op.retryOf === null) return null;
      const original = await originals.load(op.retryOf);
      return original !== null && canSee(viewer, original) ? original : null;
    },
  };
}
