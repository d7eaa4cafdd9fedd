import type { Handler } from './handler.js';

/** The handlers one process knows, by kind. */
export interface HandlerRegistry {
  /** Adds a handler; throws when its kind is already registered. */
  register(handler: Handler<never, never> | Handler): void;
  /** The handler of `kind`, or undefined. */
  get(kind: string): Handler | undefined;
  /** The registered kinds, in registration order. */
  kinds(): string[];
}

/** A registry holding `handlers` to begin with. */
export function createRegistry(handlers: readonly Handler[] = []): HandlerRegistry {
  const byKind = new Map<string, Handler>();
  const registry: HandlerRegistry = {
    register(handler) {
      const h = handler as Handler;
      if (typeof h.kind !== 'string' || h.kind.trim() === '') {
        throw new Error('A handler needs a non-empty kind.');
      }
      if (byKind.has(h.kind)) throw new Error(`Kind "${h.kind}" is already registered.`);
      byKind.set(h.kind, h);
    },
    get: (kind) => byKind.get(kind),
    kinds: () => [...byKind.keys()],
  };
  for (const handler of handlers) registry.register(handler);
  return registry;
}
