import type { OperationRecord } from '../../src/operations/model.js';
import { OperationErrorCode, OperationStatus } from '../../src/operations/status.js';
import { create } from '../../src/operations/transitions.js';

/** A record with every Date field set (and a lease), so round trips exercise each of them. */
export function fullRecord(overrides: Partial<OperationRecord> = {}): OperationRecord {
  return {
    id: '6f0c1a52-5d0b-4c3e-9a55-6a1f2f6bd0a1',
    kind: 'demo.sleep',
    status: OperationStatus.Cancelling,
    progress: 0.5,
    message: 'step 1 of 2',
    ownerId: 'alice',
    input: { ms: 1000, nested: [1, 'two', null, { three: true }] },
    result: null,
    error: { code: OperationErrorCode.Cancelled, message: 'no longer needed' },
    idempotencyKey: 'key-1',
    timeoutMs: 60_000,
    retryOf: '3b2d9c1e-7f4a-4e6b-8c0d-5a9e1f2b3c4d',
    createdAt: new Date('2024-05-01T10:00:00.000Z'),
    updatedAt: new Date('2024-05-01T10:00:03.250Z'),
    startedAt: new Date('2024-05-01T10:00:00.125Z'),
    finishedAt: new Date('2024-05-01T10:00:04.000Z'),
    cancelRequestedAt: new Date('2024-05-01T10:00:03.000Z'),
    cancelledBy: 'bob',
    cancelReason: 'no longer needed',
    revision: 4,
    lease: { owner: 'host:123:abcd', expiresAt: new Date('2024-05-01T10:00:33.000Z') },
    ...overrides,
  };
}

/** A freshly created record (what `create` makes): every nullable field null. */
export function minimalRecord(overrides: Partial<OperationRecord> = {}): OperationRecord {
  return {
    ...create(
      {
        id: 'e1d3f0b4-1d65-4f55-8a3e-0c1e8a9a7c11',
        kind: 'demo.sleep',
        ownerId: 'alice',
        input: null,
        idempotencyKey: null,
        timeoutMs: null,
        retryOf: null,
      },
      new Date('2024-05-01T10:00:00.000Z'),
    ),
    ...overrides,
  };
}
