import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineHandler, type Handler } from '../../src/handlers/handler.js';
import { startTestServer, tokenFor } from '../helpers/server.js';
import { jsonLines, longrun } from './longrun.js';

const exportKind = defineHandler({
  kind: 'reports.export',
  description: "Exports a report; it's CSV.",
  inputSchema: z.strictObject({ reportId: z.string().min(1) }),
  exampleInput: { reportId: "o'brien" },
  run: async () => null,
});

/** Each `longrun` is a Node process compiling TypeScript on a shared machine: room for several. */
const SPAWNS = { timeout: 120_000 };

describe('longrun kinds', () => {
  it(
    'lists each kind with its description and a start command with its example',
    SPAWNS,
    async () => {
      const server = await startTestServer({}, { handlers: [exportKind as Handler] });
      const auth = ['--url', server.url, '--token', tokenFor('alice')];
      const listed = await longrun(['kinds', ...auth]);
      expect(listed).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'demo.sleep',
          `  ${server.app.registry.get('demo.sleep')?.description}`,
          `  e.g. longrun start demo.sleep --input '{"ms":10000,"steps":20}'`,
          '',
          'reports.export',
          "  Exports a report; it's CSV.",
          `  e.g. longrun start reports.export --input '{"reportId":"o'\\''brien"}'`,
          '',
        ].join('\n'),
      });

      // One after another: each is a Node process compiling TypeScript, and the machine is shared.
      const schema = await longrun(['kinds', 'reports.export', ...auth]);
      const json = await longrun(['kinds', '--json', ...auth]);
      const one = await longrun(['kinds', 'demo.sleep', '--json', ...auth]);
      const help = await longrun(['--help']);
      expect(help.stdout).toMatch(/\n {2}kinds \[<kind>\] +list the kinds of operation/);
      expect(schema.code).toBe(0);
      expect(JSON.parse(schema.stdout)).toEqual({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { reportId: { type: 'string', minLength: 1 } },
        required: ['reportId'],
        additionalProperties: false,
      });
      expect(schema.stdout).toContain('\n  "type": "object",\n');
      const [all] = jsonLines(json.stdout);
      expect((all as unknown as Array<{ kind: string }>).map((k) => k.kind)).toEqual([
        'demo.sleep',
        'reports.export',
      ]);
      expect(jsonLines(one.stdout)[0]).toMatchObject({
        kind: 'demo.sleep',
        exampleInput: { ms: 10_000, steps: 20 },
        inputSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema' },
      });
    },
  );

  it('exits 2 for an unknown kind, naming the known ones', SPAWNS, async () => {
    const server = await startTestServer();
    const result = await longrun([
      'kinds',
      'no.such',
      '--url',
      server.url,
      '--token',
      tokenFor('a'),
    ]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'longrun: unknown kind "no.such"; the server runs demo.sleep (see "longrun kinds --help")\n',
    });
  });
});
