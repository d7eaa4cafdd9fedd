import { GraphQLError } from 'graphql';
import { ErrorCode } from '../schema/codes.js';

/** A place taken under a cap; giving it back twice is harmless. */
export interface Slot {
  release(): void;
}

/** How much of the caps one user (or everyone) holds right now. */
export interface SubscriberUsage {
  /** Open, authenticated WebSocket connections. */
  readonly sockets: number;
  /** Live subscriptions over WebSocket and SSE together. */
  readonly subscriptions: number;
}

/** The caps, from `MAX_SOCKETS_PER_USER` and `MAX_SUBSCRIPTIONS_PER_USER`. */
export interface SubscriberCaps {
  readonly maxSocketsPerUser: number;
  readonly maxSubscriptionsPerUser: number;
}

/** Which cap refused. */
export type UserCap = 'sockets_per_user' | 'subscriptions_per_user';

/** One counter per user, dropped when it falls back to 0 so idle users cost nothing. */
class PerUser {
  private readonly counts = new Map<string, number>();
  total = 0;

  constructor(
    private readonly max: number,
    private readonly onRefused: () => void,
  ) {}

  take(userId: string): boolean {
    const held = this.counts.get(userId) ?? 0;
    if (held >= this.max) {
      this.onRefused();
      return false;
    }
    this.counts.set(userId, held + 1);
    this.total++;
    return true;
  }

  give(userId: string): void {
    this.total--;
    const left = (this.counts.get(userId) ?? 1) - 1;
    if (left === 0) this.counts.delete(userId);
    else this.counts.set(userId, left);
  }

  of(userId: string): number {
    return this.counts.get(userId) ?? 0;
  }
}

/**
 * A place taken from a `PerUser` counter; with `until`, given back at the latest when it aborts
 * (the slot is its listener: `handleEvent`). A class rather than closures: every idle socket and
 * subscription holds one.
 */
class HeldSlot implements Slot {
  #released = false;

  constructor(
    private readonly counter: PerUser,
    private readonly userId: string,
    private readonly until: AbortSignal | null,
  ) {
    until?.addEventListener('abort', this, { once: true });
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.until?.removeEventListener('abort', this);
    this.counter.give(this.userId);
  }

  handleEvent(): void {
    this.release();
  }
}

/**
 * Per-user caps on open WebSocket connections and on live subscriptions (WebSocket and SSE
 * together), counted in this process. A user is a token's `sub`. Every slot is given back when its
 * socket or stream ends, however it ends, so the counts return to 0.
 */
export class SubscriberLimits {
  private readonly sockets: PerUser;
  private readonly subscriptions: PerUser;

  /** `onRefused` hears of every refusal, with the cap that refused. */
  constructor(
    readonly caps: SubscriberCaps,
    onRefused: (cap: UserCap) => void = () => {},
  ) {
    this.sockets = new PerUser(caps.maxSocketsPerUser, () => onRefused('sockets_per_user'));
    this.subscriptions = new PerUser(caps.maxSubscriptionsPerUser, () =>
      onRefused('subscriptions_per_user'),
    );
  }

  /** A connection slot for `userId`, or null when the user holds the most allowed. */
  openSocket(userId: string): Slot | null {
    return this.sockets.take(userId) ? new HeldSlot(this.sockets, userId, null) : null;
  }

  /**
   * A subscription slot for `userId`, given back at the latest when `until` aborts (the request or
   * socket ended); null when the user holds the most allowed.
   */
  openSubscription(userId: string, until: AbortSignal): Slot | null {
    if (until.aborted || !this.subscriptions.take(userId)) return null;
    return new HeldSlot(this.subscriptions, userId, until);
  }

  /** What `userId` holds, or everyone together when no user is given. */
  usage(userId?: string): SubscriberUsage {
    return userId === undefined
      ? { sockets: this.sockets.total, subscriptions: this.subscriptions.total }
      : { sockets: this.sockets.of(userId), subscriptions: this.subscriptions.of(userId) };
  }
}

/**
 * The refusal of a subscription over the user's cap: an `error` message for its id on WebSocket;
 * with `httpStatus`, the status of the SSE response that carries it.
 */
export function tooManySubscriptions(max: number, httpStatus?: number): GraphQLError {
  return new GraphQLError(`Too many subscriptions: at most ${max} per user may be open at once.`, {
    extensions: {
      code: ErrorCode.TooManySubscriptions,
      ...(httpStatus === undefined ? {} : { http: { status: httpStatus } }),
    },
  });
}

/**
 * `source` as an async generator that gives `slot` back once it ends: run to completion, failed,
 * or returned early (a client's `complete`, a closed socket), even before its first `next`.
 */
export function holdWhileOpen<T>(source: AsyncIterable<T>, slot: Slot): AsyncGenerator<T> {
  return new HeldStream(source[Symbol.asyncIterator](), slot);
}

/** `holdWhileOpen`'s generator: a class, so an idle stream holds one small object. */
class HeldStream<T> implements AsyncGenerator<T> {
  readonly #iterator: AsyncIterator<T>;
  readonly #slot: Slot;

  constructor(iterator: AsyncIterator<T>, slot: Slot) {
    this.#iterator = iterator;
    this.#slot = slot;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#iterator.next().then(
      (result) => {
        if (result.done) this.#slot.release();
        return result;
      },
      (error: unknown) => {
        this.#slot.release();
        throw error;
      },
    );
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.#slot.release();
    const result = await this.#iterator.return?.(value);
    return result ?? { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    this.#slot.release();
    if (this.#iterator.throw) return this.#iterator.throw(error);
    await this.#iterator.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
