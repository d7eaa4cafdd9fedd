/**
 * Relay 21 (relay-runtime, no React) against longrun: queries over HTTP, subscriptions over
 * graphql-ws. Spreading an Operation fragment on `node` (typed `Node`) needs `@alias`, which
 * exposes it as a nullable field: null when the node is not an Operation.
 */
import type { Client } from 'graphql-ws';
import {
  Environment,
  fetchQuery,
  Network,
  Observable,
  RecordSource,
  readInlineData,
  requestSubscription,
  Store,
} from 'relay-runtime';
import OperationFragment, {
  type documents_operation$data,
  type documents_operation$key,
} from './__generated__/documents_operation.graphql.js';
import NodeQuery, { type documentsNodeQuery } from './__generated__/documentsNodeQuery.graphql.js';
import WatchSubscription, {
  type documentsWatchSubscription,
} from './__generated__/documentsWatchSubscription.graphql.js';

/** A Relay environment for longrun; the token is asked for on every request. */
export function createRelayEnvironment(options: {
  readonly url: string;
  readonly getToken: () => string;
  /** A graphql-ws client for subscriptions (see the graphql-ws recipe). */
  readonly socket: Client;
}): Environment {
  const network = Network.create(
    async (request, variables) => {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${options.getToken()}`,
        },
        body: JSON.stringify({ query: request.text, variables }),
      });
      return response.json();
    },
    (request, variables) =>
      Observable.create((sink) =>
        options.socket.subscribe(
          { query: request.text ?? '', variables },
          {
            next: (value) => sink.next(value as never),
            error: (error) => sink.error(error instanceof Error ? error : new Error(String(error))),
            complete: () => sink.complete(),
          },
        ),
      ),
  );
  return new Environment({ network, store: new Store(new RecordSource()) });
}

/** The operation behind a global id, or null when there is none (or it is not an Operation). */
export async function loadOperation(
  environment: Environment,
  id: string,
): Promise<documents_operation$data | null> {
  const data = await fetchQuery<documentsNodeQuery>(environment, NodeQuery, { id }).toPromise();
  const ref = data?.node?.documents_operation;
  return ref ? readInlineData<documents_operation$key>(OperationFragment, ref) : null;
}

/** Calls `onState` with each state of operation `id`; resolves when the subscription completes. */
export function watchOperation(
  environment: Environment,
  id: string,
  onState: (op: documents_operation$data) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    requestSubscription<documentsWatchSubscription>(environment, {
      subscription: WatchSubscription,
      variables: { id },
      onNext: (data) => {
        if (data?.operationUpdated)
          onState(
            readInlineData<documents_operation$key>(OperationFragment, data.operationUpdated),
          );
      },
      onError: reject,
      onCompleted: resolve,
    });
  });
}
