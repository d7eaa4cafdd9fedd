/**
 * A push-to-pull queue: producers `push`, `end` or `fail`; one consumer iterates. `return()` (a
 * `break` out of `for await`) runs `onReturn` once, so the producer can let go of its source.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  #ended = false;
  #failure: { error: unknown } | null = null;

  constructor(private readonly onReturn: () => void) {}

  /** False once the channel has ended (by the producer or the consumer). */
  get open(): boolean {
    return !this.#ended && this.#failure === null;
  }

  push(item: T): void {
    if (!this.open) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = null;
      waiting.resolve({ value: item, done: false });
    } else this.#items.push(item);
  }

  end(): void {
    if (!this.open) return;
    this.#ended = true;
    this.#settleWaiting();
  }

  fail(error: unknown): void {
    if (!this.open) return;
    this.#failure = { error };
    this.#settleWaiting();
  }

  #settleWaiting(): void {
    const waiting = this.#waiting;
    if (!waiting || this.#items.length > 0) return;
    this.#waiting = null;
    if (this.#failure) {
      const { error } = this.#failure;
      this.#failure = null;
      this.#ended = true;
      waiting.reject(error);
    } else waiting.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#failure) {
      const { error } = this.#failure;
      this.#failure = null;
      this.#ended = true;
      return Promise.reject(error);
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    const wasOpen = this.open;
    this.#items.length = 0;
    this.#failure = null;
    this.#ended = true;
    this.#settleWaiting();
    if (wasOpen) this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
