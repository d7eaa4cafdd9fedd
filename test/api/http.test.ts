import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { gql, sse, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer, tokenFor } from '../helpers/server.js';

const START = `mutation($input: StartOperationInput!) { startOperation(input: $input) { __typename } }`;
const START_INLINE =
  'startOperation(input: { kind: "demo.sleep", input: { ms: 0 } }) { __typename }';

/** Every operation in the server's store, whoever owns it. */
const rowCount = (server: TestServer) => server.app.store.count({});

function bearer(sub = 'alice'): Record<string, string> {
  return { authorization: `Bearer ${tokenFor(sub)}` };
}

/** A POST to /graphql with the given content type and raw body; the parsed JSON reply. */
async function post(
  server: TestServer,
  body: NonNullable<RequestInit['body']>,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { ...bearer(), ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) };
}

/** A raw HTTP/1.1 exchange over one socket: the reply as text, read until the server closes. */
function rawExchange(
  port: number,
  head: string,
  body: readonly Buffer[],
): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      reply += data;
    });
    // The server may reset the connection once it has answered and stops reading our body.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(reply);
      if (!match) reject(new Error(`No HTTP reply before the socket closed: ${reply}`));
      else resolve({ status: Number(match[1]), headers: match[2] ?? '', body: match[3] ?? '' });
    });
    socket.write(head);
    void (async () => {
      for (const chunk of body) {
        if (socket.destroyed || reply !== '') return;
        if (!socket.write(chunk)) {
          await new Promise((done) => {
            socket.once('drain', done);
            socket.once('close', done);
          });
        }
      }
    })();
  });
}

function postHead(port: number, extra: string): string {
  return [
    'POST /graphql HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    `Authorization: Bearer ${tokenFor('alice')}`,
    'Content-Type: application/json',
    'Accept: application/graphql-response+json',
    extra,
    '',
    '',
  ].join('\r\n');
}

/** A startOperation request padded with whitespace to `size` bytes (valid JSON, valid GraphQL). */
function paddedStart(size: number): Buffer {
  const json = JSON.stringify({
    query: START,
    variables: { input: { kind: 'demo.sleep', input: { ms: 0 } } },
  });
  return Buffer.from(`${json}${' '.repeat(size - json.length)}`);
}

function chunk(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
}

/** Proves the server still answers everyone else. */
async function expectServing(server: TestServer) {
  const r = await gql(server.url, tokenFor('bob'), '{ viewer { id } }');
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ data: { viewer: { id: 'bob' } } });
}

