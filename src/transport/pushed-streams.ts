import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * Subscription streams by the root value of their execution, as the last plugin saw them.
 * envelop wraps each stream once more, in a layer that runs its per-event hooks; the only one
 * this server has is yoga's masking, and shared execution masks every result itself
 * (`useSharedSubscriptionExecution`). So the WebSocket edge, whose root value is its own object
 * per subscription, reads the stream under that layer and lets it push (`operations/push.ts`):
 * no promise per layer and per event. A plugin that needs a per-event hook must wrap the stream
 * itself (`setResult`), before this one, as the expiry cutoff does.
 */
const streams = new WeakMap<object, AsyncIterable<ExecutionResult>>();

const exposeStream = {
  onSubscribeResult({ args, result }: { args: { rootValue?: unknown }; result: unknown }) {
    const root = args.rootValue;
    if (typeof root === 'object' && root !== null && isAsyncIterable(result)) {
      streams.set(root, result as AsyncIterable<ExecutionResult>);
    }
  },
};

/** Keeps each subscription's stream for `streamUnder`; registered after every other plugin. */
export function useExposedStreams(): Plugin {
  return {
    // One hooks object for every subscription: envelop keeps a subscription's hooks for its life.
    onSubscribe: () => exposeStream,
  };
}

/** The stream of the subscription whose root value is `root`, once; null when there is none. */
export function streamUnder(root: object): AsyncIterable<ExecutionResult> | null {
  const stream = streams.get(root) ?? null;
  streams.delete(root);
  return stream;
}
