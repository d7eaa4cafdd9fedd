/**
 * Runs `task` on demand, never two at once: a call while it runs asks for one more pass after it,
 * however many calls came in meanwhile. Failures go to `onError`.
 */
export class Coalesced {
  #running = false;
  #again = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly stopped: () => boolean = () => false,
  ) {}

  /** Resolves when the passes it started are done; a call that only asks for another pass resolves at once. */
  async run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#again = false;
        await this.task();
      } while (this.#again && !this.stopped());
    } catch (error) {
      this.onError(error);
    } finally {
      this.#running = false;
    }
  }
}
