import { type AuthFailure, AuthFailureKind } from '../auth/jwt.js';

/** The `Authorization` value found in a `connection_init` payload, or why there is none. */
export type ConnectionAuthorization =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly refusal: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Values of the keys of `record` that spell `authorization` in any case. */
function authorizationValues(record: Record<string, unknown>): unknown[] {
  return Object.entries(record)
    .filter(([key]) => key.toLowerCase() === 'authorization')
    .map(([, value]) => value);
}

/**
 * Finds the `Authorization` value of a `connection_init` payload: its key in any case, at the top
 * level or inside `headers` (the habits of HTTP clients). Several different values are refused
 * rather than guessed between. A refusal says what is wrong without echoing what was sent.
 */
export function authorizationFrom(payload: unknown): ConnectionAuthorization {
  const params = isRecord(payload) ? payload : {};
  const headers = Object.entries(params)
    .filter(([key, value]) => key.toLowerCase() === 'headers' && isRecord(value))
    .flatMap(([, value]) => authorizationValues(value as Record<string, unknown>));
  const values = [...authorizationValues(params), ...headers];
  if (values.length === 0) {
    return {
      ok: false,
      refusal: 'No token: send {"authorization": "Bearer <token>"} in connection_init',
    };
  }
  if (values.some((value) => typeof value !== 'string')) {
    return { ok: false, refusal: 'The authorization value must be the string "Bearer <token>"' };
  }
  const distinct = new Set(values as string[]);
  if (distinct.size > 1) {
    return { ok: false, refusal: 'connection_init carries several different authorization values' };
  }
  return { ok: true, value: values[0] as string };
}

/** The close reason for a token the verifier refused; never the token nor the verifier's detail. */
export function refusalFor(failure: AuthFailure): string {
  switch (failure.kind) {
    case AuthFailureKind.Missing:
      return 'No token: send {"authorization": "Bearer <token>"} in connection_init';
    case AuthFailureKind.Malformed:
      return 'The authorization value is not "Bearer <token>"';
    case AuthFailureKind.Expired:
      return 'The token has expired';
    case AuthFailureKind.Invalid:
      return 'The token is not valid (signature, algorithm or claims)';
  }
}
