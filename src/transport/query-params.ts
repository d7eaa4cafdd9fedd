import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { ErrorCode } from '../schema/codes.js';

/** The GET parameters that carry JSON objects (GraphQL over HTTP, "GET"). */
const JSON_PARAMS = ['variables', 'extensions'] as const;

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return value === null || (typeof value === 'object' && !Array.isArray(value));
  } catch {
    return false;
  }
}

/**
 * A GET whose `variables` or `extensions` is not a JSON object is the client's mistake: 400 with
 * BAD_REQUEST. yoga parses them with a bare `JSON.parse` whose SyntaxError would be masked as an
 * internal error.
 */
export function useQueryParamCheck(): Plugin {
  return {
    onRequestParse({ request, url }) {
      if (request.method !== 'GET') return;
      for (const name of JSON_PARAMS) {
        const values = url.searchParams.getAll(name);
        if (values.length > 1 || (values[0] !== undefined && !isJsonObject(values[0]))) {
          throw createGraphQLError(`The ${name} parameter must be one JSON object.`, {
            extensions: { code: ErrorCode.BadRequest, http: { status: 400 } },
          });
        }
      }
    },
  };
}
