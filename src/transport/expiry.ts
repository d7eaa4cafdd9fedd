/** The longest delay `setTimeout` honours; longer ones fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Calls `fire` at `at` (at once when it has passed), chaining timers past `setTimeout`'s
 * 24.8-day limit. Returns a function that cancels it.
 */
export function at(when: Date, fire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const remaining = when.getTime() - Date.now();
    if (remaining <= 0) {
      fire();
      return;
    }
    timer = setTimeout(arm, Math.min(remaining, MAX_TIMEOUT_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
