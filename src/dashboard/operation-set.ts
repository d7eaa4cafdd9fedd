import type { Operation, OperationStatus } from '../client/index.js';

/** What `merge` did with a state. */
export type MergeOutcome =
  | { readonly kind: 'added'; readonly op: Operation }
  | { readonly kind: 'updated'; readonly op: Operation; readonly previous: Operation }
  /** An older (or the same) revision than the one held: dropped. */
  | { readonly kind: 'stale' };

/** What the table shows: the client-side filters. */
export interface OperationFilter {
  /** Empty: every status. */
  readonly statuses: ReadonlySet<OperationStatus>;
  /** Case-insensitive substring of `kind`; empty: every kind. */
  readonly kind: string;
}

/** True when `op` passes `filter`. */
export function matchesFilter(op: Operation, filter: OperationFilter): boolean {
  if (filter.statuses.size > 0 && !filter.statuses.has(op.status)) return false;
  const kind = filter.kind.trim().toLowerCase();
  return kind === '' || op.kind.toLowerCase().includes(kind);
}

/**
 * The operations a dashboard knows, newest first, each at the highest revision seen; the list
 * and the live stream both feed it, so their order of arrival does not matter (SEMANTICS.md,
 * "Live updates"). At most `limit` are kept: the oldest fall off.
 */
export class OperationSet {
  readonly #ops = new Map<string, Operation>();

  constructor(private readonly limit = 500) {}

  get size(): number {
    return this.#ops.size;
  }

  get(id: string): Operation | undefined {
    return this.#ops.get(id);
  }

  /** Keeps `op` unless a state with the same or a higher revision is already held. */
  merge(op: Operation): MergeOutcome {
    const previous = this.#ops.get(op.id);
    if (previous && previous.revision >= op.revision) return { kind: 'stale' };
    this.#ops.set(op.id, op);
    if (this.#ops.size > this.limit) this.#dropOldest();
    return previous ? { kind: 'updated', op, previous } : { kind: 'added', op };
  }

  clear(): void {
    this.#ops.clear();
  }

  /** Newest first (by `createdAt`, then id for a stable order). */
  sorted(): Operation[] {
    return [...this.#ops.values()].sort(
      (a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id),
    );
  }

  /** Every kind held, sorted. */
  kinds(): string[] {
    return [...new Set([...this.#ops.values()].map((op) => op.kind))].sort();
  }

  #dropOldest(): void {
    const oldest = this.sorted().slice(this.limit);
    for (const op of oldest) this.#ops.delete(op.id);
  }
}
