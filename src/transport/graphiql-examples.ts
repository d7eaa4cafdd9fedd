/** The documents GraphiQL opens with: start, watch and cancel an operation. */
export const GRAPHIQL_EXAMPLES = `# Welcome to longrun. The Authorization header is in the Headers tab below.
# Run one operation at a time with the ▶ button (its name picks which).

mutation Start {
  startOperation(input: { kind: "demo.sleep", input: { ms: 20000, steps: 20 } }) {
    __typename
    ... on StartOperationSuccess { operation { id status revision } deduplicated }
    ... on Error { message }
  }
}

# Paste the id from Start, then run Watch: every change arrives live over SSE.
subscription Watch {
  operationUpdated(id: "PASTE-ID") { id status progress message revision done error { code message } }
}

mutation Cancel {
  cancelOperation(input: { id: "PASTE-ID", reason: "changed my mind" }) {
    __typename
    ... on CancelOperationSuccess { operation { id status cancelRequestedAt } }
    ... on Error { message }
  }
}

query Mine {
  viewer { id isAdmin }
  operations(first: 10) {
    totalCount
    edges { node { id kind status progress createdAt } }
  }
}
`;
