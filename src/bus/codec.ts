import type { JsonValue, Lease, OperationFailure, OperationRecord } from '../operations/model.js';
import type { BusEvents } from '../operations/ports.js';
import { ALL_STATUSES, OperationErrorCode, type OperationStatus } from '../operations/status.js';

type Decoder<K extends keyof BusEvents> = (value: unknown) => BusEvents[K] | null;

/** What `Date#toJSON` writes; anything else (`"1"`, `"May 5"`) is not one of our timestamps. */
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const STATUSES: ReadonlySet<unknown> = new Set(ALL_STATUSES);
const ERROR_CODES: ReadonlySet<unknown> = new Set(Object.values(OperationErrorCode));

/** Thrown inside a decoder to reject the whole message; never escapes `decodeEvent`. */
class Malformed extends Error {
  override readonly name = 'Malformed';
}

/**
 * Writes one bus event as a JSON string. Dates become ISO-8601 strings (`Date#toJSON`), which
 * `decodeEvent` turns back into `Date` objects.
 */
export function encodeEvent<K extends keyof BusEvents>(_topic: K, event: BusEvents[K]): string {
  return JSON.stringify(event);
}

/**
 * Reads what `encodeEvent` wrote for `topic`, or returns `null` for anything else: not JSON, a
 * missing or mistyped field, an unknown status, a timestamp that is not ISO-8601. Messages come
 * from whoever can publish on the channel, so this never throws. Unknown fields are dropped;
 * a nullable field that is absent reads as `null`.
 */
export function decodeEvent<K extends keyof BusEvents>(
  topic: K,
  text: string,
): BusEvents[K] | null {
  const decode: Decoder<K> = DECODERS[topic];
  try {
    return decode(JSON.parse(text));
  } catch {
    // SyntaxError from JSON.parse, or Malformed from a field check.
    return null;
  }
}

const DECODERS: { readonly [K in keyof BusEvents]: Decoder<K> } = {
  'operation.changed': (value) => decodeRecord(object(value)),
  'operation.cancel': (value) => ({ id: text(object(value).id) }),
  'operation.pending': (value) => ({ id: text(object(value).id) }),
};

function decodeRecord(o: Record<string, unknown>): OperationRecord {
  return {
    id: text(o.id),
    kind: text(o.kind),
    status: status(o.status),
    progress: nullable(o.progress, finite),
    message: nullable(o.message, text),
    ownerId: text(o.ownerId),
    input: json(o.input),
    result: json(o.result),
    error: nullable(o.error, failure),
    idempotencyKey: nullable(o.idempotencyKey, text),
    timeoutMs: nullable(o.timeoutMs, finite),
    retryOf: nullable(o.retryOf, text),
    createdAt: date(o.createdAt),
    updatedAt: date(o.updatedAt),
    startedAt: nullable(o.startedAt, date),
    finishedAt: nullable(o.finishedAt, date),
    cancelRequestedAt: nullable(o.cancelRequestedAt, date),
    cancelledBy: nullable(o.cancelledBy, text),
    cancelReason: nullable(o.cancelReason, text),
    revision: revision(o.revision),
    lease: nullable(o.lease, lease),
  };
}

function object(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Malformed();
  return value as Record<string, unknown>;
}

function nullable<T>(value: unknown, read: (value: unknown) => T): T | null {
  return value === null || value === undefined ? null : read(value);
}

function text(value: unknown): string {
  if (typeof value !== 'string') throw new Malformed();
  return value;
}

function finite(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Malformed();
  return value;
}

function revision(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new Malformed();
  return value as number;
}

function status(value: unknown): OperationStatus {
  if (!STATUSES.has(value)) throw new Malformed();
  return value as OperationStatus;
}

function date(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_TIMESTAMP.test(value)) throw new Malformed();
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new Malformed();
  return at;
}

/** Input and result are whatever JSON the handler chose; JSON.parse only yields JSON values. */
function json(value: unknown): JsonValue {
  return value === undefined ? null : (value as JsonValue);
}

function failure(value: unknown): OperationFailure {
  const o = object(value);
  if (!ERROR_CODES.has(o.code)) throw new Malformed();
  return { code: o.code as OperationFailure['code'], message: text(o.message) };
}

function lease(value: unknown): Lease {
  const o = object(value);
  return { owner: text(o.owner), expiresAt: date(o.expiresAt) };
}
