import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  getOperationAST,
  Kind,
} from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { type AppMetrics, codeLabel } from '../metrics/metrics.js';
import type { ServerContext } from './yoga.js';

/** The label of an operation whose type is not known (its document did not parse). */
export const UNKNOWN_TYPE = 'unknown';

/** `ok`, or the code of the first error. */
export function outcomeOf(errors: readonly { extensions?: Record<string, unknown> }[] | undefined) {
  const first = errors?.[0];
  return first === undefined ? 'ok' : codeLabel(first);
}

/** The type of the operation a document holds, when it holds exactly one. */
export function typeOf(document: DocumentNode, operationName?: string | null): string {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (operation) return operation.operation;
  const definitions = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return definitions.length === 1 && definitions[0] ? definitions[0].operation : UNKNOWN_TYPE;
}

/**
 * Counts each GraphQL operation once, on HTTP, SSE and WebSocket alike, by type and outcome: a
 * document that does not parse or validate, then whatever execution (or a plugin refusing it
 * before execution, such as the cost limit) answers. A subscription counts `ok` when its stream
 * opens. Registered before the plugins that refuse, so their refusals are seen.
 */
export function useOperationMetrics(metrics: AppMetrics): Plugin<ServerContext> {
  const record = (document: DocumentNode, name: string | null | undefined, result: unknown) => {
    const type = typeOf(document, name);
    if (isAsyncIterable(result)) metrics.graphqlOperation(type, 'ok');
    else metrics.graphqlOperation(type, outcomeOf((result as ExecutionResult).errors));
  };
  const onSubscribe = {
    onSubscribeResult({ args, result }: { args: ExecutionArgs; result: unknown }) {
      record(args.document, args.operationName, result);
    },
  };
  return {
    onParse:
      () =>
      ({ result }) => {
        if (result instanceof Error) metrics.graphqlOperation(UNKNOWN_TYPE, 'GRAPHQL_PARSE_FAILED');
      },
    onValidate:
      ({ params }) =>
      ({ valid }) => {
        if (!valid) {
          metrics.graphqlOperation(typeOf(params.documentAST), 'GRAPHQL_VALIDATION_FAILED');
        }
      },
    onExecute: ({ args }) => ({
      onExecuteDone({ result }) {
        record(args.document, args.operationName, result);
      },
    }),
    // One hooks object for every subscription: envelop keeps a subscription's hooks for its life.
    onSubscribe: () => onSubscribe,
  };
}
