import { graphql } from './generated/gql.js';

/** Every field of an operation the client reads; watch, list and get all return this shape. */
export const OperationFieldsFragment = graphql(`
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
`);

export const ViewerDocument = graphql(`
  query Viewer {
    viewer {
      id
      isAdmin
    }
  }
`);

export const GetOperationDocument = graphql(`
  query GetOperation($id: ID!) {
    operation(id: $id) {
      ...OperationFields
    }
  }
`);

export const ListOperationsDocument = graphql(`
  query ListOperations(
    $first: Int
    $after: String
    $status: [OperationStatus!]
    $kind: String
    $ownerId: ID
  ) {
    operations(first: $first, after: $after, status: $status, kind: $kind, ownerId: $ownerId) {
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
`);

export const StartOperationDocument = graphql(`
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
`);

export const CancelOperationDocument = graphql(`
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
`);

export const RetryOperationDocument = graphql(`
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
`);

export const CreateWatchTokenDocument = graphql(`
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
`);

export const RenewSessionDocument = graphql(`
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
`);

export const OperationEventsDocument = graphql(`
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
`);

export const WatchOperationDocument = graphql(`
  subscription WatchOperation($id: ID!, $afterRevision: Int) {
    operationUpdated(id: $id, afterRevision: $afterRevision) {
      ...OperationFields
    }
  }
`);

export const WatchOperationsDocument = graphql(`
  subscription WatchOperations($status: [OperationStatus!], $kind: String) {
    operationsUpdated(status: $status, kind: $kind) {
      ...OperationFields
    }
  }
`);

export const OperationKindsDocument = graphql(`
  query OperationKinds {
    operationKinds {
      kind
      description
      inputSchema
      exampleInput
    }
  }
`);

export const WaitOperationDocument = graphql(`
  query WaitOperation($id: ID!, $timeoutMs: Int) {
    waitOperation(id: $id, timeoutMs: $timeoutMs) {
      ...OperationFields
    }
  }
`);
