import type { Op } from './clients.js';

/**
 * How long a test waits by default for something that should happen: far longer than it takes on
 * an idle machine, so that a 2-core machine busy with other work still gets there. Only a failing
 * test ever waits this long.
 */
export const WAIT_MS = 30_000;

/** Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = WAIT_MS,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Settles as `promise` does, or rejects once `ms` pass, naming `what` it waited for. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls an operation until it is done and returns that final state (`what` names the wait). */
export async function doneState(
  client: { get(id: string): Promise<Op | null> },
  id: string,
  what = `operation ${id} to end`,
): Promise<Op> {
  return waitFor(async () => {
    const op = await client.get(id);
    return op?.done ? op : null;
  }, what);
}
