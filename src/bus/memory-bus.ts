import type { BusEvents, BusListener, EventBus } from '../operations/ports.js';

type AnyListener = (event: unknown) => void;

/** The in-process event bus: synchronous delivery, in publish order, to every live listener. */
export function createMemoryBus(onListenerError: (error: unknown) => void): EventBus {
  const listeners = new Map<keyof BusEvents, Set<AnyListener>>();
  return {
    async publish(topic, event) {
      const set = listeners.get(topic);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          listener(event);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    async subscribe<K extends keyof BusEvents>(
      topic: K,
      listener: BusListener<K>,
      signal: AbortSignal,
    ) {
      if (signal.aborted) return;
      let set = listeners.get(topic);
      if (!set) {
        set = new Set();
        listeners.set(topic, set);
      }
      const entry = listener as AnyListener;
      set.add(entry);
      signal.addEventListener('abort', () => set.delete(entry), { once: true });
    },
    onResync() {},
    async ping() {},
    async close() {
      listeners.clear();
    },
  };
}
