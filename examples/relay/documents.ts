/**
 * The documents of the Relay recipe, as relay-compiler reads them. It compiles them into
 * ./__generated__ (committed, and checked fresh by the recipe's test); the code imports those
 * artifacts, as babel-plugin-relay would make the `graphql` tags do.
 */
import { graphql } from 'relay-runtime';

export const documents = () => [
  graphql`
    fragment documents_operation on Operation @inline {
      id
      status
      progress
      revision
      done
    }
  `,
  graphql`
    query documentsNodeQuery($id: ID!) {
      node(id: $id) {
        id
        ...documents_operation @alias
      }
    }
  `,
  graphql`
    subscription documentsWatchSubscription($id: ID!) {
      operationUpdated(id: $id) {
        ...documents_operation
      }
    }
  `,
];
