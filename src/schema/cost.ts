import { LIMITS } from '../operations/service.js';

/**
 * What fields cost, as the complexity plugin adds it up before a request executes: every field
 * costs 1, a write costs `COST.write`, and the selection under a paged field counts once per
 * item it can return. `edges` is not multiplied again: its length is its connection's page.
 * Costs read numbers only, never strings: transport/cost-limit.ts measures once for all requests
 * of a document that differ only in string values.
 */
export const COST = {
  /** A mutation: one write transaction and a published event. */
  write: 10,
  /** A token signed after one read (createWatchToken): no write, no event. */
  grant: 2,
} as const;

/** The page size a `first`/`last` pair asks for: the default when absent, within 0..max. */
function pageSize(first: number | null | undefined, last: number | null | undefined): number {
  const asked = first ?? last ?? LIMITS.defaultPageSize;
  // Beyond the maximum the resolver refuses with BAD_USER_INPUT, so it never reads more.
  return Math.min(Math.max(asked, 0), LIMITS.maxPageSize);
}

/** The cost of a connection field: 1, plus its selection once per item of the page it asks for. */
export function pageCost(args: { readonly first?: number | null; readonly last?: number | null }): {
  field: number;
  multiplier: number;
} {
  return { field: 1, multiplier: pageSize(args.first, args.last) };
}
