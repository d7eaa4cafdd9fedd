import { describe, expect, it } from 'vitest';
import { isRawOperationId } from '../../src/operations/cursor.js';
import { idMillis, newOperationId } from '../../src/operations/new-id.js';

describe('newOperationId', () => {
  it('makes UUIDv7 ids that sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newOperationId(2_000_000_000_000));
    expect(new Set(ids).size).toBe(5000);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 10)) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(isRawOperationId(id)).toBe(true);
    }
    // 4096 ids fit in one millisecond's sequence; the rest borrow the next millisecond.
    expect(idMillis(ids[0] as string)).toBe(2_000_000_000_000);
    expect(idMillis(ids[4999] as string)).toBe(2_000_000_000_001);
  });

  it('keeps increasing when the clock does not', () => {
    const later = newOperationId(2_100_000_000_000);
    expect(newOperationId(2_000_000_000_000) > later).toBe(true);
  });
});
