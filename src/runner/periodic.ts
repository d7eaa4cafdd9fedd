/**
 * Runs `task` every `ms` milliseconds, never two at once: the next run is scheduled when the last
 * one settles, so a slow database cannot pile runs up. Failures go to `onError`; the timer does
 * not keep the process alive. Returns a function that stops it.
 */
export function periodic(
  ms: number,
  task: () => Promise<unknown>,
  onError: (error: unknown) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      task().catch(onError).finally(schedule);
    }, ms);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
