import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

// graphql-js ends messages with ` Did you mean "a", "b", or "c"?` or `Did you mean the enum
// value "X"?`; names never hold a question mark, so the hint ends at the first one.
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function withoutSuggestion<E>(error: E): E {
  if (error instanceof GraphQLError && error.message.includes('Did you mean')) {
    error.message = error.message.replace(SUGGESTION, '');
  }
  return error;
}

function stripResult(result: unknown): void {
  if (isAsyncIterable(result) || typeof result !== 'object' || result === null) return;
  const { errors } = result as { errors?: readonly unknown[] };
  errors?.forEach(withoutSuggestion);
}

const strippedSubscription = {
  onSubscribeResult: ({ result }: { result: unknown }) => stripResult(result),
};

/**
 * For servers that keep their schema to themselves (`INTROSPECTION` off, the production
 * default): `__schema` and `__type` are refused at validation, and no error says "Did you
 * mean …?" — not validation errors, nor the ones variable coercion raises at execution (a
 * misspelled input field or enum value), on HTTP, SSE and WebSocket alike. `__typename` stays.
 */
export function useSchemaPrivacy(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute: () => ({ onExecuteDone: ({ result }) => stripResult(result) }),
    // One hooks object for every subscription: envelop keeps a subscription's hooks for its life.
    onSubscribe: () => strippedSubscription,
  };
}
