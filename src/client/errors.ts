/**
 * Why a client call failed. GraphQL errors keep the server's `extensions.code`; failures before
 * or outside GraphQL get one of the client's own codes.
 */
export const ClientErrorCode = {
  /** No token, a bad one, or an expired one that `getToken` could not replace. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The token may not do this: a watch token asked for anything but reading its operation. */
  Forbidden: 'FORBIDDEN',
  /** `watch`: the operation does not exist or the viewer may not see it. */
  NotFound: 'NOT_FOUND',
  /** An argument the server rejected before running anything. */
  BadUserInput: 'BAD_USER_INPUT',
  /** A request the server could not read (malformed, too large, wrong content type). */
  BadRequest: 'BAD_REQUEST',
  /** The server's database or event bus does not answer; try again later. */
  ServiceUnavailable: 'SERVICE_UNAVAILABLE',
  /** The server failed unexpectedly; its logs hold the details under `requestId`. */
  Internal: 'INTERNAL_SERVER_ERROR',
  /** The server could not be reached, or the connection broke and retries ran out. */
  Network: 'NETWORK',
  /** No answer within `requestTimeoutMs`. */
  Timeout: 'TIMEOUT',
  /** The caller's `AbortSignal` fired. */
  Aborted: 'ABORTED',
  /** The server answered with something that is not a GraphQL response. */
  Protocol: 'PROTOCOL',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** One entry of a GraphQL response's `errors`, as received. */
export interface GraphQLErrorEntry {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: Readonly<Record<string, unknown>>;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ClientErrorCode));

/** The one error type every client call throws or ends an iteration with. */
export class OperationsClientError extends Error {
  override readonly name = 'OperationsClientError';
  /** HTTP status of the response, when there was one. */
  readonly status: number | null;
  /** The server's request id (`x-request-id`), to find the request in its logs. */
  readonly requestId: string | null;
  /** The GraphQL errors as the server sent them (empty for network failures). */
  readonly errors: readonly GraphQLErrorEntry[];

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    details: {
      status?: number | null;
      requestId?: string | null;
      errors?: readonly GraphQLErrorEntry[];
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status ?? null;
    this.requestId = details.requestId ?? null;
    this.errors = details.errors ?? [];
  }
}

/** True when `error` is an `OperationsClientError`, optionally with one of `codes`. */
export function isOperationsClientError(
  error: unknown,
  ...codes: ClientErrorCode[]
): error is OperationsClientError {
  return (
    error instanceof OperationsClientError && (codes.length === 0 || codes.includes(error.code))
  );
}

/** Maps a GraphQL `errors` array to one client error; the first entry's code wins. */
export function fromGraphQLErrors(
  errors: readonly GraphQLErrorEntry[],
  details: { status?: number | null; requestId?: string | null } = {},
): OperationsClientError {
  const first = errors[0];
  const raw = first?.extensions?.code;
  const code: ClientErrorCode =
    typeof raw === 'string' && KNOWN_CODES.has(raw)
      ? (raw as ClientErrorCode)
      : details.status === 401
        ? ClientErrorCode.Unauthenticated
        : details.status === 503
          ? ClientErrorCode.ServiceUnavailable
          : details.status !== null && details.status !== undefined && details.status >= 500
            ? ClientErrorCode.Internal
            : ClientErrorCode.BadRequest;
  const requestId =
    details.requestId ??
    (typeof first?.extensions?.requestId === 'string' ? first.extensions.requestId : null);
  return new OperationsClientError(code, first?.message ?? 'The request failed.', {
    ...details,
    requestId,
    errors,
  });
}
