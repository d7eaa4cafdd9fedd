import { createComplexityRule } from '@pothos/plugin-complexity';
import {
  type DocumentNode,
  type ExecutionArgs,
  GraphQLError,
  type GraphQLSchema,
  validate,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { costLimitExceeded } from '../schema/codes.js';
import type { ServerContext } from './yoga.js';

/** One request as it is about to execute: a validated document and the variables sent with it. */
export interface CostedRequest {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly variables: Readonly<Record<string, unknown>> | null | undefined;
  readonly operationName: string | null | undefined;
}

/**
 * What the request would cost, from the field costs declared in the schema (schema/cost.ts) with
 * its variables applied; null when it cannot be measured (variables that do not coerce, an
 * unknown operation name), which execution then refuses before any resolver runs. Without an
 * operation name every operation is measured and the dearest counts.
 */
export function measureCost(request: CostedRequest): number | null {
  let bySchema = measured.get(request.schema);
  if (bySchema === undefined) {
    bySchema = new WeakMap();
    measured.set(request.schema, bySchema);
  }
  let byRequest = bySchema.get(request.document);
  if (byRequest === undefined) {
    byRequest = new Map();
    bySchema.set(request.document, byRequest);
  }
  const key = cacheKey(request);
  if (key === null) return measureAfresh(request);
  const known = byRequest.get(key);
  if (known !== undefined) return known;
  const cost = measureAfresh(request);
  // Not measurable (variables that do not coerce, say an unknown enum value) is not remembered:
  // another string in the same place may coerce, and then its cost counts.
  if (cost === null) return cost;
  if (byRequest.size >= MAX_MEASURED_PER_DOCUMENT) byRequest.clear();
  byRequest.set(key, cost);
  return cost;
}

/**
 * Costs already measured, per schema, document and (operation name, variables): the same
 * subscription from a thousand sockets, or the same start from a script, is measured once. The
 * parser cache hands out one document object per query text, and an entry goes with its document.
 */
const measured = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, number>>>();
const MAX_MEASURED_PER_DOCUMENT = 100;
/** Variables longer than this as JSON (a large input, say) are measured afresh, not remembered. */
const MAX_KEY_LENGTH = 1024;

/**
 * The cache key of `request`'s operation name and variables, or null when they are not worth
 * keeping (longer than MAX_KEY_LENGTH) or cannot be written as JSON (nested deeper than the
 * stack allows: they are refused later with a ValidationError, and must not fail here). String
 * values are left out: field costs read only page sizes (numbers, schema/cost.ts), so the
 * cancels of a thousand operations, each with its own id, share one entry.
 */
function cacheKey(request: CostedRequest): string | null {
  try {
    const variables = JSON.stringify(request.variables ?? null, withoutStrings);
    const key = `${request.operationName ?? ''}\n${variables}`;
    return key.length <= MAX_KEY_LENGTH ? key : null;
  } catch {
    return null;
  }
}

function withoutStrings(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? '' : value;
}

function measureAfresh(request: CostedRequest): number | null {
  let cost: number | null = null;
  // Only this rule runs: the document was validated before. Field costs do not depend on who
  // asks, so no context is passed.
  const rule = createComplexityRule({
    context: {},
    variableValues: { ...request.variables },
    operationName: request.operationName ?? undefined,
    onResult: (result) => {
      cost = Math.max(cost ?? 0, result.complexity);
    },
  });
  validate(request.schema, request.document, [rule]);
  return cost;
}

/** The error refusing `request`, or null when it costs at most `limit`. */
export function costRefusal(request: CostedRequest, limit: number): GraphQLError | null {
  const cost = measureCost(request);
  return cost !== null && cost > limit ? costLimitExceeded(cost, limit) : null;
}

/** The refusal of an HTTP or SSE request about to execute; WebSocket requests pass through. */
function refusalBeforeExecution(args: ExecutionArgs, limit: number): GraphQLError | null {
  // The WebSocket edge measured its subscribe message right after validating it, so that a
  // refusal is an `error` message for that id like any other request error.
  if ((args.contextValue as Partial<ServerContext>).socketViewer !== undefined) return null;
  const error = costRefusal(
    {
      schema: args.schema,
      document: args.document,
      variables: args.variableValues,
      operationName: args.operationName,
    },
    limit,
  );
  // A request error like a validation failure: 400 for `application/graphql-response+json`,
  // 200 for `application/json` (GraphQL over HTTP).
  return (
    error &&
    new GraphQLError(error.message, {
      extensions: { ...error.extensions, http: { status: 400, spec: true } },
    })
  );
}

/**
 * Refuses a request that costs more than `limit` before it executes: no resolver runs, nothing
 * is read or changed. Measured here rather than as a validation rule because yoga caches
 * validation results by document, while the cost depends on the variables too.
 */
export function useCostLimit(limit: number): Plugin<ServerContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusalBeforeExecution(args, limit);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusalBeforeExecution(args, limit);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
