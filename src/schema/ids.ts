import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { isRawOperationId } from '../operations/cursor.js';

/** The GraphQL type name inside operation global IDs. */
export const OPERATION_TYPENAME = 'Operation';

/**
 * The raw operation id inside a Relay global ID, or the raw id itself; null for anything else.
 * Never throws: malformed IDs are answered as missing operations.
 */
export function parseOperationId(value: string): string | null {
  if (isRawOperationId(value)) return value;
  if (value.length > 200) return null;
  try {
    const { typename, id } = decodeGlobalID(value);
    return typename === OPERATION_TYPENAME && isRawOperationId(id) ? id : null;
  } catch {
    return null;
  }
}

/** The Relay global ID of an operation. */
export function toGlobalId(rawId: string): string {
  return encodeGlobalID(OPERATION_TYPENAME, rawId);
}