describe('GraphQL over HTTP conformance', () => {
  it('passes every MUST audit of graphql-http (SHOULD results are logged)', async () => {
    const server = await startTestServer();
    const token = tokenFor('auditor');
    const fetchFn = (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const audits = serverAudits({ url: server.url, fetchFn });
    const results = [];
    for (const audit of audits) results.push(await audit.fn());
    const failedMust = results.filter((r) => r.name.startsWith('MUST') && r.status !== 'ok');
    const notOk = results.filter((r) => r.status !== 'ok');
    for (const result of notOk) {
      console.info(`graphql-http audit ${result.status}: ${result.name}`);
    }
    console.info(
      `graphql-http audits: ${results.length - notOk.length}/${results.length} ok ` +
        `(${results.filter((r) => r.name.startsWith('MUST')).length} MUST)`,
    );
    expect(results.some((r) => r.name.startsWith('MUST'))).toBe(true);
    expect(failedMust.map((r) => r.name)).toEqual([]);
  });
});

describe('malformed requests', () => {
  it('answers bad JSON with 400 and an error message, and writes nothing', async () => {
    const server = await startTestServer();
    const r = await post(server, '{bad json');
    expect(r.status).toBe(400);
    expect(r.json.errors[0].message).toBe('POST body sent invalid JSON.');
    expect(r.json.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(r.json).not.toHaveProperty('data');
    expect(await rowCount(server)).toBe(0);
    await expectServing(server);
  });

  it('answers a GET whose variables or extensions are not a JSON object with 400, on HTTP and SSE', async () => {
    const server = await startTestServer();
    const query = encodeURIComponent('query($id: ID!) { operation(id: $id) { id } }');
    for (const [name, value] of [
      ['variables', '{bad'],
      ['variables', '[1]'],
      ['variables', '"x"'],
      ['extensions', '{"a":'],
    ]) {
      const error = {
        message: `The ${name} parameter must be one JSON object.`,
        extensions: { code: 'BAD_REQUEST' },
      };
      const url = `${server.url}?query=${query}&${name}=${encodeURIComponent(String(value))}`;
      const plain = await fetch(url, { headers: { ...bearer(), accept: 'application/json' } });
      expect(plain.status, `${name}=${value}`).toBe(400);
      expect(await plain.json()).toEqual({ errors: [error] });
      // Over SSE the same error arrives as the stream's only result.
      const stream = await fetch(url, { headers: { ...bearer(), accept: 'text/event-stream' } });
      expect(stream.status, `${name}=${value} over SSE`).toBe(400);
      expect(await stream.text()).toContain(
        `event: next\ndata: ${JSON.stringify({ errors: [error] })}\n\nevent: complete`,
      );
    }
    expect(server.logs.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('refuses a mutation over GET with 405 and changes nothing', async () => {
    const server = await startTestServer();
    const query = encodeURIComponent(`mutation { ${START_INLINE} }`);
    const response = await fetch(`${server.url}?query=${query}`, { headers: bearer() });
    const body = await response.json();
    expect(response.status).toBe(405);
    expect(body.errors[0].message).toBe(
      'Can only perform a mutation operation from a POST request.',
    );
    expect(body).not.toHaveProperty('data');
    expect(await rowCount(server)).toBe(0);
  });

  it('refuses a batch (JSON array body) with 400 and runs none of it', async () => {
    const server = await startTestServer();
    const one = { query: `mutation { ${START_INLINE} }` };
    const r = await post(server, JSON.stringify([one, one]));
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([
      expect.objectContaining({ message: 'Batching is not supported.' }),
    ]);
    expect(await rowCount(server)).toBe(0);
  });

  it.each([
    [
      'multipart/form-data',
      () => {
        const form = new FormData();
        form.set('operations', JSON.stringify({ query: `mutation { ${START_INLINE} }` }));
        form.set('map', '{}');
        return { body: form, headers: {} };
      },
    ],
    [
      'application/x-www-form-urlencoded',
      () => ({
        body: new URLSearchParams({ query: `mutation { ${START_INLINE} }` }),
        headers: {},
      }),
    ],
    [
      'text/plain',
      () => ({
        body: JSON.stringify({ query: `mutation { ${START_INLINE} }` }),
        headers: { 'content-type': 'text/plain' },
      }),
    ],
  ])('refuses a %s POST with 415 (no CSRF-able write)', async (_type, make) => {
    const server = await startTestServer();
    const { body, headers } = make();
    const r = await post(server, body, headers);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.status).toBe(415);
    expect(r.json.errors[0].message).toBe('Send GraphQL requests as application/json.');
    expect(await rowCount(server)).toBe(0);
    await expectServing(server);
  });

  it.each([
    ['application/graphql-response+json', 400],
    ['application/json', 200],
  ])('answers an unknown field with %s → %i, errors and no data', async (accept, status) => {
    const server = await startTestServer();
    const r = await post(server, JSON.stringify({ query: `mutation { ${START_INLINE} nope }` }), {
      'content-type': 'application/json',
      accept,
    });
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toBe(`${accept}; charset=utf-8`);
    expect(r.json).not.toHaveProperty('data');
    expect(r.json.errors[0].message).toMatch(/^Cannot query field "nope" on type "Mutation"\./);
    expect(r.json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await rowCount(server)).toBe(0);
  });

  it.each([
    ['application/graphql-response+json', 400],
    ['application/json', 200],
  ])(
    'answers a variable of the wrong type with %s → %i, errors and no data',
    async (accept, status) => {
      const server = await startTestServer();
      const r = await post(
        server,
        JSON.stringify({ query: START, variables: { input: { kind: 42, input: { ms: 0 } } } }),
        { 'content-type': 'application/json', accept },
      );
      expect(r.json).not.toHaveProperty('data');
      expect(r.json.errors[0].message).toMatch(
        /^Variable "\$input" got invalid value 42 at "input\.kind"; String cannot represent a non string value: 42/,
      );
      expect(r.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(await rowCount(server)).toBe(0);
      // GraphQL over HTTP: a variable coercion failure is a 200 for application/json clients.
      expect(r.status).toBe(status);
    },
  );

  it('tags variable coercion errors BAD_USER_INPUT over SSE and WebSocket too', async () => {
    const server = await startTestServer();
    const token = tokenFor('alice');
    const WATCH = 'subscription($id: ID!) { operationUpdated(id: $id) { id } }';
    const missing = /^Variable "\$id" of required type "ID!" was not provided\./;

    const overSse = await sse(server.url, token, WATCH, {});
    const sseResult = await overSse.results.next();
    expect(sseResult.errors?.[0]?.message).toMatch(missing);
    expect(sseResult.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const ws = wsClient(server.wsUrl, token);
    const wsSubscription = ws.subscribe(WATCH, { id: { not: 'an id' } });
    const wsResult = await wsSubscription.results.next();
    expect(wsResult.errors?.[0]?.message).toMatch(/^Variable "\$id" got invalid value/);
    expect(wsResult.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const wsQuery = ws.subscribe(START, { input: { kind: 42 } });
    expect((await wsQuery.results.next()).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await rowCount(server)).toBe(0);
  });

  it('hides "Did you mean" suggestions in production, and only there', async () => {
    const production = await startTestServer({ NODE_ENV: 'production' });
    const development = await startTestServer();
    const query = '{ viewer { isAdmn } }';
    const hidden = await gql(production.url, tokenFor('alice'), query);
    const shown = await gql(development.url, tokenFor('alice'), query);
    expect(shown.body.errors?.[0]?.message).toContain('Did you mean "isAdmin"?');
    expect(hidden.status).toBe(400);
    expect(hidden.body).not.toHaveProperty('data');
    expect(hidden.body.errors?.[0]?.message).toMatch(
      /^Cannot query field "isAdmn" on type "Viewer"\./,
    );
    expect(JSON.stringify(hidden.body)).not.toMatch(/did you mean|isAdmin/i);
  });
});

describe('body size limit', () => {
  it('refuses a 2 MiB body announced by Content-Length with 413 before reading it', async () => {
    const server = await startTestServer();
    // Only the head is sent: a server that waited for the body would never answer.
    const reply = await rawExchange(
      server.app.port,
      postHead(server.app.port, `Content-Length: ${2 * 1024 * 1024}`),
      [],
    );
    expect(reply.status).toBe(413);
    expect(reply.headers).toMatch(/^connection: close$/im);
    expect(JSON.parse(reply.body)).toEqual({
      errors: [
        {
          message: 'The request body is larger than 1048576 bytes.',
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    });
    await expectServing(server);
  });

  it('refuses a whole 2 MiB startOperation body with 413 and starts nothing', async () => {
    const server = await startTestServer();
    const body = paddedStart(2 * 1024 * 1024);
    const reply = await rawExchange(
      server.app.port,
      postHead(server.app.port, `Content-Length: ${body.length}`),
      [body],
    );
    expect(reply.status).toBe(413);
    expect(await rowCount(server)).toBe(0);
    await expectServing(server);
  });

  it('refuses a chunked body (no Content-Length) with 413 as soon as it passes the limit', async () => {
    const server = await startTestServer();
    const body = paddedStart(2 * 1024 * 1024);
    const chunks: Buffer[] = [];
    // 17 × 64 KiB = 1.06 MiB, and never the terminating chunk: the server must answer mid-body.
    for (let i = 0; i < 17; i++) chunks.push(chunk(body.subarray(i * 65_536, (i + 1) * 65_536)));
    const reply = await rawExchange(
      server.app.port,
      postHead(server.app.port, 'Transfer-Encoding: chunked'),
      chunks,
    );
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body).errors[0].message).toBe(
      'The request body is larger than 1048576 bytes.',
    );
    expect(await rowCount(server)).toBe(0);
    await expectServing(server);
  });

  it('never inflates a compressed body past the limit (gzip bomb)', async () => {
    const server = await startTestServer();
    // 3 KiB on the wire, 3 MiB once inflated.
    const body = gzipSync(paddedStart(3 * 1024 * 1024));
    expect(body.length).toBeLessThan(16 * 1024);
    const r = await post(server, body, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect([400, 413, 415]).toContain(r.status);
    expect(r.json).not.toHaveProperty('data');
    expect(r.json.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(await rowCount(server)).toBe(0);
    await expectServing(server);
  });

  it('accepts a body just under the limit', async () => {
    const server = await startTestServer();
    const body = paddedStart(1024 * 1024 - 1);
    const r = await post(server, body.toString());
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ data: { startOperation: { __typename: 'StartOperationSuccess' } } });
    expect(await rowCount(server)).toBe(1);
  });

  it('follows MAX_BODY_BYTES', async () => {
    const server = await startTestServer({ MAX_BODY_BYTES: '2048' });
    const under = await post(server, paddedStart(2048).toString());
    expect(under.status).toBe(200);
    expect(await rowCount(server)).toBe(1);
    const over = paddedStart(2049);
    const declared = await rawExchange(
      server.app.port,
      postHead(server.app.port, `Content-Length: 2049`),
      [over],
    );
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).errors[0].message).toBe(
      'The request body is larger than 2048 bytes.',
    );
    const chunked = await rawExchange(
      server.app.port,
      postHead(server.app.port, 'Transfer-Encoding: chunked'),
      [chunk(over.subarray(0, 1024)), chunk(over.subarray(1024)), Buffer.from('0\r\n\r\n')],
    );
    expect(chunked.status).toBe(413);
    expect(await rowCount(server)).toBe(1);
    await expectServing(server);
  });
});

describe('document limits', () => {
  const nested = `${'{ ofType '.repeat(20)}{ name }${' }'.repeat(20)}`;
  const fragments = [
    ...Array.from({ length: 20 }, (_, i) => `fragment F${i} on __Type { ofType { ...F${i + 1} } }`),
    'fragment F20 on __Type { name }',
  ].join('\n');

  it.each([
    ['inline', `{ __type(name: "Query") { fields { type ${nested} } } }`],
    [
      'via named fragments',
      `{ __type(name: "Query") { fields { type { ...F0 } } } }\n${fragments}`,
    ],
    [
      'via a fragment named __schema',
      `{ ...__schema }\nfragment __schema on Query { __type(name: "Query") { fields { type { ...F0 } } } }\n${fragments}`,
    ],
  ])('rejects a depth bomb (%s) before execution', async (_how, query) => {
    const server = await startTestServer();
    const r = await gql(server.url, tokenFor('alice'), query);
    expect(r.body).not.toHaveProperty('data');
    expect(r.body.errors?.[0]?.message).toMatch(
      /^Syntax Error: Query depth limit of 12 exceeded, found \d+\.$/,
    );
  });

  // Introspection is no exception to "deeply nested queries get a clear error" (SEMANTICS.md).
  it('rejects a depth bomb inside __schema before execution', async () => {
    const server = await startTestServer();
    const r = await gql(
      server.url,
      tokenFor('alice'),
      `{ __schema { types { fields { type ${nested} } } } }`,
    );
    expect(r.body).not.toHaveProperty('data');
    expect(r.body.errors?.[0]?.message).toMatch(
      /^Syntax Error: Query depth limit of \d+ exceeded, found \d+\.$/,
    );
  });

  it('rejects 50 aliased startOperation calls and inserts no row', async () => {
    const server = await startTestServer();
    const aliased = Array.from({ length: 50 }, (_, i) => `a${i}: ${START_INLINE}`).join('\n');
    const r = await gql(server.url, tokenFor('alice'), `mutation { ${aliased} }`);
    expect(r.body).not.toHaveProperty('data');
    expect(r.body.errors?.[0]?.message).toMatch(/Aliases limit of 15 exceeded, found 50/);
    expect(await rowCount(server)).toBe(0);
  });

  it('rejects a document with too many tokens and inserts no row', async () => {
    const server = await startTestServer();
    const padding = ' __typename'.repeat(5000);
    const r = await gql(
      server.url,
      tokenFor('alice'),
      `mutation { startOperation(input: { kind: "demo.sleep" }) { ${padding} } }`,
    );
    expect(r.body).not.toHaveProperty('data');
    expect(r.body.errors?.[0]?.message).toMatch(/Token limit of 3000 exceeded/);
    expect(await rowCount(server)).toBe(0);
  });
});

describe('internal errors and health', () => {
  it('masks an internal error as "Unexpected error." and logs it in full with the request id', async () => {
    const server = await startTestServer({ NODE_ENV: 'production' });
    await server.app.store.close();
    const r = await gql(
      server.url,
      tokenFor('alice'),
      `{ operation(id: "7f1d3a0e-0000-4000-8000-000000000000") { id } }`,
      undefined,
      { 'x-request-id': 'req-internal-1' },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe('req-internal-1');
    expect(r.body.data).toEqual({ operation: null });
    expect(r.body.errors).toEqual([
      {
        message: 'Unexpected error.',
        locations: [{ line: 1, column: 3 }],
        path: ['operation'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-internal-1' },
      },
    ]);
    const text = JSON.stringify(r.body);
    expect(text).not.toMatch(/destroyed|kysely|select|stack|\bat |node_modules|\/work\/|\.ts\b/i);
    expect(text).not.toContain(server.dataDir);

    const logged = server.logs.find(
      (entry) => entry.level === 'error' && entry.requestId === 'req-internal-1',
    );
    expect(logged).toMatchObject({
      message: 'unexpected error',
      error: { message: 'driver has already been destroyed' },
    });
    expect((logged?.error as { stack?: string } | undefined)?.stack).toMatch(/kysely-store\.ts/);

    // A mutation fails the same way and nothing is half-done.
    const start = await gql(server.url, tokenFor('alice'), START, {
      input: { kind: 'demo.sleep' },
    });
    expect(start.body.data).toBeNull();
    expect(start.body.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([
      ['Unexpected error.', 'INTERNAL_SERVER_ERROR'],
    ]);
  });

  it('answers /healthz while alive and /readyz only while the database answers', async () => {
    const server = await startTestServer();
    const get = async (path: string) => {
      const response = await fetch(`${server.origin}${path}`);
      return { status: response.status, body: await response.json() };
    };
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    // The in-process bus has carried nothing yet: no operation was started.
    const bus = {
      received: { 'operation.changed': 0, 'operation.cancel': 0, 'operation.pending': 0 },
      malformed: 0,
    };
    // Nor has the feed re-read the log: in one process the bus loses nothing.
    const log = { reads: 0, entries: 0 };
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready', bus, log } });
    await server.app.store.close();
    expect(await get('/readyz')).toEqual({
      status: 503,
      body: { status: 'unavailable', bus, log },
    });
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(server.logs.some((e) => e.message === 'readiness check failed')).toBe(true);
  });
});
