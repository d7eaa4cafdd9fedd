import { randomFillSync } from 'node:crypto';

let lastMillis = 0;
let sequence = 0;

/**
 * Random bytes taken 16 at a time, refilled when used up: one call into the CSPRNG per 256 ids
 * rather than one per id (as `randomUUID` does).
 */
const pool = Buffer.alloc(4096);
let taken = pool.length;

function sixteenRandomBytes(): Buffer {
  if (taken + 16 > pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const bytes = pool.subarray(taken, taken + 16);
  taken += 16;
  return bytes;
}

/**
 * A new raw operation id: a UUIDv7 (RFC 9562) whose 12-bit `rand_a` field is a per-process
 * sequence, so ids made in the same millisecond still sort in creation order and "newest first"
 * and "oldest first" never depend on chance.
 */
export function newOperationId(now: number = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    // 4096 ids in one millisecond: borrow the next millisecond, as RFC 9562 §6.2 allows.
    lastMillis++;
    sequence = 0;
  }
  const bytes = sixteenRandomBytes();
  bytes.writeUIntBE(lastMillis, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The millisecond an id was made in (its UUIDv7 timestamp). */
export function idMillis(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
