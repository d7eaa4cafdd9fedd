import { Validator } from '@cfworker/json-schema';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineHandler, type Handler } from '../../src/handlers/handler.js';
import { gql, sse, userClient, wsClient } from '../helpers/clients.js';
import { NO_SHUTDOWN_GRACE, startTestServer } from '../helpers/server.js';
import { within } from '../helpers/wait.js';

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** A kind declared with a zod schema, as a user of the library would write one. */
const exportKind = defineHandler({
  kind: 'reports.export',
  description: 'Exports a report as CSV.',
  inputSchema: z.strictObject({
    reportId: z.string().min(1),
    format: z.enum(['csv', 'tsv']).default('csv'),
    columns: z.array(z.string()).max(50).optional(),
  }),
  exampleInput: { reportId: 'r-42', columns: ['id', 'total'] },
  run: async ({ reportId, format }) => ({ url: `/exports/${reportId}.${format}` }),
});

/** A kind written the older way: `parseInput` by hand, no schema, no example. */
const legacyKind = defineHandler({
  kind: 'legacy.echo',
  parseInput: (raw) => raw,
  run: async (input) => input,
});

const KINDS = `{ operationKinds { kind description inputSchema exampleInput } }`;

interface Kind {
  kind: string;
  description: string | null;
  inputSchema: Record<string, unknown>;
  exampleInput: unknown;
}

async function serve() {
  const handlers = [exportKind, legacyKind] as Handler[];
  const server = await startTestServer(NO_SHUTDOWN_GRACE, { handlers });
  return { server, alice: userClient(server, 'alice') };
}

describe('operationKinds', () => {
  it('lists every kind with a draft 2020-12 schema of its input, a description and an example', async () => {
    const { server, alice } = await serve();
    const r = await alice.gql<{ operationKinds: Kind[] }>(KINDS);
    expect(r.status).toBe(200);
    const kinds = r.body.data?.operationKinds ?? [];
    expect(kinds.map((k) => k.kind)).toEqual(['demo.sleep', 'reports.export', 'legacy.echo']);
    const [sleep, exporter, legacy] = kinds;

    expect(sleep?.description).toMatch(/^Sleeps ms milliseconds/);
    expect(sleep?.exampleInput).toEqual({ ms: 10_000, steps: 20 });
    // The input side of the zod schema: null is accepted, defaults make every field optional.
    expect(sleep?.inputSchema).toEqual({
      $schema: DRAFT_2020_12,
      anyOf: [
        {
          type: 'object',
          properties: {
            ms: expect.objectContaining({
              type: 'integer',
              minimum: 0,
              maximum: 3_600_000,
              default: 1000,
            }),
            steps: expect.objectContaining({
              type: 'integer',
              minimum: 1,
              maximum: 10_000,
              default: 10,
            }),
            ignoreCancel: expect.objectContaining({ type: 'boolean', default: false }),
            fail: expect.objectContaining({
              default: null,
              anyOf: [{ type: 'string', maxLength: 1000 }, { type: 'null' }],
            }),
          },
          additionalProperties: false,
        },
        { type: 'null' },
      ],
    });

    expect(exporter).toEqual({
      kind: 'reports.export',
      description: 'Exports a report as CSV.',
      exampleInput: { reportId: 'r-42', columns: ['id', 'total'] },
      inputSchema: {
        $schema: DRAFT_2020_12,
        type: 'object',
        properties: {
          reportId: { type: 'string', minLength: 1 },
          format: { type: 'string', enum: ['csv', 'tsv'], default: 'csv' },
          columns: { type: 'array', items: { type: 'string' }, maxItems: 50 },
        },
        required: ['reportId'],
        additionalProperties: false,
      },
    });
    // No zod schema: any JSON, and nothing more is claimed.
    expect(legacy).toEqual({
      kind: 'legacy.echo',
      description: null,
      exampleInput: null,
      inputSchema: { $schema: DRAFT_2020_12 },
    });
    expect(server.app.registry.kinds()).toEqual(kinds.map((k) => k.kind));
  });

  it("gives examples the kind's own parseInput accepts, that validate against the schema and start", async () => {
    const { server, alice } = await serve();
    const kinds = (await alice.gql<{ operationKinds: Kind[] }>(KINDS)).body.data?.operationKinds;
    const withExamples = (kinds ?? []).filter((k) => k.exampleInput !== null);
    expect(withExamples.map((k) => k.kind)).toEqual(['demo.sleep', 'reports.export']);
    for (const kind of withExamples) {
      const handler = server.app.registry.get(kind.kind);
      expect(() => handler?.parseInput(kind.exampleInput as never)).not.toThrow();
      const validation = new Validator(kind.inputSchema as never, '2020-12').validate(
        kind.exampleInput,
      );
      expect(validation.errors).toEqual([]);
      const started = await alice.startRaw({ kind: kind.kind, input: kind.exampleInput });
      expect(started.body.data?.startOperation).toMatchObject({
        __typename: 'StartOperationSuccess',
      });
    }
    // And the schema refuses what parseInput refuses.
    for (const [kind, input, field] of [
      ['demo.sleep', { ms: 3_600_001 }, 'input.ms'],
      ['demo.sleep', { nap: 1 }, 'input'],
      ['reports.export', { reportId: '' }, 'input.reportId'],
      ['reports.export', { reportId: 'r', format: 'pdf' }, 'input.format'],
    ] as const) {
      const schema = (kinds ?? []).find((k) => k.kind === kind)?.inputSchema;
      expect(new Validator(schema as never, '2020-12').validate(input).valid).toBe(false);
      const refused = await alice.startRaw({ kind, input });
      expect(refused.body.data?.startOperation).toMatchObject({
        __typename: 'ValidationError',
        field,
      });
    }
  });

  it('answers the same over WebSocket and SSE, and asks for a token', async () => {
    const { server, alice } = await serve();
    const overHttp = (await alice.gql<{ operationKinds: Kind[] }>(KINDS)).body.data;
    const ws = wsClient(server.wsUrl, alice.token).subscribe(KINDS);
    expect(await within(ws.results.next(), 'the WebSocket answer')).toEqual({ data: overHttp });
    const stream = await sse(server.url, alice.token, KINDS);
    expect(await within(stream.results.next(), 'the SSE answer')).toEqual({ data: overHttp });

    const anonymous = await gql(server.url, null, KINDS);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses to register a handler whose own example its parseInput rejects', async () => {
    const broken = defineHandler({
      kind: 'broken.example',
      inputSchema: z.strictObject({ n: z.number().int() }),
      exampleInput: { n: 'one' },
      run: async () => null,
    });
    await expect(startTestServer({}, { handlers: [broken as Handler] })).rejects.toThrow(
      /example input of kind "broken\.example" is rejected: input\.n/,
    );
  });
});

describe('GraphiQL', () => {
  it('opens with a start of each kind, with the example input from operationKinds', async () => {
    const { server } = await serve();
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    // The documents are embedded in the page as a JSON string.
    expect(html).toContain('mutation StartReportsExport');
    expect(html).toContain(
      'startOperation(input: { kind: \\"reports.export\\", input: { reportId: \\"r-42\\", columns: [\\"id\\", \\"total\\"] } })',
    );
    expect(html).toContain('startOperation(input: { kind: \\"legacy.echo\\" })');
  });
});
