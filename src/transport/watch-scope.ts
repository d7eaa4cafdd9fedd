import { getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isWatchOnly } from '../auth/viewer.js';
import { forbidden } from '../schema/codes.js';
import type { Context } from '../schema/context.js';

/** The one mutation a watch token may send: it changes the socket's token, never any data. */
const SESSION_FIELDS: ReadonlySet<string> = new Set(['renewSession', '__typename']);

/**
 * A watch token reads; it never changes anything: every mutation it sends is refused with
 * `FORBIDDEN` before a resolver runs, on HTTP and WebSocket alike (both execute through yoga).
 * Only a document whose every root field is `renewSession` passes, so a mutation added later is
 * covered without being listed here.
 */
export function useReadOnlyWatchTokens(): Plugin<Record<string, unknown>, Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const { viewer } = args.contextValue as Partial<Context>;
      if (viewer === undefined || !isWatchOnly(viewer)) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const sessionOnly = operation.selectionSet.selections.every(
        (selection) => selection.kind === Kind.FIELD && SESSION_FIELDS.has(selection.name.value),
      );
      if (sessionOnly) return;
      setResultAndStopExecution({
        errors: [forbidden('A watch token can only read its one operation; it changes nothing.')],
      });
    },
  };
}
