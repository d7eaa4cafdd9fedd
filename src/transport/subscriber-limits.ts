import { GraphQLError } from 'graphql';
import { returnThis } from '../operations/self-iterator.js';
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

  take(userId: string): Slot | null {
    const held = this.counts.get(userId) ?? 0;
    if (held >= this.max) {
      this.onRefused();
      return null;
    }
    this.counts.set(userId, held + 1);
    this.total++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.counts.get(userId) ?? 1) - 1;
        if (left === 0) this.counts.delete(userId);
        else this.counts.set(userId, left);
      },
    };
  }

  of(userId: string): number {
    return this.counts.get(userId) ?? 0;
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
    return this.sockets.take(userId);
  }

  /**
   * A subscription slot for `userId`, given back at the latest when `until` aborts (the request or
   * socket ended); null when the user holds the most allowed.
   */
  openSubscription(userId: string, until: AbortSignal): Slot | null {
    if (until.aborted) return null;
    const slot = this.subscriptions.take(userId);
    if (slot === null) return null;
    const release = () => {
      until.removeEventListener('abort', release);
      slot.release();
    };
    until.addEventListener('abort', release, { once: true });
    return { release };
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
  const iterator = source[Symbol.asyncIterator]();
  const settle = (result: IteratorResult<T>) => {
    if (result.done) slot.release();
    return result;
  };
  const fail = (error: unknown): never => {
    slot.release();
    throw error;
  };
  const generator: AsyncGenerator<T> = {
    next: () => iterator.next().then(settle, fail),
    async return(value?: unknown) {
      slot.release();
      const result = await iterator.return?.(value);
      return result ?? { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      slot.release();
      if (iterator.throw) return iterator.throw(error);
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]: returnThis,
  };
  return generator;
}
