/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment OperationFields on Operation {\n    id\n    kind\n    status\n    progress\n    message\n    ownerId\n    revision\n    done\n    input\n    result\n    error {\n      code\n      message\n    }\n    timeoutMs\n    retryOf {\n      id\n    }\n    createdAt\n    updatedAt\n    startedAt\n    finishedAt\n    cancelRequestedAt\n    cancelledBy\n    cancelReason\n  }\n": typeof types.OperationFieldsFragmentDoc,
    "\n  query Viewer {\n    viewer {\n      id\n      isAdmin\n    }\n  }\n": typeof types.ViewerDocument,
    "\n  query GetOperation($id: ID!) {\n    operation(id: $id) {\n      ...OperationFields\n    }\n  }\n": typeof types.GetOperationDocument,
    "\n  query ListOperations(\n    $first: Int\n    $after: String\n    $status: [OperationStatus!]\n    $kind: String\n    $ownerId: ID\n  ) {\n    operations(first: $first, after: $after, status: $status, kind: $kind, ownerId: $ownerId) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          ...OperationFields\n        }\n      }\n    }\n  }\n": typeof types.ListOperationsDocument,
    "\n  mutation StartOperation($input: StartOperationInput!) {\n    startOperation(input: $input) {\n      __typename\n      ... on StartOperationSuccess {\n        deduplicated\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on UnknownKindError {\n        message\n        kind\n      }\n      ... on RateLimitedError {\n        message\n        retryAfterMs\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": typeof types.StartOperationDocument,
    "\n  mutation CancelOperation($input: CancelOperationInput!) {\n    cancelOperation(input: $input) {\n      __typename\n      ... on CancelOperationSuccess {\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on OperationFinishedError {\n        message\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": typeof types.CancelOperationDocument,
    "\n  mutation RetryOperation($input: RetryOperationInput!) {\n    retryOperation(input: $input) {\n      __typename\n      ... on RetryOperationSuccess {\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n      ... on RateLimitedError {\n        message\n        retryAfterMs\n      }\n    }\n  }\n": typeof types.RetryOperationDocument,
    "\n  mutation CreateWatchToken($input: CreateWatchTokenInput!) {\n    createWatchToken(input: $input) {\n      __typename\n      ... on CreateWatchTokenSuccess {\n        token\n        expiresAt\n        watchUrl\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": typeof types.CreateWatchTokenDocument,
    "\n  mutation RenewSession($token: String!) {\n    renewSession(token: $token) {\n      __typename\n      ... on RenewSessionSuccess {\n        expiresAt\n        viewer {\n          id\n          isAdmin\n        }\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": typeof types.RenewSessionDocument,
    "\n  query OperationEvents($id: ID!, $first: Int, $after: String) {\n    operation(id: $id) {\n      events(first: $first, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            revision\n            status\n            progress\n            actor\n            reason\n            time\n          }\n        }\n      }\n    }\n  }\n": typeof types.OperationEventsDocument,
    "\n  subscription WatchOperation($id: ID!, $afterRevision: Int) {\n    operationUpdated(id: $id, afterRevision: $afterRevision) {\n      ...OperationFields\n    }\n  }\n": typeof types.WatchOperationDocument,
    "\n  subscription WatchOperations($status: [OperationStatus!], $kind: String) {\n    operationsUpdated(status: $status, kind: $kind) {\n      ...OperationFields\n    }\n  }\n": typeof types.WatchOperationsDocument,
    "\n  query OperationKinds {\n    operationKinds {\n      kind\n      description\n      inputSchema\n      exampleInput\n    }\n  }\n": typeof types.OperationKindsDocument,
    "\n  query WaitOperation($id: ID!, $timeoutMs: Int) {\n    waitOperation(id: $id, timeoutMs: $timeoutMs) {\n      ...OperationFields\n    }\n  }\n": typeof types.WaitOperationDocument,
};
const documents: Documents = {
    "\n  fragment OperationFields on Operation {\n    id\n    kind\n    status\n    progress\n    message\n    ownerId\n    revision\n    done\n    input\n    result\n    error {\n      code\n      message\n    }\n    timeoutMs\n    retryOf {\n      id\n    }\n    createdAt\n    updatedAt\n    startedAt\n    finishedAt\n    cancelRequestedAt\n    cancelledBy\n    cancelReason\n  }\n": types.OperationFieldsFragmentDoc,
    "\n  query Viewer {\n    viewer {\n      id\n      isAdmin\n    }\n  }\n": types.ViewerDocument,
    "\n  query GetOperation($id: ID!) {\n    operation(id: $id) {\n      ...OperationFields\n    }\n  }\n": types.GetOperationDocument,
    "\n  query ListOperations(\n    $first: Int\n    $after: String\n    $status: [OperationStatus!]\n    $kind: String\n    $ownerId: ID\n  ) {\n    operations(first: $first, after: $after, status: $status, kind: $kind, ownerId: $ownerId) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          ...OperationFields\n        }\n      }\n    }\n  }\n": types.ListOperationsDocument,
    "\n  mutation StartOperation($input: StartOperationInput!) {\n    startOperation(input: $input) {\n      __typename\n      ... on StartOperationSuccess {\n        deduplicated\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on UnknownKindError {\n        message\n        kind\n      }\n      ... on RateLimitedError {\n        message\n        retryAfterMs\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": types.StartOperationDocument,
    "\n  mutation CancelOperation($input: CancelOperationInput!) {\n    cancelOperation(input: $input) {\n      __typename\n      ... on CancelOperationSuccess {\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on OperationFinishedError {\n        message\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": types.CancelOperationDocument,
    "\n  mutation RetryOperation($input: RetryOperationInput!) {\n    retryOperation(input: $input) {\n      __typename\n      ... on RetryOperationSuccess {\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n      ... on RateLimitedError {\n        message\n        retryAfterMs\n      }\n    }\n  }\n": types.RetryOperationDocument,
    "\n  mutation CreateWatchToken($input: CreateWatchTokenInput!) {\n    createWatchToken(input: $input) {\n      __typename\n      ... on CreateWatchTokenSuccess {\n        token\n        expiresAt\n        watchUrl\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": types.CreateWatchTokenDocument,
    "\n  mutation RenewSession($token: String!) {\n    renewSession(token: $token) {\n      __typename\n      ... on RenewSessionSuccess {\n        expiresAt\n        viewer {\n          id\n          isAdmin\n        }\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n": types.RenewSessionDocument,
    "\n  query OperationEvents($id: ID!, $first: Int, $after: String) {\n    operation(id: $id) {\n      events(first: $first, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            revision\n            status\n            progress\n            actor\n            reason\n            time\n          }\n        }\n      }\n    }\n  }\n": types.OperationEventsDocument,
    "\n  subscription WatchOperation($id: ID!, $afterRevision: Int) {\n    operationUpdated(id: $id, afterRevision: $afterRevision) {\n      ...OperationFields\n    }\n  }\n": types.WatchOperationDocument,
    "\n  subscription WatchOperations($status: [OperationStatus!], $kind: String) {\n    operationsUpdated(status: $status, kind: $kind) {\n      ...OperationFields\n    }\n  }\n": types.WatchOperationsDocument,
    "\n  query OperationKinds {\n    operationKinds {\n      kind\n      description\n      inputSchema\n      exampleInput\n    }\n  }\n": types.OperationKindsDocument,
    "\n  query WaitOperation($id: ID!, $timeoutMs: Int) {\n    waitOperation(id: $id, timeoutMs: $timeoutMs) {\n      ...OperationFields\n    }\n  }\n": types.WaitOperationDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment OperationFields on Operation {\n    id\n    kind\n    status\n    progress\n    message\n    ownerId\n    revision\n    done\n    input\n    result\n    error {\n      code\n      message\n    }\n    timeoutMs\n    retryOf {\n      id\n    }\n    createdAt\n    updatedAt\n    startedAt\n    finishedAt\n    cancelRequestedAt\n    cancelledBy\n    cancelReason\n  }\n"): typeof import('./graphql.js').OperationFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer {\n      id\n      isAdmin\n    }\n  }\n"): typeof import('./graphql.js').ViewerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetOperation($id: ID!) {\n    operation(id: $id) {\n      ...OperationFields\n    }\n  }\n"): typeof import('./graphql.js').GetOperationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListOperations(\n    $first: Int\n    $after: String\n    $status: [OperationStatus!]\n    $kind: String\n    $ownerId: ID\n  ) {\n    operations(first: $first, after: $after, status: $status, kind: $kind, ownerId: $ownerId) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          ...OperationFields\n        }\n      }\n    }\n  }\n"): typeof import('./graphql.js').ListOperationsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartOperation($input: StartOperationInput!) {\n    startOperation(input: $input) {\n      __typename\n      ... on StartOperationSuccess {\n        deduplicated\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on UnknownKindError {\n        message\n        kind\n      }\n      ... on RateLimitedError {\n        message\n        retryAfterMs\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n"): typeof import('./graphql.js').StartOperationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelOperation($input: CancelOperationInput!) {\n    cancelOperation(input: $input) {\n      __typename\n      ... on CancelOperationSuccess {\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on OperationFinishedError {\n        message\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n"): typeof import('./graphql.js').CancelOperationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryOperation($input: RetryOperationInput!) {\n    retryOperation(input: $input) {\n      __typename\n      ... on RetryOperationSuccess {\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n      ... on RateLimitedError {\n        message\n        retryAfterMs\n      }\n    }\n  }\n"): typeof import('./graphql.js').RetryOperationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateWatchToken($input: CreateWatchTokenInput!) {\n    createWatchToken(input: $input) {\n      __typename\n      ... on CreateWatchTokenSuccess {\n        token\n        expiresAt\n        watchUrl\n        operation {\n          ...OperationFields\n        }\n      }\n      ... on NotFoundError {\n        message\n        id\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n"): typeof import('./graphql.js').CreateWatchTokenDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenewSession($token: String!) {\n    renewSession(token: $token) {\n      __typename\n      ... on RenewSessionSuccess {\n        expiresAt\n        viewer {\n          id\n          isAdmin\n        }\n      }\n      ... on ValidationError {\n        message\n        field\n      }\n    }\n  }\n"): typeof import('./graphql.js').RenewSessionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OperationEvents($id: ID!, $first: Int, $after: String) {\n    operation(id: $id) {\n      events(first: $first, after: $after) {\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n        edges {\n          node {\n            revision\n            status\n            progress\n            actor\n            reason\n            time\n          }\n        }\n      }\n    }\n  }\n"): typeof import('./graphql.js').OperationEventsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WatchOperation($id: ID!, $afterRevision: Int) {\n    operationUpdated(id: $id, afterRevision: $afterRevision) {\n      ...OperationFields\n    }\n  }\n"): typeof import('./graphql.js').WatchOperationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WatchOperations($status: [OperationStatus!], $kind: String) {\n    operationsUpdated(status: $status, kind: $kind) {\n      ...OperationFields\n    }\n  }\n"): typeof import('./graphql.js').WatchOperationsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OperationKinds {\n    operationKinds {\n      kind\n      description\n      inputSchema\n      exampleInput\n    }\n  }\n"): typeof import('./graphql.js').OperationKindsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WaitOperation($id: ID!, $timeoutMs: Int) {\n    waitOperation(id: $id, timeoutMs: $timeoutMs) {\n      ...OperationFields\n    }\n  }\n"): typeof import('./graphql.js').WaitOperationDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
