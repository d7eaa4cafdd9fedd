import { WAIT_MS } from './wait.js';

/** A queue of events a test awaits one by one; every wait is bounded and says what it waited for. */
export class EventQueue<T> {
  private readonly items: T[] = [];
  private waiters: Array<() => void> = [];
  private ended = false;
  private failure: unknown = null;

  push(item: T): void {
    this.items.push(item);
    this.wakeAll();
  }

  end(error?: unknown): void {
    this.ended = true;
    if (error !== undefined) this.failure = error;
    this.wakeAll();
  }

  get isEnded(): boolean {
    return this.ended && this.items.length === 0;
  }

  get error(): unknown {
    return this.failure;
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async wait(timeoutMs: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push(resolve);
      timer = setTimeout(
        () => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
    }).finally(() => clearTimeout(timer));
  }

  /** The next item; rejects when the stream ended first or nothing came in time. */
  async next(timeoutMs = WAIT_MS): Promise<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      if (this.ended) {
        throw new Error(`The stream ended${this.failure ? ` with ${describe(this.failure)}` : ''}`);
      }
      await this.wait(timeoutMs, 'the next event');
    }
  }

  /** Reads until an item matches (inclusive); returns everything read. */
  async until(match: (item: T) => boolean, timeoutMs = WAIT_MS): Promise<T[]> {
    const seen: T[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = await this.next(Math.max(1, deadline - Date.now()));
      seen.push(item);
      if (match(item)) return seen;
    }
  }

  /** Everything until the stream ends. */
  async rest(timeoutMs = WAIT_MS): Promise<T[]> {
    const seen: T[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        seen.push(item);
        continue;
      }
      if (this.ended) return seen;
      await this.wait(Math.max(1, deadline - Date.now()), 'the end of the stream');
    }
  }

  /** Resolves once the stream has ended (items may remain unread). */
  async waitEnd(timeoutMs = WAIT_MS): Promise<void> {
    while (!this.ended) await this.wait(timeoutMs, 'the end of the stream');
  }

  /** Items received and not yet read. */
  drain(): T[] {
    return this.items.splice(0);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
