import { z } from 'zod';
import { defineHandler } from './handler.js';

const DemoSleepInput = z
  .strictObject({
    ms: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(1000)
      .describe('How long to sleep in all, in milliseconds.'),
    steps: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(10)
      .describe('In how many equal steps; progress is reported after each.'),
    ignoreCancel: z
      .boolean()
      .default(false)
      .describe('Keep sleeping after a cancel (to see the cancel grace period at work).'),
    fail: z
      .string()
      .max(1000)
      .nullable()
      .default(null)
      .describe('When a string, fail with this message at the end instead of succeeding.'),
  })
  .nullable()
  .transform((value) => value ?? { ms: 1000, steps: 10, ignoreCancel: false, fail: null });

/**
 * Resolves after `ms`, or rejects with the signal's reason once it aborts (the run's own
 * `RunAborted`, not a new `AbortError` with its stack trace for every cancelled sleep).
 */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/**
 * The built-in `demo.sleep` kind: waits `ms` in `steps` equal steps, reporting progress after
 * each; honours its AbortSignal unless `ignoreCancel`; throws `fail` at the end when it is a string.
 */
export const demoSleep = defineHandler({
  kind: 'demo.sleep',
  description:
    'Sleeps ms milliseconds in equal steps, reporting progress after each, then returns {"slept": ms}; fails at the end when fail is a string.',
  inputSchema: DemoSleepInput,
  exampleInput: { ms: 10_000, steps: 20 },
  async run({ ms, steps, ignoreCancel, fail }, { signal, progress }) {
    const stepSignal = ignoreCancel ? undefined : signal;
    for (let i = 1; i <= steps; i++) {
      await delay(ms / steps, stepSignal);
      await progress(i / steps, `step ${i} of ${steps}`);
    }
    if (fail !== null) throw new Error(fail);
    return { slept: ms };
  },
});
