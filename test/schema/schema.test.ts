import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  buildSchema,
  execute,
  findBreakingChanges,
  lexicographicSortSchema,
  parse,
  printSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { toGlobalId } from '../../src/schema/ids.js';
import { schema } from '../../src/schema/index.js';
import { minimalRecord } from '../bus/records.js';

const root = resolve(import.meta.dirname, '..', '..');
const sharedContract = resolve(root, '..', 'shared', 'contract', 'operations.graphql');
const contractPath = existsSync(sharedContract)
  ? sharedContract
  : resolve(root, 'test', 'contract', 'operations.graphql');

describe('schema.graphql', () => {
  it('is what `npm run schema` prints from the Pothos builder', () => {
    const printed = `${printSchema(lexicographicSortSchema(schema))}\n`;
    expect(readFileSync(resolve(root, 'schema.graphql'), 'utf8')).toBe(printed);
  });

  it('keeps every type, field, argument, enum value and union member of the contract', () => {
    const contract = buildSchema(readFileSync(contractPath, 'utf8'));
    const committed = buildSchema(readFileSync(resolve(root, 'schema.graphql'), 'utf8'));
    expect(findBreakingChanges(contract, committed)).toEqual([]);
    expect(findBreakingChanges(contract, schema)).toEqual([]);
  });

  it('keeps a copy of the contract in test/ that matches the shared one', (context) => {
    if (!existsSync(sharedContract)) {
      context.skip(`the shared contract is not beside this checkout (${sharedContract})`);
    }
    expect(readFileSync(resolve(root, 'test', 'contract', 'operations.graphql'), 'utf8')).toBe(
      readFileSync(sharedContract, 'utf8'),
    );
  });
});

describe('node ids', () => {
  it('resolve in the same turn, so that executing an operation event needs no promise', () => {
    const op = minimalRecord({ status: 'RUNNING', revision: 2 });
    const executed = execute({
      schema,
      document: parse(
        'subscription($id: ID!) { operationUpdated(id: $id) { id status revision } }',
      ),
      rootValue: op,
      variableValues: { id: toGlobalId(op.id) },
      contextValue: { viewer: { id: 'alice', isAdmin: false, expiresAt: new Date(8.64e15) } },
    });
    expect(executed).not.toBeInstanceOf(Promise);
    expect(executed).toEqual({
      data: { operationUpdated: { id: toGlobalId(op.id), status: 'RUNNING', revision: 2 } },
    });
  });
});
