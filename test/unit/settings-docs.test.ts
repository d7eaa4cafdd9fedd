import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The environment variables `loadConfig` reads: the keys of its schema in src/config.ts. */
function settings(): string[] {
  const source = read('src/config.ts');
  const schema = source.slice(source.indexOf('const EnvSchema = z.object({'));
  const body = schema.slice(0, schema.indexOf('\n});'));
  return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1] as string);
}

describe('documentation of settings', () => {
  it('names every setting of src/config.ts in the README table, and the limits in docs/security.md', () => {
    const names = settings();
    expect(names.length).toBeGreaterThan(30);
    const readme = read('README.md');
    const security = read('docs/security.md');
    const undocumented = names.filter(
      (name) => !readme.includes(`| \`${name}\``) && !readme.includes(`\`${name}\` |`),
    );
    expect(undocumented).toEqual([]);
    const limits = names.filter((name) =>
      /^(MAX_|HTTP_|SSE_|WS_|START_RATE|ALLOWED|CORS|METRICS|GRAPHIQL|INTROSPECTION|JWT_|WATCH_)/.test(
        name,
      ),
    );
    expect(limits.filter((name) => !security.includes(`\`${name}\``))).toEqual([]);
  });

  it('links docs/security.md from the README', () => {
    expect(read('README.md')).toContain('(docs/security.md)');
  });
});
