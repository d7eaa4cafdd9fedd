import type { OperationKindInfo } from '../handlers/registry.js';
import type { JsonValue } from '../operations/model.js';

/** More kinds than this get no start example of their own (the Kinds query lists them all). */
const MAX_START_EXAMPLES = 20;

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * `value` as a GraphQL input literal (`{ ms: 1000, tags: ["a"] }`), or null when an object key is
 * not a GraphQL name and so cannot be written inline.
 */
export function graphqlLiteral(value: JsonValue): string | null {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') {
    return String(value);
  }
  // JSON's escapes (\", \\, \n, \uXXXX) are GraphQL string escapes too.
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    const items = value.map(graphqlLiteral);
    return items.includes(null) ? null : `[${items.join(', ')}]`;
  }
  const fields: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    const literal = graphqlLiteral(item);
    if (!GRAPHQL_NAME.test(key) || literal === null) return null;
    fields.push(`${key}: ${literal}`);
  }
  return fields.length === 0 ? '{}' : `{ ${fields.join(', ')} }`;
}

/** `demo.sleep` → `StartDemoSleep`; a number is added when two kinds would share a name. */
function operationName(kind: string, taken: Set<string>): string {
  const words = kind.split(/[^0-9A-Za-z]+/).filter((word) => word !== '');
  const base = `Start${words.map((word) => word[0]?.toUpperCase() + word.slice(1)).join('')}`;
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}${n}`;
  taken.add(name);
  return name;
}

function startExample(kind: OperationKindInfo, taken: Set<string>): string {
  const literal = kind.exampleInput === null ? null : graphqlLiteral(kind.exampleInput);
  const input = literal === null ? '' : `, input: ${literal}`;
  const about = kind.description ? `# ${kind.kind}: ${kind.description.split('\n')[0]}\n` : '';
  const unwritten =
    kind.exampleInput !== null && literal === null
      ? `# Example input (JSON): ${JSON.stringify(kind.exampleInput)}\n`
      : '';
  return `${about}${unwritten}mutation ${operationName(kind.kind, taken)} {
  startOperation(input: { kind: ${JSON.stringify(kind.kind)}${input} }) {
    __typename
    ... on StartOperationSuccess { operation { id status revision } deduplicated }
    ... on Error { message }
  }
}`;
}

/**
 * The documents GraphiQL opens with: a start per registered kind with its example input (from
 * `operationKinds`), then watch, wait, cancel, retry, the kinds and the viewer's operations.
 */
export function graphiqlExamples(kinds: readonly OperationKindInfo[]): string {
  const taken = new Set<string>();
  const starts = kinds.slice(0, MAX_START_EXAMPLES).map((kind) => startExample(kind, taken));
  return `# Welcome to longrun. The Authorization header is in the Headers tab below.
# Run one operation at a time with the ▶ button (its name picks which).

${starts.join('\n\n')}

# Paste the id from a start, then run Watch: every change arrives live over SSE.
subscription Watch {
  operationUpdated(id: "PASTE-ID") { id status progress message revision done error { code message } }
}

# Or wait for it to end (at most timeoutMs), then get its state: one long-poll, no stream.
query Wait {
  waitOperation(id: "PASTE-ID", timeoutMs: 30000) { id status done progress result error { code message } }
}

mutation Cancel {
  cancelOperation(input: { id: "PASTE-ID", reason: "changed my mind" }) {
    __typename
    ... on CancelOperationSuccess { operation { id status cancelRequestedAt } }
    ... on Error { message }
  }
}

# Once it is done (FAILED, CANCELLED or SUCCEEDED): a new run with the same kind and input.
mutation Retry {
  retryOperation(input: { id: "PASTE-ID" }) {
    __typename
    ... on RetryOperationSuccess { operation { id status retryOf { id status } } }
    ... on RateLimitedError { message retryAfterMs }
    ... on Error { message }
  }
}

query Kinds {
  operationKinds { kind description inputSchema exampleInput }
}

query Mine {
  viewer { id isAdmin }
  operations(first: 10) {
    totalCount
    edges { node { id kind status progress createdAt } }
  }
}
`;
}
