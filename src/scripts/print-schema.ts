import { writeFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../schema/index.js';

/** `npm run schema`: prints the schema to schema.graphql (or to stdout with --stdout). */
const text = `${printSchema(lexicographicSortSchema(schema))}\n`;
if (process.argv.includes('--stdout')) process.stdout.write(text);
else writeFileSync(new URL('../../schema.graphql', import.meta.url), text);
