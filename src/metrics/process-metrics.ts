import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | null = null;

/**
 * prom-client's default metrics (CPU, memory, event loop lag, GC, handles), in a registry of
 * their own made on first use. They describe the process, so every app in it shares one:
 * collecting them once per app would start an event loop monitor and a GC observer per app.
 */
export function processRegistry(): Registry {
  if (registry === null) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
