/**
 * A stream's second way out: instead of being asked for each item (`next`, one promise per item
 * and per layer), it hands each one to a sink as it comes. A layer of a pipeline pushes when the
 * layer under it does, transforming as it passes items on; a layer that only pulls ends push
 * mode for everything above it, which then reads with `next` as before.
 */
export interface Sink<T> {
  /** Takes the next item; false when it cannot take another yet (the stream waits for `resume`). */
  onItem(item: T): boolean;
  /** The stream ended after its last item. */
  onEnd(): void;
  /** The stream failed; nothing follows. */
  onError(error: unknown): void;
}

/** A stream in push mode: its sink resumes it after refusing an item. */
export interface Pushing {
  resume(): void;
}

/** The method of a stream that can push. */
export const PUSH: unique symbol = Symbol('push');

/**
 * A stream that can push: `[PUSH](sink)` hands it every item from now on, or returns null when
 * it cannot (nothing was taken; read it with `next`). Once pushing, `next` is not called.
 */
export interface Pushable<T> {
  [PUSH](sink: Sink<T>): Pushing | null;
}

/** Puts `source` in push mode towards `sink` when it can push; null when it cannot. */
export function pushFrom<T>(source: unknown, sink: Sink<T>): Pushing | null {
  const push = (source as Partial<Pushable<T>> | null | undefined)?.[PUSH];
  return typeof push === 'function' ? push.call(source, sink) : null;
}
