import type { OperationRecord } from '../operations/model.js';
import type { BusEvents, BusScope } from '../operations/ports.js';

/**
 * The channel, before any prefix, of one scope of a topic. Everything of a topic keeps the
 * topic's own name; an operation's or an owner's share is named after it.
 */
export function channelOf(topic: keyof BusEvents, scope: BusScope): string {
  if ('operation' in scope) return `${topic}:operation:${scope.operation}`;
  if ('owner' in scope) return `${topic}:owner:${scope.owner}`;
  return topic;
}

/** Every channel an event is published on, as `BusEvents` says who hears it. */
export function channelsOf<K extends keyof BusEvents>(topic: K, event: BusEvents[K]): string[] {
  switch (topic) {
    case 'operation.changed': {
      const record = event as OperationRecord;
      return [
        channelOf(topic, { operation: record.id }),
        channelOf(topic, { owner: record.ownerId }),
        topic,
      ];
    }
    case 'operation.cancel':
      return [channelOf(topic, { operation: (event as BusEvents['operation.cancel']).id })];
    default:
      return [topic];
  }
}

/** A fresh set of counters for `BusCounts.received`. */
export function zeroCounts(): { -readonly [K in keyof BusEvents]: number } {
  return { 'operation.changed': 0, 'operation.cancel': 0, 'operation.pending': 0 };
}
