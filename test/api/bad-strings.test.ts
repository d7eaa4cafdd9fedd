import { describe, expect, it } from 'vitest';
import { defineHandler } from '../../src/handlers/handler.js';
import { MAX_JSON_DEPTH } from '../../src/operations/text.js';
import { gql, sse, userClient } from '../helpers/clients.js';
import { createTestDatabase } from '../helpers/cluster.js';
import { NO_SHUTDOWN_GRACE, startTestServer, type TestServer } from '../helpers/server.js';
import { POSTGRES_SKIP_REASON, sayWhySkipped } from '../helpers/services.js';

/** Strings no database can keep as they are: NUL, and surrogates without their pair. */
const BAD = {
  NUL: 'a\u0000b',
  'a lone high surrogate': 'a\uD800b',
  'a lone low surrogate': '\uDC00',
  'a reversed pair': '\uDC00\uD800',
};

/** Takes any JSON input and finishes at once: the input's shape is the server's business. */
const anyInput = defineHandler({
  kind: 'test.any',
  parseInput: (raw) => raw,
  run: async () => null,
});

const START = `mutation($input: StartOperationInput!) { startOperation(input: $input) {
  __typename ... on ValidationError { field message } ... on Error { message } } }`;
const CANCEL = `mutation($id: ID!, $reason: String) { cancelOperation(input: { id: $id, reason: $reason }) {
  __typename ... on ValidationError { field message } ... on Error { message } } }`;

/** Nested arrays `levels` deep around 1, written as JSON text (no recursion to build it). */
const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

const backends = [
  { name: 'SQLite', env: async () => ({}) },
  { name: 'PostgreSQL', env: async () => ({ DATABASE_URL: await createTestDatabase() }) },
] as const;

sayWhySkipped(POSTGRES_SKIP_REASON, 'bad strings on PostgreSQL');

describe.each(backends)('bad strings on $name', ({ name, env }) => {
  const skip = name === 'PostgreSQL' && POSTGRES_SKIP_REASON !== null;

  async function server(): Promise<TestServer> {
    return startTestServer({ ...NO_SHUTDOWN_GRACE, ...(await env()) }, { handlers: [anyInput] });
  }

  it.skipIf(skip)(
    'refuses them in kind, idempotencyKey and every string or key of input with a ValidationError, storing nothing',
    async () => {
      const app = await server();
      const alice = userClient(app, 'alice');
      for (const [what, bad] of Object.entries(BAD)) {
        const cases: Array<[Record<string, unknown>, string]> = [
          [{ kind: `test.any${bad}` }, 'kind'],
          [{ kind: 'test.any', idempotencyKey: bad }, 'idempotencyKey'],
          [{ kind: 'test.any', input: { note: bad } }, 'input.note'],
          [{ kind: 'test.any', input: { list: ['ok', { deep: bad }] } }, 'input.list.1.deep'],
          [{ kind: 'test.any', input: { [bad]: 1 } }, 'input'],
        ];
        for (const [input, field] of cases) {
          const reply = await alice.gql<{ startOperation: Record<string, unknown> }>(START, {
            input,
          });
          expect(reply.body, `${what} in ${field}`).toEqual({
            data: {
              startOperation: {
                __typename: 'ValidationError',
                field,
                message: expect.stringMatching(/well-formed text/),
              },
            },
          });
        }
      }
      // The same through a literal in the document, which GraphQL's \u0000 escape allows.
      const literal = await alice.gql<{ startOperation: Record<string, unknown> }>(
        `mutation { startOperation(input: { kind: "test.any", idempotencyKey: "k\\u0000" }) {
          __typename ... on ValidationError { field } } }`,
      );
      expect(literal.body.data?.startOperation).toEqual({
        __typename: 'ValidationError',
        field: 'idempotencyKey',
      });
      expect(await app.app.store.count({})).toBe(0);
    },
  );

  it.skipIf(skip)(
    'refuses them as a cancel reason with a ValidationError, leaving the operation as it was',
    async () => {
      const app = await server();
      const alice = userClient(app, 'alice');
      const started = await alice.start({ kind: 'test.any', idempotencyKey: 'one' });
      for (const bad of Object.values(BAD)) {
        const reply = await alice.gql<{ cancelOperation: Record<string, unknown> }>(CANCEL, {
          id: started.id,
          reason: bad,
        });
        expect(reply.body.data?.cancelOperation).toMatchObject({
          __typename: 'ValidationError',
          field: 'reason',
        });
      }
      const after = await alice.get(started.id);
      expect(after?.cancelReason).toBeNull();
      expect(after?.cancelRequestedAt).toBeNull();
    },
  );

  it.skipIf(skip)(
    'answers them in list and live filters with BAD_USER_INPUT, and in ids as a missing operation',
    async () => {
      const app = await server();
      const admin = userClient(app, 'root', { admin: true });
      for (const bad of Object.values(BAD)) {
        for (const [query, field] of [
          ['query($v: String) { operations(kind: $v) { totalCount } }', 'kind'],
          ['query($v: ID) { operations(ownerId: $v) { totalCount } }', 'ownerId'],
        ] as const) {
          const reply = await admin.gql(query, { v: bad });
          expect(reply.status).toBe(200);
          expect(reply.body.errors).toEqual([
            expect.objectContaining({
              extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }),
            }),
          ]);
        }
        const live = await sse(
          app.url,
          admin.token,
          'subscription($v: String) { operationsUpdated(kind: $v) { id } }',
          { v: bad },
        );
        const first = await live.results.next();
        expect(first.errors?.[0]?.extensions).toMatchObject({
          code: 'BAD_USER_INPUT',
          field: 'kind',
        });
        live.close();

        // Malformed ids are answered as missing operations (SEMANTICS.md, "IDs").
        const byId = await admin.gql(
          'query($v: ID!) { operation(id: $v) { id } node(id: $v) { id } }',
          {
            v: bad,
          },
        );
        expect(byId.body).toEqual({ data: { operation: null, node: null } });
        const cancel = await admin.gql<{ cancelOperation: { __typename: string } }>(CANCEL, {
          id: bad,
        });
        expect(cancel.body.data?.cancelOperation.__typename).toBe('NotFoundError');
      }
    },
  );

  it.skipIf(skip)(
    `refuses JSON input nested deeper than ${MAX_JSON_DEPTH} levels with a ValidationError, however deep`,
    async () => {
      const app = await server();
      const alice = userClient(app, 'alice');
      const start = (inputJson: string) =>
        fetch(app.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${alice.token}`,
          },
          body: `{"query": ${JSON.stringify(START)}, "variables": {"input": {"kind": "test.any", "input": ${inputJson}}}}`,
        }).then(async (response) => ({ status: response.status, body: await response.json() }));

      const deepest = await start(nested(MAX_JSON_DEPTH));
      expect(deepest.body.data.startOperation.__typename).toBe('StartOperationSuccess');
      for (const levels of [MAX_JSON_DEPTH + 1, 10_000, 400_000]) {
        const reply = await start(nested(levels));
        expect(reply.status, `${levels} levels`).toBe(200);
        expect(reply.body.data.startOperation).toEqual({
          __typename: 'ValidationError',
          field: 'input',
          message: `input: is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`,
        });
      }
      expect(await app.app.store.count({})).toBe(1);
      expect((await gql(app.url, alice.token, '{ viewer { id } }')).status).toBe(200);
    },
  );
});
