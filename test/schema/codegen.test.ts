import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { expect, it } from 'vitest';
import config from '../../codegen.js';

const root = resolve(import.meta.dirname, '..', '..');
const generatedDir = join(root, 'src', 'client', 'generated');

it('the committed typed client matches what codegen.ts generates from schema.graphql', async () => {
  const cwd = process.cwd();
  process.chdir(root);
  let outputs: { filename: string; content: string }[];
  try {
    outputs = await generate({ ...config, silent: true }, false);
  } finally {
    process.chdir(cwd);
  }
  const expected = new Map(
    outputs.map((file) => [relative(root, resolve(root, file.filename)), file.content]),
  );
  const committed = new Map(
    readdirSync(generatedDir).map((name) => [
      relative(root, join(generatedDir, name)),
      readFileSync(join(generatedDir, name), 'utf8'),
    ]),
  );
  expect([...committed.keys()].sort(), 'run `npm run codegen` and commit the result').toEqual(
    [...expected.keys()].sort(),
  );
  for (const [file, content] of expected) {
    expect(committed.get(file), `${file} is stale: run \`npm run codegen\``).toBe(content);
  }
});
