/**
 * Apollo Client cache settings for longrun, as plain data and functions (no Apollo or graphql
 * import), for `new InMemoryCache({ possibleTypes, typePolicies: operationTypePolicies })`.
 */
import generated from './generated/possible-types.js';

/**
 * The members of every union and interface of the schema. Without them Apollo's cache cannot
 * tell that a `ValidationError` is an `Error` or an `Operation` a `Node`, and silently drops the
 * fields of `... on Error { message }` and `... on Node { id }`.
 */
export const possibleTypes: Record<string, string[]> = generated.possibleTypes;

/** A normalized reference in Apollo's cache. */
interface CacheReference {
  readonly __ref: string;
}

/** What Apollo hands `keyFields` (a subset of its `KeyFieldsContext`). */
interface KeyContext {
  readonly readField?: (field: string, from: CacheReference) => unknown;
}

/** What Apollo hands a type policy's `merge` (a subset of its `FieldFunctionOptions`). */
interface MergeOptions {
  readField(field: string, from: unknown): unknown;
  toReference(object: { __typename: string; id: string }): CacheReference | undefined;
}

const OPERATION = 'Operation';

/** The cache id of an operation: every write of its current state goes there. */
function operationCacheId(id: unknown): string {
  return `${OPERATION}:${String(id)}`;
}

/**
 * Apollo Client `typePolicies` under which the cache keeps, per operation, the state with the
 * highest `revision`: a state older than the cached one (a cancel's answer, CANCELLING, arriving
 * after the subscription already delivered CANCELLED) is written aside instead of over it, and
 * every field that pointed at it points at the current state. Select `revision` wherever an
 * Operation is read (the client's `OperationFields` fragment does); states without it are
 * written as they come. The set-aside states are unreachable and go with `cache.gc()`.
 */
export const operationTypePolicies = {
  [OPERATION]: {
    keyFields(object: Readonly<Record<string, unknown>>, context: KeyContext): string {
      const current = operationCacheId(object.id);
      const incoming = object.revision;
      if (typeof incoming !== 'number' || context.readField === undefined) return current;
      const cached = context.readField('revision', { __ref: current });
      return typeof cached === 'number' && cached > incoming ? `${current}@${incoming}` : current;
    },
    merge(_existing: unknown, incoming: unknown, options: MergeOptions): unknown {
      const id = options.readField('id', incoming);
      if (typeof id !== 'string') return incoming;
      return options.toReference({ __typename: OPERATION, id }) ?? incoming;
    },
  },
};
