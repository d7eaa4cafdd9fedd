import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gql, userClient, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer, tokenFor } from '../helpers/server.js';
import { doneState } from '../helpers/wait.js';

const production = { NODE_ENV: 'production' };

/** A dashboard build with a script and its source map. */
const dashboardDir = mkdtempSync(join(tmpdir(), 'longrun-production-'));
mkdirSync(join(dashboardDir, 'assets'));
writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><html><head></head></html>\n');
writeFileSync(join(dashboardDir, 'assets', 'index-Ab12.js'), 'console.log(1);\n');
writeFileSync(join(dashboardDir, 'assets', 'index-Ab12.js.map'), '{"sources":["secret.ts"]}');
afterAll(() => rmSync(dashboardDir, { recursive: true, force: true }));

const INTROSPECT = '{ __schema { queryType { name } } }';
const TYPE = '{ __type(name: "Operation") { name } }';

/** Requests whose errors graphql-js would end with a "Did you mean …?" hint. */
const MISTAKES: ReadonlyArray<{
  what: string;
  query: string;
  variables?: Record<string, unknown>;
}> = [
  { what: 'a misspelled field', query: '{ operatons { totalCount } }' },
  { what: 'a misspelled argument', query: '{ operations(frist: 1) { totalCount } }' },
  { what: 'a misspelled enum literal', query: '{ operations(status: [RUNNNING]) { totalCount } }' },
  { what: 'a misspelled type', query: 'query($k: Strin) { operations(kind: $k) { totalCount } }' },
  {
    what: 'a misspelled input field in variables',
    query: 'mutation($i: StartOperationInput!) { startOperation(input: $i) { __typename } }',
    variables: { i: { kind: 'demo.sleep', idempotencykey: 'k' } },
  },
  {
    what: 'a misspelled enum value in variables',
    query: 'query($s: [OperationStatus!]) { operations(status: $s) { totalCount } }',
    variables: { s: ['RUNNNING'] },
  },
];

/** Every error message the mistakes above get. */
async function mistakeMessages(server: TestServer): Promise<string[]> {
  const token = tokenFor('alice');
  const messages: string[] = [];
  for (const { query, variables } of MISTAKES) {
    const reply = await gql(server.url, token, query, variables);
    expect(reply.body.data ?? null).toBeNull();
    messages.push(...(reply.body.errors ?? []).map((error) => error.message));
  }
  return messages;
}

const page = (server: TestServer) => fetch(server.url, { headers: { accept: 'text/html' } });

describe('production defaults', () => {
  it('refuses introspection and hides "did you mean" hints, on HTTP and WebSocket', async () => {
    const server = await startTestServer(production);
    const alice = tokenFor('alice');
    for (const query of [INTROSPECT, TYPE]) {
      const reply = await gql(server.url, alice, query);
      expect(reply.status).toBe(400);
      expect(reply.body.errors?.[0]?.message).toMatch(/introspection/i);
    }
    expect((await gql(server.url, alice, '{ __typename }')).body).toEqual({
      data: { __typename: 'Query' },
    });
    const ws = wsClient(server.wsUrl, alice);
    const over = ws.subscribe(INTROSPECT);
    await over.results.waitEnd().catch(() => undefined);
    expect(JSON.stringify(over.results.error)).toMatch(/introspection/i);

    const messages = await mistakeMessages(server);
    expect(messages).toHaveLength(MISTAKES.length);
    for (const message of messages) expect(message).not.toMatch(/did you mean/i);
  });

  it('gives hints and introspection outside production (the control)', async () => {
    const server = await startTestServer();
    const messages = await mistakeMessages(server);
    expect(messages.filter((message) => /Did you mean/.test(message))).toHaveLength(
      MISTAKES.length,
    );
    expect((await gql(server.url, tokenFor('alice'), INTROSPECT)).body).toEqual({
      data: { __schema: { queryType: { name: 'Query' } } },
    });
  });

  it('serves no GraphiQL page: a browser asking /graphql for HTML needs a token like anyone', async () => {
    const server = await startTestServer(production);
    const response = await page(server);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/json/);
  });

  it('GRAPHIQL=true serves GraphiQL in production, with the introspection it needs', async () => {
    const server = await startTestServer({ ...production, GRAPHIQL: 'true' });
    const response = await page(server);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    await response.body?.cancel();
    expect((await gql(server.url, tokenFor('alice'), INTROSPECT)).status).toBe(200);
  });

  it('INTROSPECTION=true answers __schema and gives hints in production', async () => {
    const server = await startTestServer({ ...production, INTROSPECTION: 'true' });
    expect((await gql(server.url, tokenFor('alice'), INTROSPECT)).status).toBe(200);
    expect((await mistakeMessages(server)).join('\n')).toMatch(/Did you mean/);
    expect((await page(server)).status).toBe(401);
  });

  it("keeps the dashboard's source maps to itself in production", async () => {
    for (const [env, status] of [
      [production, 404],
      [{}, 200],
    ] as const) {
      const server = await startTestServer(env, { dashboardDir });
      const map = await fetch(`${server.origin}/assets/index-Ab12.js.map`);
      expect(map.status).toBe(status);
      expect((await fetch(`${server.origin}/assets/index-Ab12.js`)).status).toBe(200);
      await server.stop();
    }
  });
});

describe('the worker named in the transition log', () => {
  const EVENTS = `query($id: ID!) { operation(id: $id) { events(first: 10) { edges { node { status actor } } } } }`;

  async function workerActors(server: TestServer): Promise<string[]> {
    const alice = userClient(server, 'alice');
    const op = await alice.start({ kind: 'demo.sleep', input: { ms: 10, steps: 1 } });
    await doneState(alice, op.id);
    const reply = await alice.gql<{
      operation: { events: { edges: Array<{ node: { status: string; actor: string } }> } };
    }>(EVENTS, { id: op.id });
    const actors = reply.body.data?.operation.events.edges.map((edge) => edge.node.actor) ?? [];
    expect(actors[0]).toBe('user:alice');
    return actors.filter((actor) => actor.startsWith('worker:'));
  }

  it('is an opaque id that reveals no host name', async () => {
    const actors = await workerActors(await startTestServer());
    expect(actors.length).toBeGreaterThan(0);
    for (const actor of actors) {
      expect(actor).toMatch(/^worker:[0-9a-f]{12}$/);
      expect(actor).not.toContain(hostname());
    }
  });

  it('is INSTANCE_NAME with a random suffix when set', async () => {
    const actors = await workerActors(await startTestServer({ INSTANCE_NAME: 'blue-1' }));
    expect(actors.length).toBeGreaterThan(0);
    for (const actor of actors) expect(actor).toMatch(/^worker:blue-1:[0-9a-f]{6}$/);
  });
});
