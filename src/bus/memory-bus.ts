import type { BusEvents, BusListener, BusScope, EventBus } from '../operations/ports.js';
import { channelOf, channelsOf, zeroCounts } from './channels.js';

type AnyListener = (event: unknown) => void;

/**
 * The in-process event bus: synchronous delivery, in publish order, to every live listener whose
 * scope the event belongs to.
 */
export function createMemoryBus(onListenerError: (error: unknown) => void): EventBus {
  const channels = new Map<string, Set<AnyListener>>();
  const received = zeroCounts();
  return {
    async publish(topic, event) {
      for (const name of channelsOf(topic, event)) {
        const set = channels.get(name);
        if (!set) continue;
        received[topic]++;
        for (const listener of [...set]) {
          try {
            listener(event);
          } catch (error) {
            onListenerError(error);
          }
        }
      }
    },
    async subscribe<K extends keyof BusEvents>(
      topic: K,
      scope: BusScope,
      listener: BusListener<K>,
      signal: AbortSignal,
    ) {
      if (signal.aborted) return;
      const name = channelOf(topic, scope);
      let set = channels.get(name);
      if (!set) {
        set = new Set();
        channels.set(name, set);
      }
      // One entry per call, so the same function subscribed twice is removed once per signal.
      const entry: AnyListener = (event) => listener(event as BusEvents[K]);
      const listeners = set;
      listeners.add(entry);
      signal.addEventListener(
        'abort',
        () => {
          listeners.delete(entry);
          if (listeners.size === 0 && channels.get(name) === listeners) channels.delete(name);
        },
        { once: true },
      );
    },
    onResync() {},
    counts: () => ({ received: { ...received }, malformed: 0 }),
    async ping() {},
    async close() {
      channels.clear();
    },
  };
}
