import { randomUUID } from 'node:crypto';

/** A client's `x-request-id` when it is sane, else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[\w.:-]{1,100}$/.test(value) ? value : randomUUID();
}
