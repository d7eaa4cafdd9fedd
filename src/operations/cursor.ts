import type { PageKey } from './ports.js';

const PREFIX = 'op:';
const RAW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An opaque, stable pagination cursor for a position in the newest-first order. */
export function encodeCursor(key: PageKey): string {
  return Buffer.from(`${PREFIX}${key.createdAt.getTime()}:${key.id}`, 'utf8').toString('base64url');
}

/** The position a cursor names, or null when it is not one of ours. */
export function decodeCursor(cursor: string): PageKey | null {
  if (cursor.length > 200) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return null;
  const [millis, id, ...rest] = text.slice(PREFIX.length).split(':');
  if (rest.length > 0 || millis === undefined || id === undefined) return null;
  if (!/^\d{1,15}$/.test(millis) || !RAW_ID.test(id)) return null;
  return { createdAt: new Date(Number(millis)), id };
}

/** True when `id` has the shape of a raw operation id. */
export function isRawOperationId(id: string): boolean {
  return RAW_ID.test(id);
}

const EVENT_PREFIX = 'ev:';

/** An opaque cursor for a position in an operation's transition log. */
export function encodeEventCursor(revision: number): string {
  return Buffer.from(`${EVENT_PREFIX}${revision}`, 'utf8').toString('base64url');
}

/** The revision an event cursor names, or null when it is not one of ours. */
export function decodeEventCursor(cursor: string): number | null {
  if (cursor.length > 40) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(EVENT_PREFIX)) return null;
  const digits = text.slice(EVENT_PREFIX.length);
  return /^\d{1,9}$/.test(digits) ? Number(digits) : null;
}
