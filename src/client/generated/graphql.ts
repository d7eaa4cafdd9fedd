/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type CancelOperationInput = {
  /** The global ID or the raw ID. */
  id: string | number;
  reason?: string | null | undefined;
};

export type CreateWatchTokenInput = {
  id: string | number;
  /** Lifetime of the token; default 3600, at most 86400. */
  ttlSeconds?: number | null | undefined;
};

export type OperationStatus =
  | 'CANCELLED'
  /** Cancellation was requested while it ran; its worker is stopping. */
  | 'CANCELLING'
  | 'FAILED'
  /** Accepted; no worker has started it yet. */
  | 'PENDING'
  | 'RUNNING'
  | 'SUCCEEDED';

export type RetryOperationInput = {
  /** The global ID or the raw ID of a done operation. */
  id: string | number;
};

export type StartOperationInput = {
  /** Same owner + same key within 24 hours returns the operation started first, instead of a new one. */
  idempotencyKey?: string | null | undefined;
  input?: unknown;
  kind: string;
  /** Deadline in milliseconds from the start of its run; past it the operation ends FAILED with code TIMEOUT. */
  timeoutMs?: number | null | undefined;
};

export type OperationFieldsFragment = { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { id: string, isAdmin: boolean } };

export type GetOperationQueryVariables = Exact<{
  id: string | number;
}>;


export type GetOperationQuery = { operation: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } | null };

export type ListOperationsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  status?: Array<OperationStatus> | OperationStatus | null | undefined;
  kind?: string | null | undefined;
  ownerId?: string | number | null | undefined;
}>;


export type ListOperationsQuery = { operations: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } }> } };

export type StartOperationMutationVariables = Exact<{
  input: StartOperationInput;
}>;


export type StartOperationMutation = { startOperation:
    | { __typename: 'RateLimitedError', message: string, retryAfterMs: number }
    | { __typename: 'StartOperationSuccess', deduplicated: boolean, operation: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } }
    | { __typename: 'UnknownKindError', message: string, kind: string }
    | { __typename: 'ValidationError', message: string, field: string | null }
   };

export type CancelOperationMutationVariables = Exact<{
  input: CancelOperationInput;
}>;


export type CancelOperationMutation = { cancelOperation:
    | { __typename: 'CancelOperationSuccess', operation: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } }
    | { __typename: 'NotFoundError', message: string, id: string }
    | { __typename: 'OperationFinishedError', message: string, operation: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } }
    | { __typename: 'ValidationError', message: string, field: string | null }
   };

export type RetryOperationMutationVariables = Exact<{
  input: RetryOperationInput;
}>;


export type RetryOperationMutation = { retryOperation:
    | { __typename: 'NotFoundError', message: string, id: string }
    | { __typename: 'RateLimitedError', message: string, retryAfterMs: number }
    | { __typename: 'RetryOperationSuccess', operation: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } }
    | { __typename: 'ValidationError', message: string, field: string | null }
   };

export type CreateWatchTokenMutationVariables = Exact<{
  input: CreateWatchTokenInput;
}>;


export type CreateWatchTokenMutation = { createWatchToken:
    | { __typename: 'CreateWatchTokenSuccess', token: string, expiresAt: string, watchUrl: string, operation: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } }
    | { __typename: 'NotFoundError', message: string, id: string }
    | { __typename: 'ValidationError', message: string, field: string | null }
   };

export type RenewSessionMutationVariables = Exact<{
  token: string;
}>;


export type RenewSessionMutation = { renewSession:
    | { __typename: 'RenewSessionSuccess', expiresAt: string, viewer: { id: string, isAdmin: boolean } }
    | { __typename: 'ValidationError', message: string, field: string | null }
   };

export type OperationEventsQueryVariables = Exact<{
  id: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type OperationEventsQuery = { operation: { events: { pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { revision: number, status: OperationStatus, progress: number | null, actor: string, reason: string | null, time: string } }> } } | null };

export type WatchOperationSubscriptionVariables = Exact<{
  id: string | number;
  afterRevision?: number | null | undefined;
}>;


export type WatchOperationSubscription = { operationUpdated: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } };

export type WatchOperationsSubscriptionVariables = Exact<{
  status?: Array<OperationStatus> | OperationStatus | null | undefined;
  kind?: string | null | undefined;
}>;


export type WatchOperationsSubscription = { operationsUpdated: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } };

export type OperationKindsQueryVariables = Exact<{ [key: string]: never; }>;


export type OperationKindsQuery = { operationKinds: Array<{ kind: string, description: string | null, inputSchema: unknown, exampleInput: unknown }> };

export type WaitOperationQueryVariables = Exact<{
  id: string | number;
  timeoutMs?: number | null | undefined;
}>;


export type WaitOperationQuery = { waitOperation: { id: string, kind: string, status: OperationStatus, progress: number | null, message: string | null, ownerId: string, revision: number, done: boolean, input: unknown, result: unknown, timeoutMs: number | null, createdAt: string, updatedAt: string, startedAt: string | null, finishedAt: string | null, cancelRequestedAt: string | null, cancelledBy: string | null, cancelReason: string | null, error: { code: string, message: string } | null, retryOf: { id: string } | null } | null };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const OperationFieldsFragmentDoc = new TypedDocumentString(`
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}
    `, {"fragmentName":"OperationFields"}) as unknown as TypedDocumentString<OperationFieldsFragment, unknown>;
