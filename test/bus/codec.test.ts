import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../../src/bus/codec.js';
import { fullRecord, minimalRecord } from './records.js';

const DATE_FIELDS = [
  'createdAt',
  'updatedAt',
  'startedAt',
  'finishedAt',
  'cancelRequestedAt',
] as const;

function changed(text: string) {
  return decodeEvent('operation.changed', text);
}

/** The full record as JSON, with `edit` applied to the plain object first. */
function edited(edit: (o: Record<string, unknown>) => void): string {
  const o = JSON.parse(encodeEvent('operation.changed', fullRecord())) as Record<string, unknown>;
  edit(o);
  return JSON.stringify(o);
}

describe('bus codec', () => {
  it('round-trips a record with every Date field as Date objects', () => {
    const record = fullRecord();
    const decoded = changed(encodeEvent('operation.changed', record));
    expect(decoded).toEqual(record);
    for (const field of DATE_FIELDS) expect(decoded?.[field]).toBeInstanceOf(Date);
    expect(decoded?.lease?.expiresAt).toBeInstanceOf(Date);
  });

  it('round-trips a fresh record whose nullable fields are null', () => {
    const record = minimalRecord();
    expect(changed(encodeEvent('operation.changed', record))).toEqual(record);
  });

  it('round-trips a cancel request', () => {
    const text = encodeEvent('operation.cancel', { id: 'abc' });
    expect(decodeEvent('operation.cancel', text)).toEqual({ id: 'abc' });
  });

  it('drops unknown fields and reads absent nullable fields as null', () => {
    const decoded = changed(
      edited((o) => {
        o.extra = 'from a newer publisher';
        delete o.lease;
        delete o.result;
        delete o.finishedAt;
      }),
    );
    expect(decoded).toEqual(fullRecord({ lease: null, result: null, finishedAt: null }));
    expect(decoded).not.toHaveProperty('extra');
  });

  it.each([
    ['not JSON', 'not json'],
    ['empty', ''],
    ['JSON null', 'null'],
    ['an array', '[1,2]'],
    ['a number', '42'],
    ['a string', '"operation"'],
    ['a missing id', edited((o) => delete o.id)],
    ['a numeric id', edited((o) => (o.id = 7))],
    ['an unknown status', edited((o) => (o.status = 'EXPLODED'))],
    ['a lower-case status', edited((o) => (o.status = 'running'))],
    ['a missing createdAt', edited((o) => delete o.createdAt)],
    ['a non-ISO date', edited((o) => (o.updatedAt = '1'))],
    ['an impossible date', edited((o) => (o.startedAt = '2024-13-45T99:99:99.000Z'))],
    ['a numeric date', edited((o) => (o.createdAt = 1714557600000))],
    ['a zero revision', edited((o) => (o.revision = 0))],
    ['a fractional revision', edited((o) => (o.revision = 1.5))],
    ['a string revision', edited((o) => (o.revision = '4'))],
    ['a string progress', edited((o) => (o.progress = '0.5'))],
    ['a lease without expiry', edited((o) => (o.lease = { owner: 'x' }))],
    ['a lease with a bad expiry', edited((o) => (o.lease = { owner: 'x', expiresAt: 'soon' }))],
    ['an unknown error code', edited((o) => (o.error = { code: 'OOPS', message: 'x' }))],
    ['an error that is a string', edited((o) => (o.error = 'boom'))],
  ])('returns null for an operation.changed message with %s', (_what, text) => {
    expect(changed(text)).toBeNull();
  });

  it.each([
    ['not JSON', '{'],
    ['no id', '{}'],
    ['a numeric id', '{"id":1}'],
    ['null', 'null'],
  ])('returns null for an operation.cancel message with %s', (_what, text) => {
    expect(decodeEvent('operation.cancel', text)).toBeNull();
  });
});
