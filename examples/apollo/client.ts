/**
 * Apollo Client 4 against longrun: queries and mutations over HTTP (HttpLink), subscriptions over
 * WebSocket (GraphQLWsLink on graphql-ws), one normalized cache that knows the schema's unions and
 * interfaces (`possibleTypes`) and keeps each operation's newest state (`operationTypePolicies`).
 */
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { isSubscriptionOperation } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { operationTypePolicies, possibleTypes } from '../../src/client/index.js';

/** Where the server is and who the client is. */
export interface ApolloOptions {
  /** `http://host:port/graphql` */
  readonly url: string;
  /** Called for every request and (re)connection, so a renewed token is used at once. */
  readonly getToken: () => string;
  /** For tests: the fetch HttpLink uses. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Leave out `possibleTypes` and the revision policy (to show what they prevent). */
  readonly plainCache?: boolean;
}

/** An Apollo client for longrun; `dispose()` closes its socket. */
export function createApollo(options: ApolloOptions) {
  const http = new HttpLink({
    uri: options.url,
    fetch: (input, init) =>
      (options.fetch ?? fetch)(input, {
        ...init,
        headers: { ...init?.headers, authorization: `Bearer ${options.getToken()}` },
      }),
  });
  const socket = createClient({
    url: options.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket, // browsers have their own
    connectionParams: () => ({ authorization: `Bearer ${options.getToken()}` }),
  });
  const cache = options.plainCache
    ? new InMemoryCache()
    : new InMemoryCache({ possibleTypes, typePolicies: operationTypePolicies });
  const client = new ApolloClient({
    link: ApolloLink.split(
      ({ query }) => isSubscriptionOperation(query),
      new GraphQLWsLink(socket),
      http,
    ),
    cache,
  });
  return {
    client,
    async dispose() {
      client.stop();
      await socket.dispose();
    },
  };
}

export const OPERATION_FIELDS = gql`
  fragment WatchedOperation on Operation {
    id
    status
    progress
    revision
    done
  }
`;

export const START = gql`
  mutation Start($input: StartOperationInput!) {
    startOperation(input: $input) {
      ... on StartOperationSuccess {
        operation {
          ...WatchedOperation
        }
      }
      ... on Error {
        message
      }
    }
  }
  ${OPERATION_FIELDS}
`;

export const CANCEL = gql`
  mutation Cancel($id: ID!, $reason: String) {
    cancelOperation(input: { id: $id, reason: $reason }) {
      ... on CancelOperationSuccess {
        operation {
          ...WatchedOperation
        }
      }
      ... on Error {
        message
      }
    }
  }
  ${OPERATION_FIELDS}
`;

export const WATCH = gql`
  subscription Watch($id: ID!) {
    operationUpdated(id: $id) {
      ...WatchedOperation
    }
  }
  ${OPERATION_FIELDS}
`;

export const NODE = gql`
  query Node($id: ID!) {
    node(id: $id) {
      ... on Node {
        id
      }
      ... on Operation {
        status
      }
    }
  }
`;

/** An operation's state as the cache holds it now. */
export function cachedOperation(client: ApolloClient, id: string) {
  return client.cache.readFragment<{ status: string; revision: number }>({
    id: client.cache.identify({ __typename: 'Operation', id }),
    fragment: OPERATION_FIELDS,
  });
}