export const ViewerDocument = new TypedDocumentString(`
    query Viewer {
  viewer {
    id
    isAdmin
  }
}
    `) as unknown as TypedDocumentString<ViewerQuery, ViewerQueryVariables>;
export const GetOperationDocument = new TypedDocumentString(`
    query GetOperation($id: ID!) {
  operation(id: $id) {
    ...OperationFields
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<GetOperationQuery, GetOperationQueryVariables>;
export const ListOperationsDocument = new TypedDocumentString(`
    query ListOperations($first: Int, $after: String, $status: [OperationStatus!], $kind: String, $ownerId: ID) {
  operations(
    first: $first
    after: $after
    status: $status
    kind: $kind
    ownerId: $ownerId
  ) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        ...OperationFields
      }
    }
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<ListOperationsQuery, ListOperationsQueryVariables>;
export const StartOperationDocument = new TypedDocumentString(`
    mutation StartOperation($input: StartOperationInput!) {
  startOperation(input: $input) {
    __typename
    ... on StartOperationSuccess {
      deduplicated
      operation {
        ...OperationFields
      }
    }
    ... on UnknownKindError {
      message
      kind
    }
    ... on RateLimitedError {
      message
      retryAfterMs
    }
    ... on ValidationError {
      message
      field
    }
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<StartOperationMutation, StartOperationMutationVariables>;
export const CancelOperationDocument = new TypedDocumentString(`
    mutation CancelOperation($input: CancelOperationInput!) {
  cancelOperation(input: $input) {
    __typename
    ... on CancelOperationSuccess {
      operation {
        ...OperationFields
      }
    }
    ... on NotFoundError {
      message
      id
    }
    ... on OperationFinishedError {
      message
      operation {
        ...OperationFields
      }
    }
    ... on ValidationError {
      message
      field
    }
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<CancelOperationMutation, CancelOperationMutationVariables>;
export const RetryOperationDocument = new TypedDocumentString(`
    mutation RetryOperation($input: RetryOperationInput!) {
  retryOperation(input: $input) {
    __typename
    ... on RetryOperationSuccess {
      operation {
        ...OperationFields
      }
    }
    ... on NotFoundError {
      message
      id
    }
    ... on ValidationError {
      message
      field
    }
    ... on RateLimitedError {
      message
      retryAfterMs
    }
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<RetryOperationMutation, RetryOperationMutationVariables>;
export const CreateWatchTokenDocument = new TypedDocumentString(`
    mutation CreateWatchToken($input: CreateWatchTokenInput!) {
  createWatchToken(input: $input) {
    __typename
    ... on CreateWatchTokenSuccess {
      token
      expiresAt
      watchUrl
      operation {
        ...OperationFields
      }
    }
    ... on NotFoundError {
      message
      id
    }
    ... on ValidationError {
      message
      field
    }
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<CreateWatchTokenMutation, CreateWatchTokenMutationVariables>;
export const RenewSessionDocument = new TypedDocumentString(`
    mutation RenewSession($token: String!) {
  renewSession(token: $token) {
    __typename
    ... on RenewSessionSuccess {
      expiresAt
      viewer {
        id
        isAdmin
      }
    }
    ... on ValidationError {
      message
      field
    }
  }
}
    `) as unknown as TypedDocumentString<RenewSessionMutation, RenewSessionMutationVariables>;
export const OperationEventsDocument = new TypedDocumentString(`
    query OperationEvents($id: ID!, $first: Int, $after: String) {
  operation(id: $id) {
    events(first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          revision
          status
          progress
          actor
          reason
          time
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<OperationEventsQuery, OperationEventsQueryVariables>;
export const WatchOperationDocument = new TypedDocumentString(`
    subscription WatchOperation($id: ID!, $afterRevision: Int) {
  operationUpdated(id: $id, afterRevision: $afterRevision) {
    ...OperationFields
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<WatchOperationSubscription, WatchOperationSubscriptionVariables>;
export const WatchOperationsDocument = new TypedDocumentString(`
    subscription WatchOperations($status: [OperationStatus!], $kind: String) {
  operationsUpdated(status: $status, kind: $kind) {
    ...OperationFields
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<WatchOperationsSubscription, WatchOperationsSubscriptionVariables>;
export const OperationKindsDocument = new TypedDocumentString(`
    query OperationKinds {
  operationKinds {
    kind
    description
    inputSchema
    exampleInput
  }
}
    `) as unknown as TypedDocumentString<OperationKindsQuery, OperationKindsQueryVariables>;
export const WaitOperationDocument = new TypedDocumentString(`
    query WaitOperation($id: ID!, $timeoutMs: Int) {
  waitOperation(id: $id, timeoutMs: $timeoutMs) {
    ...OperationFields
  }
}
    fragment OperationFields on Operation {
  id
  kind
  status
  progress
  message
  ownerId
  revision
  done
  input
  result
  error {
    code
    message
  }
  timeoutMs
  retryOf {
    id
  }
  createdAt
  updatedAt
  startedAt
  finishedAt
  cancelRequestedAt
  cancelledBy
  cancelReason
}`) as unknown as TypedDocumentString<WaitOperationQuery, WaitOperationQueryVariables>;